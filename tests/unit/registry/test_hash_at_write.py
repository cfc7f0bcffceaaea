"""Hash at write: digests recorded by the writer are used by the next build, never when stale."""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path

import pytest

from llm360.registry.build import hashing
from llm360.registry.build import release as build
from llm360.registry.build.hashing import (
    CACHE_FILE,
    FileDigest,
    HashCache,
    default_workers,
    hash_files,
    hashing_writer,
    record_written,
    write_recorded,
)


def _hash(run: Path, paths: list[str]) -> tuple[HashCache, list[FileDigest]]:
    cache = HashCache(run / CACHE_FILE)
    return cache, hash_files(run, paths, cache=cache)


def test_default_workers_follow_the_affinity_mask() -> None:
    assert default_workers() == len(os.sched_getaffinity(0))
    assert build.CACHE_FILE == CACHE_FILE


def test_written_files_are_not_read_again(tmp_path: Path) -> None:
    run = tmp_path / "run"
    payloads = {f"data/chunk_{i:03d}.safetensors": os.urandom(10_000 + i) for i in range(3)}
    for rel, data in payloads.items():
        assert write_recorded(run, rel, data).sha256 == hashlib.sha256(data).hexdigest()
    cache, digests = _hash(run, sorted(payloads))  # at once: no racy window to wait out
    assert (cache.hits, cache.hashed_bytes) == (3, 0)
    assert {d.path: d.sha256 for d in digests} == {
        rel: hashlib.sha256(data).hexdigest() for rel, data in payloads.items()}


def test_a_change_after_the_write_is_hashed(tmp_path: Path) -> None:
    run = tmp_path / "run"
    write_recorded(run, "a.bin", b"a" * 100)
    time.sleep(0.01)
    st = os.stat(run / "a.bin")
    (run / "a.bin").write_bytes(b"b" * 100)  # same size, mtime put back: ctime still moves
    os.utime(run / "a.bin", ns=(st.st_atime_ns, st.st_mtime_ns))
    cache, [digest] = _hash(run, ["a.bin"])
    assert cache.hashed_bytes == 100
    assert digest.sha256 == hashlib.sha256(b"b" * 100).hexdigest()


def test_a_wrong_size_is_not_recorded(tmp_path: Path) -> None:
    run = tmp_path / "run"
    (run).mkdir()
    (run / "f").write_bytes(b"12345")
    assert record_written(run, [FileDigest(path="f", size=4, sha256="0" * 64)]) == 0
    cache, [digest] = _hash(run, ["f"])
    assert cache.hashed_bytes == 5 and digest.sha256 == hashlib.sha256(b"12345").hexdigest()


def test_hashing_writer_streams_atomically_and_records(tmp_path: Path) -> None:
    run = tmp_path / "run"
    pieces = [os.urandom(70_000) for _ in range(5)]
    with hashing_writer(run, "checkpoints/ckpt_000/model.safetensors") as fh:
        for piece in pieces:
            fh.write(piece)
        fh.write(memoryview(b"tail"))
    data = b"".join(pieces) + b"tail"
    path = run / "checkpoints/ckpt_000/model.safetensors"
    assert path.read_bytes() == data and oct(path.stat().st_mode & 0o777) == "0o644"
    cache, [digest] = _hash(run, ["checkpoints/ckpt_000/model.safetensors"])
    assert cache.hashed_bytes == 0 and digest.sha256 == hashlib.sha256(data).hexdigest()

    with pytest.raises(RuntimeError):
        with hashing_writer(run, "checkpoints/ckpt_000/model.safetensors") as fh:
            fh.write(b"half")
            raise RuntimeError("killed")
    assert path.read_bytes() == data  # the old file stays, no temporary file is left
    assert sorted(p.name for p in path.parent.iterdir()) == ["model.safetensors"]


def test_saves_merge_with_other_writers(tmp_path: Path) -> None:
    run = tmp_path / "run"
    write_recorded(run, "a", b"a")
    builder = HashCache(run / CACHE_FILE)  # a build loads the cache ...
    write_recorded(run, "b", b"b")  # ... a trainer records a new file meanwhile ...
    (run / "c").write_bytes(b"c")
    hash_files(run, ["c"], cache=builder)  # ... and the build saves its own entries
    assert builder.hashed_files == 1
    entries = json.loads((run / CACHE_FILE).read_text())["entries"]
    assert sorted(entries) == ["a", "b"]  # c is too fresh to keep; b survived the build's save
    cache, _ = _hash(run, ["a", "b"])
    assert cache.hits == 2 and cache.hashed_bytes == 0


def test_coarse_timestamps_are_not_trusted(tmp_path: Path, monkeypatch) -> None:
    run = tmp_path / "run"
    (run).mkdir()
    (run / "f").write_bytes(b"x")
    real_stat = os.stat

    def whole_seconds(path, *args, **kwargs):
        st = real_stat(path, *args, **kwargs)
        if Path(path).name != "f":
            return st
        fields = list(st)
        return os.stat_result(fields, {"st_mtime_ns": st.st_mtime_ns // 10**9 * 10**9,
                                       "st_ctime_ns": st.st_ctime_ns // 10**9 * 10**9})

    monkeypatch.setattr(hashing.os, "stat", whole_seconds)
    st = os.stat(run / "f")
    assert st.st_mtime_ns % 10**9 == 0
    assert record_written(run, [FileDigest(path="f", size=1, sha256="0" * 64)]) == 0
