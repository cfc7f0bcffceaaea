"""The release folder on disk: its own files, safe replacement, and the artifacts inside it.

* ``release-files.json`` lists every file of the release that is not an artifact (cards, data
  card, plots, signatures) with size and sha256; the release statement signs it beside
  ``manifest.json``, so a card or plot cannot change unnoticed. It also marks a folder as a
  release this tool wrote: ``release build`` replaces a folder only when every file in it is
  an artifact of its manifest or listed there.
* A release is assembled in a staging folder beside ``--out`` (``.NAME.llm360-staging-*``,
  holding ``.llm360-incomplete`` until it is finished) and swapped into place in one atomic
  ``renameat2(RENAME_EXCHANGE)``; where the kernel or file system lacks it, two renames whose
  intermediate state (``.NAME.llm360-old-*``) the next build recovers. Stale staging of this
  tool's own is removed by the next build; nothing else is ever removed.
* Artifacts are hard links to the run's files where run and release share a file system,
  copies otherwise.
"""

from __future__ import annotations

import ctypes
import errno
import os
import shutil
import socket
import tempfile
from dataclasses import dataclass
from pathlib import Path

from llm360.errors import InputError
from llm360.registry import layout
from llm360.registry._files import Syncer, list_files, resolve_inside, storage_error, write_atomic
from llm360.registry.manifest.schema import Validated
from llm360.registry.manifest.serialize import canonical_json, parse_json

__all__ = [
    "MANIFEST_FILE", "RELEASE_FILES", "PUBLICATION_FILE", "INCOMPLETE_MARK", "ReleaseFile",
    "ReleaseFiles", "read_release_files", "release_files_bytes", "prepare_out", "new_staging",
    "finish_staging", "materialize", "swap_into_place", "discard", "Materialized",
]

MANIFEST_FILE = layout.MANIFEST
RELEASE_FILES = layout.RELEASE_FILES_LIST
#: written by ``llm360 push``: where the release was published (names the manifest's sha256)
PUBLICATION_FILE = layout.PUBLICATION
INCOMPLETE_MARK = layout.INCOMPLETE_MARK
RELEASE_FILES_FORMAT = "llm360.release-files/v1"
_STAGING = "llm360-staging-"
_OLD = "llm360-old-"


@dataclass(frozen=True, kw_only=True)
class ReleaseFile:
    path: str
    size: int
    sha256: str


@dataclass(frozen=True, kw_only=True)
class ReleaseFiles:
    """``release-files.json``: the release's own files and how its artifacts are laid out."""

    manifest_sha256: str
    layout: str  # "full": artifacts in the folder; "metadata-only": in the run directory
    files: tuple[ReleaseFile, ...]

    def by_path(self) -> dict[str, ReleaseFile]:
        return {f.path: f for f in self.files}


def release_files_bytes(rf: ReleaseFiles) -> bytes:
    return canonical_json({
        "format": RELEASE_FILES_FORMAT, "manifest_sha256": rf.manifest_sha256,
        "layout": rf.layout,
        "files": [{"path": f.path, "size": f.size, "sha256": f.sha256}
                  for f in sorted(rf.files, key=lambda f: f.path)],
    })


def read_release_files(raw: bytes, *, source: str,
                       validated: Validated | None = None) -> ReleaseFiles:
    data = parse_json(raw, source=source)
    (validated or Validated(None)).check(data, "release_files", raw, source=source)
    return ReleaseFiles(manifest_sha256=data["manifest_sha256"], layout=data["layout"],
                        files=tuple(ReleaseFile(**f) for f in data["files"]))


# -- replacing a folder safely ------------------------------------------------------------

def _owned_files(folder: Path, validated: Validated | None = None) -> set[str] | None:
    """The files a release of this tool at ``folder`` may hold, or None if it is not one."""
    try:
        rf = read_release_files((folder / RELEASE_FILES).read_bytes(), source=str(folder),
                                validated=validated)
        manifest = parse_json((folder / MANIFEST_FILE).read_bytes(), source=str(folder))
        artifacts = {a["path"] for a in manifest["artifacts"] if isinstance(a, dict)}
    except (OSError, InputError, KeyError, TypeError):
        return None
    return (artifacts | {f.path for f in rf.files}
            | {MANIFEST_FILE, RELEASE_FILES, PUBLICATION_FILE, layout.BUNDLE})


def _is_own_release(folder: Path, validated: Validated | None = None) -> bool:
    owned = _owned_files(folder, validated)
    if owned is None:
        return False
    try:
        return set(list_files(folder)) <= owned and not _has_hidden_dirs(folder)
    except InputError:  # a symbolic link inside: not ours
        return False


def _has_hidden_dirs(folder: Path) -> bool:
    """``list_files`` skips .git and .llm360: a release of ours never holds them."""
    return any((folder / d).exists() for d in layout.IGNORED_DIRS)


def _pid_alive(stamp: Path) -> bool:
    try:
        host, pid = stamp.read_text("utf-8").split()
        if host != socket.gethostname():
            return True  # another machine's build: leave it alone
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except (OSError, ValueError):
        return False
    return True


def prepare_out(out_dir: Path, run_dir: Path, *,
                validated: Validated | None = None) -> Path | None:
    """Check that ``out_dir`` may receive a release; recover an interrupted swap and remove
    stale staging of this tool's own. Returns the release ``out_dir`` holds now, or None.
    ``validated``: the run's memo of documents found valid (the release's own list)."""
    run_dir, out_dir = Path(run_dir).resolve(), Path(out_dir).resolve()
    if out_dir == run_dir or run_dir in out_dir.parents:
        raise InputError(f"{out_dir}: the release folder must not be inside the run directory",
                         hint="choose --out outside RUN")
    if out_dir in run_dir.parents:
        raise InputError(f"{out_dir}: holds the run directory {run_dir}; refusing to replace it",
                         hint="choose --out beside RUN, not around it")
    if out_dir.is_symlink() or (out_dir.exists() and not out_dir.is_dir()):
        raise InputError(f"{out_dir}: exists and is not a folder; refusing to replace it")
    for folder in out_dir.parents:
        if folder.exists() and not folder.is_dir():
            raise InputError(f"{folder}: is a file, not a folder; --out cannot go below it")
    parent = out_dir.parent
    if parent.is_dir():
        for entry in sorted(parent.iterdir()):
            if not entry.name.startswith(f".{out_dir.name}.") or entry.is_symlink():
                continue
            kind = entry.name[len(out_dir.name) + 2:]
            if kind.startswith(_STAGING) and entry.is_dir():
                stamp = entry / INCOMPLETE_MARK
                if stamp.is_file() and not _pid_alive(stamp):
                    shutil.rmtree(entry)
                elif not stamp.exists() and _is_own_release(entry):
                    shutil.rmtree(entry)  # an old release left by a kill after the swap
            elif kind.startswith(_OLD) and entry.is_dir() and _is_own_release(entry):
                if not out_dir.exists():
                    os.rename(entry, out_dir)  # the swap was interrupted: put it back
                else:
                    shutil.rmtree(entry)
    if out_dir.exists() and any(out_dir.iterdir()):
        if not _is_own_release(out_dir, validated):
            raise InputError(f"{out_dir}: exists and is not a release written by llm360 (or "
                             "holds files of its own); refusing to replace it",
                             hint="choose an empty or new --out folder")
        return out_dir
    return None


def new_staging(out_dir: Path) -> Path:
    """A fresh staging folder beside ``out_dir``, stamped as incomplete."""
    out_dir = Path(out_dir).resolve()
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.{_STAGING}", dir=out_dir.parent))
    (staging / INCOMPLETE_MARK).write_text(f"{socket.gethostname()} {os.getpid()}\n", "utf-8")
    return staging


def finish_staging(staging: Path, release_files: ReleaseFiles, syncer: Syncer) -> None:
    """Write ``release-files.json``, make every file the release wrote itself durable (they
    were written without waiting for the disk: ``syncer`` has synced those handed to it as
    they were written, the rest are synced now, and then their folders) and drop the
    incomplete mark: the folder is a release."""
    write_atomic(staging / RELEASE_FILES, release_files_bytes(release_files), durable=False)
    own = [f.path for f in release_files.files] + [MANIFEST_FILE, RELEASE_FILES]
    syncer.add(own + [layout.BUNDLE] * (staging / layout.BUNDLE).is_file())
    syncer.finish()
    os.unlink(staging / INCOMPLETE_MARK)
    os.chmod(staging, 0o755)


def discard(staging: Path) -> None:
    shutil.rmtree(staging, ignore_errors=True)


_RENAME_EXCHANGE = 2


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two paths (Linux renameat2); False where unsupported."""
    try:  # the C library is already in the process: no need to look for it (ldconfig)
        fn = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError, TypeError):
        return False
    at_fdcwd = -100
    rc = fn(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), _RENAME_EXCHANGE)
    if rc == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EPERM, errno.ENOTSUP):
        return False
    raise OSError(err, os.strerror(err), str(b))


def swap_into_place(staging: Path, out_dir: Path) -> None:
    """Put the finished ``staging`` at ``out_dir``; the old release or the new one is always
    there (or, after a crash between two renames, at a name the next build recovers)."""
    staging, out_dir = Path(staging), Path(out_dir)
    if not out_dir.exists():
        os.rename(staging, out_dir)
        return
    if _exchange(staging, out_dir):
        shutil.rmtree(staging)  # now the old release; a kill here leaves it for the next run
        return
    old = staging.with_name(f".{out_dir.name}.{_OLD}{staging.name.rsplit('-', 1)[-1]}")
    os.rename(out_dir, old)
    try:
        os.rename(staging, out_dir)
    except BaseException:
        os.rename(old, out_dir)
        raise
    shutil.rmtree(old)


# -- artifacts inside the release ---------------------------------------------------------

@dataclass(frozen=True, kw_only=True)
class Materialized:
    linked: int
    copied: int


def materialize(run_dir: Path, staging: Path, paths: list[str]) -> Materialized:
    """Hard-link (or, across file systems, copy) each run file into the staging folder."""
    linked = copied = 0
    can_link = True
    made: set[Path] = set()
    checked: set[str] = set()  # folders of the run and of the staging folder found real
    for rel in paths:
        src = resolve_inside(run_dir, rel, where="artifact", checked=checked)
        dst = resolve_inside(staging, rel, where="artifact", checked=checked)
        if dst.parent not in made:
            dst.parent.mkdir(parents=True, exist_ok=True)
            made.add(dst.parent)
        if can_link:
            try:
                os.link(src, dst, follow_symlinks=False)
                linked += 1
                continue
            except OSError as exc:
                if exc.errno not in (errno.EXDEV, errno.EPERM, errno.EMLINK, errno.ENOTSUP):
                    raise
                can_link = False
        try:
            shutil.copyfile(src, dst, follow_symlinks=False)
        except OSError as exc:  # a full disk names the file being written, not the source
            error = storage_error(exc, dst)
            if error is None:
                raise
            raise error from exc
        copied += 1
    return Materialized(linked=linked, copied=copied)
