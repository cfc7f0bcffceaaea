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
    real = ck.write_atomic
    written = []

    def dying(path: Path, data: bytes, **kw) -> None:
        if Path(path).name == "rng.safetensors":
            raise KeyboardInterrupt("killed during the save")
        real(path, data, **kw)
        written.append(Path(path).name)

    monkeypatch.setattr(ck, "write_atomic", dying)
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

    from llm360.registry.hashing import CACHE_FILE, HashCache, hash_files

    run = tmp_path / "run"
    ck.save_checkpoint(run, "ckpt_000", _state())
    files = sorted(f"checkpoints/ckpt_000/{p.name}"
                   for p in (run / "checkpoints/ckpt_000").iterdir())
    cache = HashCache(run / CACHE_FILE)
    digests = hash_files(run, files, cache=cache)
    assert len(files) == 6 and (cache.hits, cache.hashed_bytes) == (6, 0)
    assert all(d.sha256 == hashlib.sha256((run / d.path).read_bytes()).hexdigest()
               for d in digests)
