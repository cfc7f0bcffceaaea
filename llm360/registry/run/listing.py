"""List a run directory: its regular files, and each symbolic link as a problem.

Kept apart from reading the run's records (``reader``): a build lists the run and starts hashing
it before it imports what parses and validates the records.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

from llm360.errors import InputError, UnsafePathError
from llm360.registry import layout
from llm360.registry.manifest.problems import Problem

__all__ = ["RunListing", "list_run", "walk_files"]


def _link(rel: str, path: Path) -> Problem:
    message = "symbolic link in the run directory"
    return Problem(code="link", file=rel, message=message,
                   error=UnsafePathError(f"{path}: {message}",
                                         hint="copy the target in place of the link"))


def walk_files(root: Path, problems: list[Problem]) -> list[str]:
    """Regular files below ``root`` (sorted, relative POSIX; ``.git`` and ``.llm360`` left
    out); each symbolic link is a problem, not followed."""
    out: list[str] = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        base = Path(dirpath)
        keep = []
        for d in sorted(dirnames):
            if d in layout.IGNORED_DIRS:
                continue
            if (base / d).is_symlink():
                rel = (base / d).relative_to(root).as_posix()
                problems.append(_link(rel, base / d))
                continue
            keep.append(d)
        dirnames[:] = keep
        for name in filenames:
            path = base / name
            st = os.lstat(path)
            rel = path.relative_to(root).as_posix()
            if stat.S_ISLNK(st.st_mode):
                problems.append(_link(rel, path))
            elif stat.S_ISREG(st.st_mode):
                out.append(rel)
    out.sort()
    return out


@dataclass(frozen=True, kw_only=True)
class RunListing:
    """The regular files of a run directory and the links found while listing it."""

    root: Path
    files: tuple[str, ...]
    problems: tuple[Problem, ...]


def list_run(root: Path) -> RunListing:
    """List the run directory at ``root`` (a missing or non-directory ``root`` raises
    ``InputError`` at once); ``scan_run`` takes the listing to validate what it lists."""
    root = Path(root)
    if not root.exists():
        raise InputError(f"{root}: run directory not found",
                         hint="pass the folder that `llm360 train` wrote (or one of its layout)")
    if not root.is_dir():
        raise InputError(f"{root}: not a directory")
    problems: list[Problem] = []
    files = walk_files(root, problems)
    return RunListing(root=root, files=tuple(files), problems=tuple(problems))
