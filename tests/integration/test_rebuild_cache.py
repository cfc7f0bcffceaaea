"""A release hard-links the run's files (their ctime moves); the next build still hashes
nothing unchanged, and a real change after it is still caught."""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

import pytest

from llm360.registry.build import hashing
from llm360.registry.build.hashing import HashCache, hash_files
from llm360.registry.build.release import CACHE_FILE, BuildOptions, build_release
from llm360.registry.run.reader import read_run

OPTIONS = BuildOptions(created="2026-11-27T00:00:00Z")


def _cache_after(run: Path) -> HashCache:
    cache = HashCache(run / CACHE_FILE)
    hash_files(run, read_run(run).files, cache=cache)
    return cache


def test_rebuilds_hash_nothing_unchanged(synthetic_run: Path, tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hashing, "RACY_WINDOW_NS", 50_000_000)  # ctime cannot be set back
    time.sleep(0.12)
    weights = synthetic_run / "checkpoints/ckpt_000/model.safetensors"
    for _ in range(2):  # the second build also removes the first release's links
        before = os.stat(weights)
        build_release(synthetic_run, tmp_path / "rel", options=OPTIONS)
        assert os.stat(weights).st_ctime_ns != before.st_ctime_ns  # linked: ctime moved
        cache = _cache_after(synthetic_run)
        assert cache.hashed_files == 0 and cache.hits == len(read_run(synthetic_run).files)

    data = bytearray(weights.read_bytes())
    data[-1] ^= 1
    st = os.stat(weights)
    with open(weights, "r+b") as fh:  # same size, in place, mtime put back
        fh.write(data)
    os.utime(weights, ns=(st.st_atime_ns, st.st_mtime_ns))
    cache = HashCache(synthetic_run / CACHE_FILE)
    [digest] = hash_files(synthetic_run, ["checkpoints/ckpt_000/model.safetensors"], cache=cache)
    assert cache.hashed_files == 1
    assert digest.sha256 == hashlib.sha256(bytes(data)).hexdigest()
