"""Safe paths inside a root, file listing, and atomic writes."""

from __future__ import annotations

import errno
import os
import stat
import tempfile
from collections.abc import Iterable
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from llm360.errors import InputError, StorageError, UnsafePathError
from llm360.registry import layout
from llm360.registry.manifest.problems import Problem
from llm360.registry.run.listing import walk_files

if TYPE_CHECKING:  # imported when the first file is handed over (a Syncer is often unused)
    from concurrent.futures import Future, ThreadPoolExecutor

__all__ = ["check_relpath", "resolve_inside", "list_files", "write_atomic", "Syncer",
           "IGNORED_DIRS", "DISK_ERRNOS", "storage_error"]

#: folders inside a run that are never artifacts (the hash cache lives in ``.llm360``)
IGNORED_DIRS = layout.IGNORED_DIRS


#: write errors that say the disk, not the program, refused: each is a one-line StorageError
DISK_ERRNOS = {errno.ENOSPC: "no space left on device", errno.EDQUOT: "disk quota exceeded",
               errno.EROFS: "read-only file system", errno.EFBIG: "file too large"}


def storage_error(exc: OSError, path: Path | str) -> StorageError | None:
    """A ``StorageError`` for a write to ``path`` the disk refused, else None."""
    what = DISK_ERRNOS.get(exc.errno) if exc.errno is not None else None
    if what is None:
        return None
    return StorageError(f"{what} writing {path}", path=str(path))


def check_relpath(rel: str, *, where: str = "path") -> PurePosixPath:
    """``rel`` as a relative POSIX path with no '..', or ``UnsafePathError``."""
    return PurePosixPath(_checked(rel, where))


def _checked(rel: str, where: str) -> str:
    if not rel or "\x00" in rel or "\\" in rel:
        raise UnsafePathError(f"{where}: {rel!r} is not a relative POSIX path")
    if rel.startswith("/") or (len(rel) > 1 and rel[1] == ":"):
        raise UnsafePathError(f"{where}: {rel!r} is an absolute path; only paths inside the "
                              "run directory are allowed")
    if any(part in ("..", ".") for part in rel.split("/")) or "//" in rel or rel.endswith("/"):
        raise UnsafePathError(f"{where}: {rel!r} escapes or is not normalised inside the run "
                              "directory", hint="manifest paths are relative, with no '..'")
    return rel


def resolve_inside(root: Path, rel: str, *, where: str = "path",
                   checked: set[str] | None = None) -> Path:
    """``root/rel``, refusing escapes and any symbolic link along the way.

    ``checked``: for many paths below one root, a set (kept by the caller for one operation)
    of the folders already found to be real folders, so each is looked at once, not once per
    file below it (a release build resolves every artifact, a few hundred per folder)."""
    parts = _checked(rel, where).split("/")
    current = os.fspath(root)
    last = len(parts) - 1
    for i, part in enumerate(parts):  # plain strings, not Paths: this runs for every file
        current = f"{current}/{part}"
        if i < last and checked is not None and current in checked:
            continue
        try:
            mode = os.lstat(current).st_mode
        except FileNotFoundError:
            return Path(root).joinpath(*parts)
        if stat.S_ISLNK(mode):
            raise UnsafePathError(f"{where}: {rel!r} goes through a symbolic link "
                                  f"({current}); llm360 refuses links in a run or release")
        if i < last and checked is not None:
            checked.add(current)
    return Path(current)


def list_files(root: Path) -> list[str]:
    """Every regular file below ``root`` as sorted relative POSIX paths; links are refused."""
    root = Path(root)
    if not root.is_dir():
        raise InputError(f"{root}: no such directory")
    links: list[Problem] = []
    files = walk_files(root, links)
    if links:
        raise links[0].as_error(root)
    return files


def write_atomic(path: Path, data: bytes, *, mode: int | None = None,
                 exclusive: bool = False, durable: bool = True) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder.

    The temporary file is created 0600 and gets ``mode`` (default 0644) before it takes the
    final name: ``os.replace``, or with ``exclusive`` a hard link that raises
    ``FileExistsError`` rather than replace an existing file. ``durable``: the bytes are on
    disk (fsync) before the file takes its name. Without it, a crash may leave the file empty
    or old: for caches, whose every entry is checked when read, and for a release being
    staged, which a ``Syncer`` makes durable as a whole before it is swapped into place.
    """
    path = Path(path)
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            if durable:
                fh.flush()
                os.fsync(fh.fileno())
        os.chmod(tmp, mode if mode is not None else 0o644)
        if exclusive:
            os.link(tmp, path)
            os.unlink(tmp)
        else:
            os.replace(tmp, path)
    except BaseException as exc:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except FileNotFoundError:
                pass
        if isinstance(exc, OSError):
            error = storage_error(exc, path)
            if error is not None:
                raise error from exc
        raise


def _fsync(path: str) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as exc:
        error = storage_error(exc, path)  # a full or failing disk, named
        if error is not None:
            raise error from exc
        raise


def _fsync_folder(path: str) -> None:
    try:  # best effort: some file systems refuse to open or fsync a folder
        _fsync(path)
    except (OSError, StorageError):
        pass


#: fsyncs at once: each waits for the disk, not the CPU
_SYNC_WORKERS = 8


def _write_new(path: str, data: bytes) -> None:
    """``data`` as the new file ``path`` (0644; its folder made), not synced. A release being
    staged is a fresh folder of this tool's own: no temporary name is needed."""
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC
                     | getattr(os, "O_NOFOLLOW", 0), 0o644)
        try:
            os.fchmod(fd, 0o644)  # whatever the umask, as write_atomic
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
        finally:
            os.close(fd)
    except OSError as exc:
        error = storage_error(exc, path)  # a full disk, named
        if error is not None:
            raise error from exc
        raise


class Syncer:
    """Makes the files a release writes below ``root`` durable while the build goes on:
    ``write`` writes a new file and hands it over, ``add`` hands over files written otherwise;
    each is fsynced on a worker thread (several at once: each waits for the disk, and a
    journal commits concurrent fsyncs together). ``finish`` waits for them, then syncs every
    folder from theirs up to ``root`` (their entries are written too). ``close`` stops
    without waiting for what is left (the folder is being thrown away)."""

    def __init__(self, root: Path) -> None:
        self.root = os.fspath(root)
        self._pool: ThreadPoolExecutor | None = None
        self._pending: list[Future[None]] = []
        self._added: dict[str, None] = {}

    def write(self, rel: str, data: bytes) -> None:
        """Write ``data`` as the new file ``rel`` (refused if it exists, or if ``rel`` is not a
        plain relative path below ``root``) and hand it over."""
        check_relpath(rel, where="release file")
        if rel in self._added:
            raise FileExistsError(os.path.join(self.root, rel))
        _write_new(os.path.join(self.root, rel), data)
        self.add([rel])

    def add(self, paths: Iterable[str]) -> None:
        new = [rel for rel in paths if rel not in self._added]
        if not new:
            return
        self._added.update(dict.fromkeys(new))
        if self._pool is None:
            from concurrent.futures import ThreadPoolExecutor

            self._pool = ThreadPoolExecutor(_SYNC_WORKERS, thread_name_prefix="llm360-sync")
        self._pending += [self._pool.submit(_fsync, os.path.join(self.root, rel))
                          for rel in new]

    def finish(self) -> None:
        """Wait for every file handed over (the first failure is raised), then sync their
        folders."""
        try:
            for pending in self._pending:
                pending.result()
            folders = {""}
            for rel in self._added:
                parent = os.path.dirname(rel)
                while parent not in folders:
                    folders.add(parent)
                    parent = os.path.dirname(parent)
            if self._pool is not None:
                list(self._pool.map(_fsync_folder, [os.path.join(self.root, f)
                                                    for f in sorted(folders, reverse=True)]))
        finally:
            self.close()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
        self._pending = []
