"""Rendered cards and plots remembered between builds, so a rebuild with nothing changed
renders nothing.

``RUN/.llm360/cards/record.json`` (sorted-key JSON) holds, per group ("plots", "cards"), the key
the group was rendered from (the digests of its inputs as the manifest records them, and the
renderer's version, sealed with this user's secret: ``local_key``) and the sha256 of each file
it produced; the files sit beside it. A group is reused only when its key matches and every file
still has its recorded sha256; anything else (no record, a link, a changed byte, a record that
came with a copied run) renders again. The cache is never an artifact.

What a build renders is written to the cache by a background thread (``put`` returns at once,
``flush`` waits): the build writes its own copy into the release meanwhile, and the cache is
off its critical path.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from llm360.errors import UnsafePathError
from llm360.registry import layout
from llm360.registry._files import resolve_inside, write_atomic
from llm360.registry.build.local_key import seal

__all__ = ["RenderCache", "CACHE_DIR", "link_into"]

CACHE_DIR = layout.CARDS_CACHE
_RECORD = "record.json"
_VERSION = 1


class RenderCache:
    """Groups of rendered files under ``root/.llm360/cards`` (root: the run directory)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._groups: dict[str, object] = {}  # record.json's groups, as read (checked on use)
        self._valid: set[tuple[str, str]] = set()  # cached files known to hold their bytes
        self._lock = threading.Lock()  # _groups and _valid, shared with the writer thread
        self._writer: ThreadPoolExecutor | None = None
        self._writes: list[Future[None]] = []
        try:
            self.dir: Path | None = resolve_inside(self.root, CACHE_DIR)
        except UnsafePathError:  # a link at RUN/.llm360: no cache, never written through it
            self.dir = None
            return
        try:
            data = json.loads((self.dir / _RECORD).read_bytes())
            groups = data.get("groups") if data.get("version") == _VERSION else None
        except (OSError, ValueError, AttributeError):
            groups = None
        if isinstance(groups, dict):
            self._groups = groups

    def has(self, group: str) -> bool:
        """Whether an earlier render left files of ``group`` (of whatever key)."""
        with self._lock:
            return self.dir is not None and isinstance(self._groups.get(group), dict)

    def get(self, group: str, key: str) -> dict[str, bytes] | None:
        """The files of ``group`` rendered from ``key``, or None."""
        with self._lock:
            entry = self._groups.get(group)
        if (self.dir is None or not isinstance(entry, dict)
                or entry.get("key") != seal(key.encode())):
            return None
        files = entry.get("files")
        if not isinstance(files, dict):
            return None
        out = {}
        for rel, sha in files.items():
            try:
                data = resolve_inside(self.dir, f"{group}/{rel}").read_bytes()
            except (OSError, UnsafePathError):
                return None
            if hashlib.sha256(data).hexdigest() != sha:
                return None
            out[rel] = data
        with self._lock:
            self._valid |= {(group, rel) for rel in out}
        return out

    def source(self, group: str, rel: str) -> Path | None:
        """The cached file of ``group`` at ``rel`` when it is known to hold the group's bytes."""
        with self._lock:
            if self.dir is None or (group, rel) not in self._valid:
                return None
        return self.dir / group / rel

    def put(self, group: str, key: str, files: Mapping[str, bytes]) -> None:
        """Remember ``files`` as ``group`` rendered from ``key``, on a background thread
        (``flush`` waits for it). Best effort: a read-only run directory simply goes without
        a cache."""
        if self.dir is None:
            return
        files = dict(files)
        with self._lock:
            self._valid -= {(group, rel) for rel in files}
        if self._writer is None:
            self._writer = ThreadPoolExecutor(1, thread_name_prefix="llm360-cards-cache")
        self._writes.append(self._writer.submit(self._write, group, key, files))

    def flush(self) -> None:
        """Wait until every ``put`` is written (or given up)."""
        writes, self._writes = self._writes, []
        for write in writes:
            write.result()
        if self._writer is not None:
            self._writer.shutdown(wait=True)
            self._writer = None

    def _write(self, group: str, key: str, files: dict[str, bytes]) -> None:
        assert self.dir is not None
        try:
            for rel, data in files.items():
                write_atomic(resolve_inside(self.dir, f"{group}/{rel}"), data, durable=False)
            entry = {"key": seal(key.encode()), "files": {
                rel: hashlib.sha256(data).hexdigest() for rel, data in sorted(files.items())}}
            with self._lock:
                self._groups[group] = entry
                self._valid |= {(group, rel) for rel in files}
                record = json.dumps({"version": _VERSION, "groups": self._groups},
                                    sort_keys=True, indent=1).encode("utf-8")
            write_atomic(self.dir / _RECORD, record, durable=False)
        except (OSError, UnsafePathError):
            return


def link_into(source: Path, dest: Path) -> bool:
    """Hard-link the cached ``source`` at the new path ``dest`` (no second write); False where
    that cannot be done (another file system, a file system without links)."""
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        os.link(source, dest)
    except OSError:
        return False
    return True
