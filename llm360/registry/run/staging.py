"""Checkpoint folders assembled in ``RUN/.llm360/staging`` and renamed into place in one step.

Files are hashed as they are written or copied; the folder's OMS root digest comes from those
digests. A checkpoint is never overwritten: the same bytes again are ``identical``, other bytes
a conflict.
"""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from llm360.errors import CheckpointExistsError, InputError, UnsafePathError
from llm360.registry import layout
from llm360.registry.build.hashing import FileDigest, record_written, root_digest, sha256_file
from llm360.registry.run.records import TrainerState

__all__ = ["StagedCheckpoint", "WrittenCheckpoint", "checkpoint_root_digest", "copy_hashed",
           "fsync_dir"]


@dataclass(frozen=True, kw_only=True)
class WrittenCheckpoint:
    """What ``write_checkpoint`` wrote: the folder, each file's sha256 and the root digest."""

    name: str
    path: Path
    files: Mapping[str, str]     # file name inside the folder -> sha256
    root_digest: str
    status: str                  # "written", or "identical" (the same bytes were there)
    state: TrainerState


@dataclass(kw_only=True)
class StagedCheckpoint:
    """A complete checkpoint folder in ``RUN/.llm360/staging``, not yet in ``checkpoints/``."""

    name: str
    folder: Path
    final: Path
    state: TrainerState
    digests: dict[str, str] = field(default_factory=dict)   # file name -> sha256 as written
    sizes: dict[str, int] = field(default_factory=dict)

    def status(self) -> str:
        """``new``, ``identical`` (a folder of that name holds the same bytes) or
        ``conflict`` (a different checkpoint of that name exists)."""
        if not self.final.exists():
            return "new"
        same = sorted(p.name for p in self.final.iterdir()) == sorted(self.digests) and all(
            sha256_file(self.final / f)[1] == d for f, d in self.digests.items())
        return "identical" if same else "conflict"

    def commit(self) -> str:
        """Rename the folder into place: ``written``, or ``identical`` (the staged copy is
        dropped). A different checkpoint of that name raises ``CheckpointExistsError`` (a
        ``FileExistsError`` too): it is never overwritten."""
        status = self.status()
        if status != "new":
            self.discard()
            if status == "conflict":
                raise CheckpointExistsError(
                    f"{self.final}: a different checkpoint of that name exists",
                    hint="checkpoints are never overwritten: choose another name (a fork)")
            return "identical"
        self.final.parent.mkdir(parents=True, exist_ok=True)
        os.rename(self.folder, self.final)
        fsync_dir(self.final.parent)
        run_dir = self.final.parent.parent
        record_written(run_dir, [  # hashed as written: release build need not read them again
            FileDigest(path=layout.checkpoint_file(self.name, f), sha256=d,
                       size=self.sizes.get(f, os.stat(self.final / f).st_size))
            for f, d in sorted(self.digests.items())])
        return "written"

    def discard(self) -> None:
        """Remove the staged folder (nothing, once committed)."""
        shutil.rmtree(self.folder, ignore_errors=True)


def checkpoint_root_digest(run_dir: Path, name: str) -> str:
    """The OMS v1.0 root digest of ``RUN/checkpoints/NAME`` as it is on disk: what a child
    checkpoint records in ``parents[].root_digest``."""
    folder = Path(run_dir) / layout.checkpoint_dir(name)
    if not folder.is_dir():
        raise InputError(f"{folder}: no such checkpoint")
    return root_digest((p.name, sha256_file(p)[1]) for p in sorted(folder.iterdir())
                       if p.is_file())


def copy_hashed(src: Path, dst: Path, block: int = 1 << 20) -> tuple[int, str]:
    """Copy ``src`` to ``dst`` (0644, fsynced): (size, sha256) of the bytes copied. ``src``
    is opened without following a link (a link is ``UnsafePathError``), ``dst`` must be new."""
    digest = hashlib.sha256()
    size = 0
    try:
        fd = os.open(src, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise UnsafePathError(f"{src}: is a symbolic link; llm360 copies only regular "
                                  "files", hint="copy what the link points to in its place "
                                  "(cp -L), if you mean to release it") from None
        raise
    with os.fdopen(fd, "rb") as fin, open(dst, "xb") as fout:
        while chunk := fin.read(block):
            digest.update(chunk)
            fout.write(chunk)
            size += len(chunk)
        fout.flush()
        os.fsync(fout.fileno())
    os.chmod(dst, 0o644)
    return size, digest.hexdigest()


def fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
