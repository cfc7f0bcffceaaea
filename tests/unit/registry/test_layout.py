"""The run-directory and release vocabulary: names, parsing, and artifact kinds."""

from __future__ import annotations

import pytest

from llm360.registry import layout


@pytest.mark.parametrize("rel, kind", [
    ("checkpoints/ckpt_000/model.safetensors", "weights"),
    ("checkpoints/ckpt_000/model-00001-of-00002.safetensors", "weights"),
    ("checkpoints/ckpt_000/model.safetensors.index.json", "weights"),
    ("checkpoints/ckpt_000/optimizer-00002-of-00002.safetensors", "optimizer"),
    ("checkpoints/ckpt_000/optimizer.safetensors.index.json", "optimizer"),
    ("checkpoints/ckpt_000/tokenizer.json", "tokenizer"),
    ("checkpoints/ckpt_000/special_tokens_map.json", "tokenizer"),
    ("checkpoints/ckpt_000/optimizer.safetensors", "optimizer"),
    ("checkpoints/ckpt_000/rng.safetensors", "rng"),
    ("checkpoints/ckpt_000/trainer_state.json", "trainer_state"),
    ("checkpoints/ckpt_000/config.json", "checkpoint_config"),
    ("checkpoints/ckpt_000/generation_config.json", "generation_config"),
    ("checkpoints/ckpt_000/sub/model.safetensors", "other"),
    ("data/index.json", "data_index"),
    ("data/chunk_000.safetensors", "data_chunk"),
    ("data/heldout.safetensors", "data_chunk"),
    ("config/model.json", "config"),
    ("tokenizer/tokenizer.json", "tokenizer"),
    ("logs/train.jsonl", "log"),
    ("evals/ckpt_000.json", "eval"),
    ("code/provenance.json", "provenance"),
    ("llm360.yaml", "metadata"),
    ("notes.txt", "other"),
])
def test_artifact_kind(rel: str, kind: str) -> None:
    assert layout.artifact_kind(rel) == kind
    assert kind in layout.ARTIFACT_KINDS


def test_names_round_trip() -> None:
    assert layout.chunk_path(7) == "data/chunk_007.safetensors"
    assert layout.chunk_index(layout.chunk_path(1234)) == 1234
    assert layout.chunk_index("data/index.json") is None
    assert layout.checkpoint_name(3, "-fork1") == "ckpt_003-fork1"
    assert layout.checkpoint_suffix(layout.checkpoint_name(3, "-fork1")) == "-fork1"
    assert layout.checkpoint_suffix("ckpt_003") == ""
    assert layout.checkpoint_suffix("final") is None
    rel = layout.checkpoint_file("ckpt_003", layout.TRAINER_STATE)
    assert rel == "checkpoints/ckpt_003/trainer_state.json"
    assert layout.checkpoint_of(rel) == "ckpt_003"
    assert layout.checkpoint_of("checkpoints/ckpt_003") is None
    assert layout.signature_path("ckpt_003") == "signatures/ckpt_003/model.sig"
    assert layout.eval_path("ckpt_003") == "evals/ckpt_003.json"
    assert layout.log_path("-fork2") == "logs/train-fork2.jsonl"
    assert layout.weights_shard(2, 12) == "model-00002-of-00012.safetensors"
    assert layout.is_weights_file(layout.weights_shard(2, 12))
    assert not layout.is_weights_file(layout.WEIGHTS_INDEX)
    assert not layout.is_weights_file(layout.shard_name("optimizer", 1, 2))
    assert layout.shard_index("optimizer") == layout.OPTIMIZER_INDEX
    with pytest.raises(ValueError):
        layout.weights_shard(3, 2)
    assert layout.is_pickle("checkpoints/x/optimizer.PT") and not layout.is_pickle("a.json")
    assert set(layout.REQUIRED) <= {layout.RUN_METADATA, layout.MODEL_CONFIG,
                                    layout.TRAIN_CONFIG, layout.DATA_INDEX, layout.PROVENANCE}


@pytest.mark.parametrize("name,ok", [
    ("ckpt_000", True), ("ckpt_001-fork1", True), ("step-100", True), ("mainline", True),
    ("main", False), ("Main", False), ("HEAD", False), ("v0.1.0", False), ("v2", False),
    ("a" * 40, False), ("0123456789abcdef" * 4, False), ("a..b", False), ("x.", False),
    ("x.lock", False), ("refs/pr/1", False), ("-x", False), (".x", False), ("", False)])
def test_a_checkpoint_name_is_a_branch_no_other_ref_takes(name, ok):
    assert (layout.checkpoint_name_problem(name) is None) is ok
