"""Checkpoint folders: atomic, byte-stable, never overwritten; RNG state round trip."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from llm360.train import checkpoint as ck  # noqa: E402


def _state(value: float = 1.0) -> ck.CheckpointState:
    return ck.CheckpointState(
        model={"lm_head.weight": torch.full((4, 3), value)},
        optimizer={"lm_head.weight.exp_avg": torch.zeros(4, 3),
                   "lm_head.weight.exp_avg_sq": torch.zeros(4, 3),
                   "lm_head.weight.step": torch.tensor(3.0)},
        rng=ck.capture_rng(),
        trainer_state={"schema_version": "llm360.trainer_state/v1", "checkpoint": "ckpt_000",
                       "step": 3, "tokens_seen": 12, "data_chunks": [0],
                       "position": {"chunk": 1, "row": 0}, "parents": []},
        config={"model_type": "llama"}, generation_config={"do_sample": False})


def test_save_is_byte_stable_and_refuses_to_overwrite(tmp_path: Path) -> None:
    state = _state()
    assert ck.save_checkpoint(tmp_path / "a", "ckpt_000", state) == "written"
    assert ck.save_checkpoint(tmp_path / "b", "ckpt_000", state) == "written"
    assert ck.same_files(tmp_path / "a/checkpoints/ckpt_000", tmp_path / "b/checkpoints/ckpt_000")
    assert ck.save_checkpoint(tmp_path / "a", "ckpt_000", state) == "identical"
    with pytest.raises(FileExistsError):
        ck.save_checkpoint(tmp_path / "a", "ckpt_000", _state(2.0))
    loaded = ck.load_checkpoint(tmp_path / "a/checkpoints/ckpt_000")
    assert torch.equal(loaded.model["lm_head.weight"], state.model["lm_head.weight"])
    raw = (tmp_path / "a/checkpoints/ckpt_000/model.safetensors").read_bytes()
    assert b'"__metadata__":{"format":"pt"}' in raw[:200]
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == [".llm360", "checkpoints"]
    assert not any((tmp_path / "a" / ck.STAGING).iterdir())


def test_a_save_killed_half_way_leaves_no_checkpoint(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    run = tmp_path / "run"
    ck.save_checkpoint(run, "ckpt_000", _state())
    before = ck.folder_root_digest(run / "checkpoints/ckpt_000")
    import llm360.registry.run.writer as writer  # the checkpoint files are written through it

    real = writer.write_atomic
    written = []

    def dying(path: Path, data: bytes, **kw) -> None:
        if Path(path).name == "rng.safetensors":
            raise KeyboardInterrupt("killed during the save")
        real(path, data, **kw)
        written.append(Path(path).name)

    monkeypatch.setattr(writer, "write_atomic", dying)
    with pytest.raises(KeyboardInterrupt):
        ck.save_checkpoint(run, "ckpt_001", _state(2.0))
    assert written == ["model.safetensors", "optimizer.safetensors"]  # partial writes happened
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == ["ckpt_000"]
    assert ck.folder_root_digest(run / "checkpoints/ckpt_000") == before
    assert not any((run / ck.STAGING).iterdir())
    # a hard kill (no cleanup) leaves files only in the staging folder, which the registry
    # ignores and the next training run removes
    (run / ck.STAGING / "ckpt_001.x").mkdir()
    (run / ck.STAGING / "ckpt_001.x/model.safetensors").write_bytes(b"partial")
    from llm360.registry._files import list_files
    assert all(not f.startswith(".llm360") for f in list_files(run))
    ck.clean_staging(run)
    assert not (run / ck.STAGING).exists()


def test_rng_round_trip() -> None:
    torch.manual_seed(5)
    np.random.seed(5)
    random.seed(5)
    random.gauss(0, 1)
    saved = ck.capture_rng()
    expect = (torch.rand(3), np.random.rand(3), random.random(), random.gauss(0, 1))
    torch.rand(10), np.random.rand(10), random.random()
    ck.restore_rng(saved)
    got = (torch.rand(3), np.random.rand(3), random.random(), random.gauss(0, 1))
    assert torch.equal(expect[0], got[0]) and np.array_equal(expect[1], got[1])
    assert expect[2:] == got[2:]


def test_a_saved_checkpoint_is_not_read_again_by_the_build(tmp_path: Path) -> None:
    import hashlib

    from llm360.registry.build.hashing import CACHE_FILE, HashCache, hash_files

    run = tmp_path / "run"
    ck.save_checkpoint(run, "ckpt_000", _state())
    files = sorted(f"checkpoints/ckpt_000/{p.name}"
                   for p in (run / "checkpoints/ckpt_000").iterdir())
    cache = HashCache(run / CACHE_FILE)
    digests = hash_files(run, files, cache=cache)
    assert (cache.hits, cache.hashed_bytes) == (len(files), 0)
    assert all(d.sha256 == hashlib.sha256((run / d.path).read_bytes()).hexdigest()
               for d in digests)


def _model_state(seed: int = 0):
    from llm360.train.config import ModelConfig, generation_config, hf_config
    from llm360.train.data import hf_tokenizer_files
    from llm360.train.model import build_model

    cfg = ModelConfig(vocab_size=300, hidden_size=32, intermediate_size=64,
                      num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=4,
                      max_position_embeddings=64)
    model = build_model(cfg, seed=seed)
    weights = {n: p.detach() for n, p in model.named_parameters()}
    optim = {}
    for n, p in weights.items():
        optim[f"{n}.exp_avg"] = torch.full_like(p, 0.5)
        optim[f"{n}.exp_avg_sq"] = torch.full_like(p, 0.25)
        optim[f"{n}.step"] = torch.tensor(7.0)
    base = _state()
    from tokenizers import Tokenizer, models

    tok = Tokenizer(models.BPE()).to_str().encode()
    return model, ck.CheckpointState(
        model=weights, optimizer=optim, rng=base.rng, trainer_state=base.trainer_state,
        config=hf_config(cfg), generation_config=generation_config(cfg),
        tokenizer=hf_tokenizer_files(tok, model_max_length=64))


def test_sharded_files_round_trip_and_cover_every_shard(tmp_path: Path) -> None:
    import json

    model, state = _model_state()
    digests: dict[str, str] = {}
    ck.save_checkpoint(tmp_path, "ckpt_000", state, digests=digests, max_shard_bytes=40_000)
    folder = tmp_path / "checkpoints/ckpt_000"
    names = sorted(p.name for p in folder.iterdir())
    shards = [n for n in names if n.startswith("model-")]
    opt_shards = [n for n in names if n.startswith("optimizer-")]
    assert len(shards) >= 2 and shards[0] == f"model-00001-of-{len(shards):05d}.safetensors"
    assert len(opt_shards) > len(shards)
    assert "model.safetensors" not in names and "optimizer.safetensors" not in names
    for name in shards + opt_shards:
        assert (folder / name).stat().st_size <= 40_000 + 4096  # + the header
    index = json.loads((folder / "model.safetensors.index.json").read_bytes())
    assert sorted(index["weight_map"]) == sorted(state.model)
    assert index["metadata"]["total_size"] == sum(t.numel() * 4 for t in state.model.values())
    assert set(digests) == set(names), "the root digest covers every file, shards included"
    assert ck.folder_root_digest(folder) == __import__(
        "llm360.registry.build.hashing", fromlist=["root_digest"]).root_digest(digests.items())
    for name in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        assert name in names
    loaded = ck.load_checkpoint(folder)
    assert sorted(loaded.model) == sorted(state.model)
    assert all(torch.equal(loaded.model[n], state.model[n]) for n in state.model)
    assert all(torch.equal(loaded.optimizer[n], state.optimizer[n]) for n in state.optimizer)
    assert loaded.tokenizer == state.tokenizer
    # the same state sharded again gives the same bytes; unsharded it is one file each
    assert ck.save_checkpoint(tmp_path, "ckpt_000", state, max_shard_bytes=40_000) == "identical"
    ck.save_checkpoint(tmp_path / "one", "ckpt_000", state)
    assert {"model.safetensors", "optimizer.safetensors"} <= {
        p.name for p in (tmp_path / "one/checkpoints/ckpt_000").iterdir()}


def test_from_pretrained_loads_shards(tmp_path: Path) -> None:
    transformers = pytest.importorskip("transformers")
    model, state = _model_state(seed=4)
    ck.save_checkpoint(tmp_path, "ckpt_000", state, max_shard_bytes=30_000)
    folder = tmp_path / "checkpoints/ckpt_000"
    assert (folder / "model.safetensors.index.json").is_file()
    hf = transformers.AutoModelForCausalLM.from_pretrained(folder).eval()
    ids = torch.randint(0, 300, (2, 16), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert (hf(ids).logits - model.eval()(ids)).abs().max().item() < 1e-5


def test_a_shard_index_naming_other_files_is_refused(tmp_path: Path) -> None:
    _, state = _model_state()
    ck.save_checkpoint(tmp_path, "ckpt_000", state, max_shard_bytes=40_000)
    folder = tmp_path / "checkpoints/ckpt_000"
    (folder / "model.safetensors.index.json").write_text(
        '{"weight_map": {"lm_head.weight": "../../secret.safetensors"}}')
    with pytest.raises(ck.InputError, match="weight_map names"):
        ck.load_checkpoint(folder)
    with pytest.raises(ck.InputError, match="checkpoint folder not found"):
        ck.load_checkpoint(tmp_path / "nowhere")


def test_a_link_at_the_staging_path_is_refused_not_followed(tmp_path: Path) -> None:
    from llm360.errors import UnsafePathError

    target = tmp_path / "elsewhere"
    (target / "staging" / "ckpt_000.abc").mkdir(parents=True)
    (target / "staging" / "ckpt_000.abc" / "keep.txt").write_text("user data")
    run = tmp_path / "run"
    run.mkdir()
    (run / ".llm360").symlink_to(target, target_is_directory=True)
    with pytest.raises(UnsafePathError, match="symbolic link"):
        ck.clean_staging(run)
    with pytest.raises(UnsafePathError, match="symbolic link"):
        ck.save_checkpoint(run, "ckpt_000", _state())
    assert (target / "staging/ckpt_000.abc/keep.txt").read_text() == "user data"
    (run / ".llm360").unlink()
    (run / ".llm360").mkdir()
    (run / ".llm360/staging").symlink_to(target / "staging", target_is_directory=True)
    with pytest.raises(UnsafePathError, match="staging"):
        ck.clean_staging(run)
    assert (target / "staging/ckpt_000.abc/keep.txt").is_file()


def test_clean_staging_removes_only_its_own_folders(tmp_path: Path) -> None:
    staging = tmp_path / ck.STAGING
    (staging / "ckpt_001.k2j3h4").mkdir(parents=True)
    (staging / "notes.txt").write_text("not ours")
    ck.clean_staging(tmp_path)
    assert sorted(p.name for p in staging.iterdir()) == ["notes.txt"]
