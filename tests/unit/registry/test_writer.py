"""RunWriter: a run written from numpy or torch tensors builds and verifies; digests come from
the bytes as written; nothing is overwritten; torch is imported only for torch tensors."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from llm360.errors import CheckpointExistsError, InputError
from llm360.registry import BuildOptions, TrustPolicy, build_release, layout, verify_release
from llm360.registry.tensorfiles import tensors_to_safetensors
from llm360.registry.writer import RunWriter, checkpoint_root_digest

META = {"name": "writer-test", "version": "1", "licenses": {
    "weights": "MIT", "code": "MIT", "data": "CC0-1.0", "documentation": "CC-BY-4.0"}}
MODEL = {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "vocab_size": 32,
         "hidden_size": 4, "num_hidden_layers": 1, "num_attention_heads": 1}
TRAIN = {"backend": "custom", "precision": "fp32", "world_size": 1, "seed": 3}


def _weights(k: int) -> dict:
    rng = np.random.default_rng(k)
    return {"model.embed_tokens.weight": rng.standard_normal((32, 4), dtype=np.float32),
            "lm_head.weight": rng.standard_normal((32, 4), dtype=np.float32)}


def _run(root: Path, checkpoints: int = 2) -> RunWriter:
    w = RunWriter.create(root, metadata=META, model_config=MODEL, train_config=TRAIN,
                         tokenizer=b'{"model": {}}')
    for k in range(checkpoints):
        w.add_chunk(np.arange(k, k + 24).reshape(3, 8) % 32, sources=[f"doc{k}"])
        for s in range(2):
            step = 2 * k + s + 1
            w.log(step=step, loss=3.0 - step / 10, lr=1e-3, tokens_seen=step * 12, chunk=k)
        w.write_checkpoint(model=_weights(k), optimizer={"x.exp_avg": np.zeros(2, np.float32)},
                           rng={"numpy_key": np.arange(4, dtype=np.int64)},
                           step=2 * k + 2, tokens_seen=(2 * k + 2) * 12,
                           metrics={"train_loss": 2.0})
        w.write_eval(layout.checkpoint_name(k), metrics={"heldout_loss": 2.5})
    w.close()
    return w


def test_a_written_run_builds_and_verifies(tmp_path: Path) -> None:
    _run(tmp_path / "run", 3)
    result = build_release(tmp_path / "run", tmp_path / "rel",
                           options=BuildOptions(created="2026-11-27T00:00:00Z"))
    assert [c.name for c in result.manifest.checkpoints] == ["ckpt_000", "ckpt_001", "ckpt_002"]
    assert [c.parents for c in result.manifest.checkpoints] == [(), ("ckpt_000",),
                                                                ("ckpt_001",)]
    assert [c.data_chunks for c in result.manifest.checkpoints] == [(0,), (1,), (2,)]
    assert verify_release(result.manifest_path, policy=TrustPolicy(allow_unsigned=True)).ok
    lines = (tmp_path / "run" / layout.TRAIN_LOG).read_bytes().splitlines()
    assert [json.loads(x)["step"] for x in lines] == [1, 2, 3, 4, 5, 6]


def test_digests_are_those_of_the_bytes_on_disk(tmp_path: Path) -> None:
    w = _run(tmp_path / "run", 1)
    ckpt = w.write_checkpoint(model=_weights(9), step=10, tokens_seen=500)
    assert ckpt.status == "written" and ckpt.state.parents[0].name == "ckpt_000"
    assert ckpt.state.data_chunks == () and ckpt.state.position.chunk == 1
    for name, digest in ckpt.files.items():
        assert hashlib.sha256((ckpt.path / name).read_bytes()).hexdigest() == digest
    assert ckpt.root_digest == checkpoint_root_digest(tmp_path / "run", ckpt.name)
    state = json.loads((ckpt.path / layout.TRAINER_STATE).read_bytes())
    assert state["parents"][0]["root_digest"] == checkpoint_root_digest(tmp_path / "run",
                                                                        "ckpt_000")
    assert not (tmp_path / "run" / layout.STAGING).exists() or \
        not any((tmp_path / "run" / layout.STAGING).iterdir())
    assert json.loads((ckpt.path / layout.CHECKPOINT_CONFIG).read_bytes()) == MODEL
    assert layout.checkpoint_file(ckpt.name, layout.MODEL_WEIGHTS) in w.written
    assert layout.DATA_INDEX in w.written and layout.TRAIN_LOG not in w.written
    for rel, d in w.written.items():
        raw = (tmp_path / "run" / rel).read_bytes()
        assert (len(raw), hashlib.sha256(raw).hexdigest()) == (d.size, d.sha256), rel


def test_nothing_is_overwritten(tmp_path: Path) -> None:
    w = _run(tmp_path / "run", 1)
    same = w.write_checkpoint("ckpt_000", model=_weights(0),
                              optimizer={"x.exp_avg": np.zeros(2, np.float32)},
                              rng={"numpy_key": np.arange(4, dtype=np.int64)}, step=2,
                              tokens_seen=24, metrics={"train_loss": 2.0}, parents=(),
                              data_chunks=[0])
    assert same.status == "identical"
    before = (tmp_path / "run/checkpoints/ckpt_000/model.safetensors").read_bytes()
    with pytest.raises(CheckpointExistsError):
        w.write_checkpoint("ckpt_000", model=_weights(5), step=2, tokens_seen=24)
    assert (tmp_path / "run/checkpoints/ckpt_000/model.safetensors").read_bytes() == before
    with pytest.raises(InputError, match="never overwrites"):
        RunWriter.create(tmp_path / "run", metadata=META, model_config=MODEL,
                         train_config={**TRAIN, "seed": 4})
    with pytest.raises(InputError, match="pickle"):
        w.write_checkpoint(model=_weights(1), step=9, tokens_seen=99,
                           files={"optimizer.pt": b"x"})
    with pytest.raises(InputError, match="seq_len"):
        w.add_chunk(np.zeros((2, 5), np.int32))


def test_open_continues_a_run(tmp_path: Path) -> None:
    _run(tmp_path / "run", 2)
    w = RunWriter.open(tmp_path / "run")
    assert w.latest == "ckpt_001" and len(w.chunks) == 2
    w.add_chunk(np.ones((3, 8), np.int32))
    ckpt = w.write_checkpoint(model=_weights(7), step=9, tokens_seen=200)
    assert ckpt.name == "ckpt_002" and ckpt.state.data_chunks == (2,)
    assert ckpt.state.parents[0].root_digest == checkpoint_root_digest(tmp_path / "run",
                                                                       "ckpt_001")


def test_sharded_weights(tmp_path: Path) -> None:
    w = RunWriter.create(tmp_path / "run", metadata=META, model_config=MODEL,
                         train_config=TRAIN)
    w.add_chunk(np.zeros((1, 4), np.int32))
    ckpt = w.write_checkpoint(model=_weights(0), step=1, tokens_seen=4, max_shard_bytes=600)
    shards = [layout.weights_shard(1, 2), layout.weights_shard(2, 2)]
    assert sorted(ckpt.files) == sorted([*shards, layout.WEIGHTS_INDEX, layout.TRAINER_STATE,
                                         layout.CHECKPOINT_CONFIG])
    index = json.loads((ckpt.path / layout.WEIGHTS_INDEX).read_bytes())
    assert index["weight_map"] == {"model.embed_tokens.weight": shards[0],
                                   "lm_head.weight": shards[1]}
    assert index["metadata"]["total_size"] == 2 * 32 * 4 * 4


def test_numpy_runs_never_import_torch(tmp_path: Path) -> None:
    code = (f"import sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); "
            "import test_writer as t; from pathlib import Path; "
            f"t._run(Path({str(tmp_path / 'run')!r}), 1); "
            "import llm360.registry.check, llm360.registry.importer; "
            "sys.exit(1 if 'torch' in sys.modules else 0)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_torch_tensors_give_the_bytes_safetensors_torch_gives() -> None:
    torch = pytest.importorskip("torch")
    from safetensors.torch import save

    weight = torch.randn(4, 3)
    tensors = {"a": weight, "b": torch.randn(2).to(torch.bfloat16), "c": torch.arange(3)}
    assert tensors_to_safetensors(tensors) == save(tensors, metadata={"format": "pt"})
    tied = tensors_to_safetensors({"embed": weight, "lm_head": weight, "t": weight.t()})
    from safetensors.torch import load

    back = load(tied)
    assert torch.equal(back["lm_head"], weight) and torch.equal(back["t"], weight.t())
    assert tensors_to_safetensors({"x": weight}) == tensors_to_safetensors({"x": weight.numpy()})
