"""Where a release's files come from, for ``verify``: one interface, several sources.

A source answers two questions: the bytes of a small release file (the manifest, its bundle,
a checkpoint's ``model.sig``, ``release-files.json``), and, for every release path the verifier
expects, where that file is, its size and sha256 (plus every other file the source holds, so
files nobody signed are seen). The verifier compares; a source never decides what is verified.

* ``LocalSource``: a release folder (self-contained: artifacts beside the manifest), or a
  metadata-only release folder with its artifacts in a run directory (``--root RUN``).
* The Hub (``registry.hub``) is one more source that reads sizes and sha256 from the Hub's
  metadata without downloading weights.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

from llm360.errors import InputError
from llm360.registry._files import list_files, resolve_inside
from llm360.registry.build.hashing import hash_files

__all__ = ["Located", "ArtifactSource", "LocalSource", "MAX_RELEASE_FILE"]

#: the largest small release file (manifest, bundle, model.sig, list) a source will read
MAX_RELEASE_FILE = 256 * 1024 * 1024


@dataclass(frozen=True, kw_only=True)
class Located:
    """One file of a source, or one place where an expected file is missing."""

    path: str | None    # the release path it stands for; None: not part of the release
    where: str          # where it is, for messages
    size: int | None    # None: missing at a place where it should be
    sha256: str | None  # None: present, but its digest is unknown


@runtime_checkable
class ArtifactSource(Protocol):
    """What ``verify`` reads a release from."""

    description: str

    def read_bytes(self, path: str) -> bytes | None:
        """A small release file by its release path, or None where the source lacks it."""

    def locate(self, expected: Collection[str], *,
               progress: Callable[[int], None] | None = None,
               on_total: Callable[[int], None] | None = None) -> list[Located]:
        """A ``Located`` per place each expected path should be (size None where it is
        missing), plus one for every other file the source holds; sha256 wherever known."""


class LocalSource:
    """A release folder on disk; ``artifact_root`` holds the artifacts when they are not in
    the release folder itself (a metadata-only release verified with ``--root RUN``)."""

    def __init__(self, release_dir: Path, artifact_root: Path | None = None,
                 *, ignore: Collection[str] = ()) -> None:
        self.release_dir = Path(release_dir)
        self.artifact_root = Path(artifact_root) if artifact_root is not None else self.release_dir
        for folder in {self.release_dir, self.artifact_root}:
            if not folder.is_dir():
                raise InputError(f"{folder}: no such directory")
        self._ignore = frozenset(ignore)
        self.description = (str(self.release_dir) if self.artifact_root == self.release_dir
                            else f"{self.release_dir} (artifacts in {self.artifact_root})")

    @property
    def separate_root(self) -> bool:
        return self.artifact_root.resolve() != self.release_dir.resolve()

    def read_bytes(self, path: str) -> bytes | None:
        full = resolve_inside(self.release_dir, path, where="release file")
        try:
            st = os.stat(full)
        except (FileNotFoundError, NotADirectoryError):
            return None
        if not os.path.isfile(full):
            raise InputError(f"{full}: not a regular file")
        if st.st_size > MAX_RELEASE_FILE:
            raise InputError(f"{full}: {st.st_size} bytes is too large for a release record")
        try:
            return full.read_bytes()
        except OSError as exc:
            raise InputError(f"{full}: cannot read ({exc.strerror})") from None

    def locate(self, expected: Collection[str], *,
               progress: Callable[[int], None] | None = None,
               on_total: Callable[[int], None] | None = None) -> list[Located]:
        folders = [self.artifact_root] + ([self.release_dir] if self.separate_root else [])
        on_disk = {folder: set(list_files(folder)) - self._ignore for folder in folders}
        wanted = set(expected)
        found: dict[Path, list[str]] = {folder: [] for folder in folders}
        out: list[Located] = []
        for rel in sorted(wanted):
            holders = [f for f in folders if rel in on_disk[f]]
            if not holders:
                out.append(Located(path=rel, where=rel, size=None,
                                   sha256=None))
            for folder in holders[:1]:  # the artifact root wins where both hold the file
                found[folder].append(rel)
        if on_total is not None:
            on_total(sum(os.stat(folder / rel).st_size for folder, rels in found.items()
                         for rel in rels))
        for folder, rels in found.items():
            for d in hash_files(folder, rels, progress=progress):
                out.append(Located(path=d.path, where=d.path, size=d.size,
                                   sha256=d.sha256))
        for folder in folders:
            for rel in sorted(on_disk[folder] - wanted):
                out.append(Located(path=None, where=rel,
                                   size=os.stat(folder / rel).st_size, sha256=None))
        return out
