"""The hashing engine: streaming sha256 of files in parallel, a cache, OMS and Merkle digests.

* Files are read in fixed-size blocks into one reused buffer per worker, so memory stays constant
  whatever the file size; ``hashlib`` releases the GIL, so a thread pool hashes files in parallel.
* Results come back in the order asked for, whatever order the workers finish in.
* ``HashCache`` remembers digests keyed by (path, size, mtime_ns, ctime_ns, inode, device) and
  stores an entry only when the file was last changed well before it was hashed, so a file
  rewritten later (same size or not, touched, replaced by rename) is always hashed again.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from llm360.errors import InputError
from llm360.registry import merkle
from llm360.registry._files import resolve_inside, write_atomic

__all__ = [
    "FileDigest",
    "HashCache",
    "sha256_file",
    "hash_files",
    "root_digest",
    "merkle_root",
    "rows_merkle_root",
    "DEFAULT_BLOCK",
]

DEFAULT_BLOCK = 1 << 20
#: an entry is cached only if the file's last change is this much older than its hashing
RACY_WINDOW_NS = 1_000_000_000
CACHE_VERSION = 1


@dataclass(frozen=True, kw_only=True)
class FileDigest:
    path: str
    size: int
    sha256: str


def sha256_file(path: Path, *, block: int = DEFAULT_BLOCK, buffer: bytearray | None = None,
                progress: Callable[[int], None] | None = None) -> tuple[int, str]:
    """(size, sha256 hex) of one file, read in ``block``-byte pieces into a reused buffer."""
    buf = buffer if buffer is not None else bytearray(block)
    view = memoryview(buf)
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb", buffering=0) as fh:
        while True:
            n = fh.readinto(buf)
            if not n:
                break
            digest.update(view[:n])
            size += n
            if progress is not None:
                progress(n)
    return size, digest.hexdigest()


def _stat_key(st: os.stat_result) -> list[int]:
    return [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev]


class HashCache:
    """Digests remembered between builds, in a JSON file (written atomically)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._entries: dict[str, dict] = {}
        self._dirty = False
        try:
            data = json.loads(self.path.read_text("utf-8"))
            if data.get("version") == CACHE_VERSION and isinstance(data.get("entries"), dict):
                self._entries = data["entries"]
        except (OSError, ValueError, AttributeError):
            self._entries = {}

    def get(self, rel: str, st: os.stat_result) -> str | None:
        entry = self._entries.get(rel)
        if entry is not None and entry.get("key") == _stat_key(st):
            return entry.get("sha256")
        return None

    def put(self, rel: str, st: os.stat_result, sha256: str, hashed_at_ns: int) -> None:
        if hashed_at_ns - max(st.st_mtime_ns, st.st_ctime_ns) < RACY_WINDOW_NS:
            self._entries.pop(rel, None)  # too fresh to trust later: hash it again next time
        else:
            self._entries[rel] = {"key": _stat_key(st), "sha256": sha256}
        self._dirty = True

    def save(self) -> None:
        if not self._dirty:
            return
        data = {"version": CACHE_VERSION, "entries": dict(sorted(self._entries.items()))}
        try:
            write_atomic(self.path, json.dumps(data, sort_keys=True).encode("utf-8"))
        except OSError:
            pass  # a read-only run directory just goes without a cache
        self._dirty = False


def hash_files(root: Path, paths: Sequence[str], *, cache: HashCache | None = None,
               workers: int | None = None, block: int = DEFAULT_BLOCK,
               progress: Callable[[int], None] | None = None) -> list[FileDigest]:
    """Digests of ``root/path`` for each path, in the order given.

    ``progress`` is called with byte counts as they are read (from worker threads). Links and
    paths escaping ``root`` are refused; a missing file is an ``InputError``.
    """
    root = Path(root)
    workers = workers or min(4, os.cpu_count() or 1)
    results: list[FileDigest | None] = [None] * len(paths)
    todo: list[tuple[int, str, Path, os.stat_result]] = []
    for i, rel in enumerate(paths):
        full = resolve_inside(root, rel)
        try:
            st = os.stat(full)
        except FileNotFoundError:
            raise InputError(f"{root}/{rel}: file not found") from None
        cached = cache.get(rel, st) if cache is not None else None
        if cached is not None:
            results[i] = FileDigest(path=rel, size=st.st_size, sha256=cached)
            if progress is not None:
                progress(st.st_size)
        else:
            todo.append((i, rel, full, st))

    def work(item: tuple[int, str, Path, os.stat_result], buf: bytearray) -> None:
        i, rel, full, st = item
        started = time.time_ns()
        size, hexdigest = sha256_file(full, block=block, buffer=buf, progress=progress)
        after = os.stat(full)
        if _stat_key(after) != _stat_key(st) or size != st.st_size:
            raise InputError(f"{root}/{rel}: changed while it was being hashed",
                             hint="wait for the writer to finish, then run again")
        results[i] = FileDigest(path=rel, size=size, sha256=hexdigest)
        if cache is not None:
            cache.put(rel, st, hexdigest, started)

    if todo:
        todo.sort(key=lambda item: -item[3].st_size)  # biggest first keeps workers busy to the end
        pending = iter(todo)
        lock = threading.Lock()

        def worker() -> None:
            buf = bytearray(block)
            while True:
                with lock:
                    item = next(pending, None)
                if item is None:
                    return
                work(item, buf)

        n = min(workers, len(todo))
        if n == 1:
            worker()
        else:
            with ThreadPoolExecutor(max_workers=n, thread_name_prefix="llm360-hash") as pool:
                for future in [pool.submit(worker) for _ in range(n)]:
                    future.result()
    if cache is not None:
        cache.save()
    return [r for r in results if r is not None]


def root_digest(digests: Iterable[tuple[str, str]]) -> str:
    """OMS v1.0 root digest: sha256 over the raw sha256 digests of files sorted by name."""
    h = hashlib.sha256()
    for _, hexdigest in sorted(digests):
        h.update(bytes.fromhex(hexdigest))
    return h.hexdigest()


def merkle_root(leaves: Sequence[bytes], fmt: str = merkle.DEFAULT_FORMAT) -> str:
    """Merkle root (hex) over leaf digests; see ``llm360.registry.merkle`` for the formats."""
    return merkle.merkle_root(leaves, fmt)


def rows_merkle_root(rows, fmt: str = merkle.DEFAULT_FORMAT) -> str:
    """Merkle root over the rows of a 2-D token array (rows as little-endian int32 bytes)."""
    return merkle.rows_merkle_root(rows, fmt)
