"""``start_hashing``: files hashed on worker threads while the caller goes on; results in the
order asked for, errors handed to ``result()``, ``cancel()`` stops the workers, and the
interpreter's switch interval is put back."""

from __future__ import annotations

import hashlib
import os
import sys
import threading
from pathlib import Path

import pytest

from llm360.errors import InputError
from llm360.registry.build.hashing import hash_files, start_hashing


def _hash_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("llm360-hash")]


def _files(tmp_path: Path, sizes: list[int]) -> list[str]:
    names = []
    for i, size in enumerate(sizes):
        (tmp_path / f"f{i}.bin").write_bytes(os.urandom(size))
        names.append(f"f{i}.bin")
    return names


def test_result_is_hash_files_in_the_order_asked(tmp_path: Path) -> None:
    names = _files(tmp_path, [5, 3 << 20, 0, 70_000, 1 << 20])
    before = sys.getswitchinterval()
    job = start_hashing(tmp_path, names, workers=3)
    got = job.result()
    assert [d.path for d in got] == names
    assert got == hash_files(tmp_path, names, workers=1)
    assert [d.sha256 for d in got] == [
        hashlib.sha256((tmp_path / n).read_bytes()).hexdigest() for n in names]
    assert sys.getswitchinterval() == before
    assert _hash_threads() == []


def test_cancel_stops_the_workers_at_the_next_block(tmp_path: Path) -> None:
    big = tmp_path / "big.bin"
    with open(big, "wb") as fh:  # sparse: 256 MiB that costs nothing on disk
        fh.truncate(256 << 20)
    started, release = threading.Event(), threading.Event()
    read = []

    def progress(n: int) -> None:
        read.append(n)
        started.set()
        release.wait(10)

    before = sys.getswitchinterval()
    job = start_hashing(tmp_path, ["big.bin"], workers=2, progress=progress)
    assert started.wait(10)
    canceller = threading.Thread(target=job.cancel)
    canceller.start()
    while not job._stop.is_set():  # cancel() has asked the worker to stop
        threading.Event().wait(0.001)
    release.set()
    canceller.join(10)
    assert not canceller.is_alive()
    assert sum(read) < big.stat().st_size  # it stopped long before the end
    assert _hash_threads() == []
    assert sys.getswitchinterval() == before


def test_a_worker_error_is_raised_by_result(tmp_path: Path) -> None:
    names = _files(tmp_path, [2 << 20])

    grown = []

    def progress(n: int) -> None:  # the file grows (once) while it is read
        if not grown:
            grown.append(n)
            with open(tmp_path / names[0], "ab") as fh:
                fh.write(b"x")

    job = start_hashing(tmp_path, names, workers=1, progress=progress)
    with pytest.raises(InputError, match="changed while it was being hashed"):
        job.result()
    assert _hash_threads() == []


def test_nothing_to_hash_starts_no_thread(tmp_path: Path) -> None:
    before = sys.getswitchinterval()
    job = start_hashing(tmp_path, [], workers=4)
    assert _hash_threads() == [] and sys.getswitchinterval() == before
    assert job.result() == []


def test_first_paths_are_hashed_first_and_wait_returns_them_early(tmp_path: Path) -> None:
    (tmp_path / "small.bin").write_bytes(b"chunk")
    (tmp_path / "big.bin").write_bytes(os.urandom(4 << 20))
    release = threading.Event()
    seen = []

    def progress(n: int) -> None:  # blocks once the big file is being read
        seen.append(n)
        if sum(seen) > 5:
            release.wait(10)

    job = start_hashing(tmp_path, ["big.bin", "small.bin"], workers=1, progress=progress,
                        first=["small.bin"], block=1 << 20)
    got: dict = {}
    waiter = threading.Thread(target=lambda: got.update(job.wait(["small.bin"])))
    waiter.start()
    waiter.join(10)
    try:
        assert not waiter.is_alive(), "wait() did not return while the big file was hashing"
        assert got["small.bin"].sha256 == hashlib.sha256(b"chunk").hexdigest()
    finally:
        release.set()
    assert [d.path for d in job.result()] == ["big.bin", "small.bin"]
