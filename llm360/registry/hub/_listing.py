"""The Hub's answers about a repository (refs, tree listings) read as typed records, each
field checked: a listing that is not what the Hub API returns (``size`` as text, ``path:
null``, an ``lfs`` that is not an object, a path with '..') is a ``VerificationError`` naming
the entry, never a crash. No huggingface_hub import here."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, TypeGuard

from llm360.errors import UnsafePathError, VerificationError
from llm360.registry._files import check_relpath
from llm360.registry.manifest.serialize import INT64_MAX

__all__ = ["RemoteFile", "malformed", "parse_refs", "parse_tree_page"]

_GIT_OID = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")
_SHA256 = re.compile(r"[0-9a-f]{64}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True, kw_only=True)
class RemoteFile:
    """A file as the Hub's tree listing describes it."""

    path: str
    size: int
    git_oid: str
    sha256: str | None  # LFS / Xet-backed files: the Hub says it; regular files: None


def malformed(where: str, detail: str) -> VerificationError:
    return VerificationError(f"{where}: the Hub's answer is malformed: {detail}",
                             hint="the endpoint does not answer as the Hub API does: nothing "
                                  "it serves there can be verified")


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _plain(text: object, pattern: re.Pattern[str]) -> TypeGuard[str]:
    return isinstance(text, str) and pattern.fullmatch(text) is not None


def _entry(item: Any, where: str, i: int) -> RemoteFile | None:
    """One tree entry: a ``RemoteFile``, None for a directory."""
    if not isinstance(item, dict):
        raise malformed(where, f"entry {i} is {_shown(item)}, not an object")
    kind = item.get("type")
    if kind == "directory":
        return None
    if kind != "file":
        raise malformed(where, f"entry {i}: type {_shown(kind)} is neither 'file' nor "
                               "'directory'")
    path = item.get("path")
    try:
        if not isinstance(path, str) or _CONTROL.search(path) or len(path) > 4096:
            raise UnsafePathError("")
        check_relpath(path)
    except UnsafePathError:
        raise malformed(where, f"entry {i}: path {_shown(path)} is not a relative path"
                        ) from None
    size = item.get("size")
    if type(size) is not int or not 0 <= size <= INT64_MAX:
        raise malformed(where, f"{path}: size {_shown(size)} is not a byte count")
    oid = item.get("oid")
    if not _plain(oid, _GIT_OID):
        raise malformed(where, f"{path}: oid {_shown(oid)} is not a git blob id")
    lfs = item.get("lfs")
    if lfs is not None and not (isinstance(lfs, dict) and _plain(lfs.get("oid"), _SHA256)):
        raise malformed(where, f"{path}: lfs {_shown(lfs)} is not an object with a sha256 "
                               "oid")
    return RemoteFile(path=path, size=size, git_oid=oid,
                      sha256=lfs["oid"] if lfs is not None else None)


def parse_tree_page(data: Any, where: str) -> list[RemoteFile]:
    """The files of one page of ``GET /api/{type}s/{repo}/tree/{rev}?recursive=true``."""
    if not isinstance(data, list):
        raise malformed(where, f"the tree listing is {type(data).__name__}, not a list")
    return [f for i, item in enumerate(data) if (f := _entry(item, where, i)) is not None]


def parse_refs(data: Any, where: str) -> tuple[dict[str, str], dict[str, str]]:
    """({branch: commit}, {tag: commit}) of ``GET /api/{type}s/{repo}/refs``."""
    if not isinstance(data, dict):
        raise malformed(where, f"the refs are {type(data).__name__}, not an object")
    out: list[dict[str, str]] = []
    for key in ("branches", "tags"):
        items = data.get(key, [])
        if not isinstance(items, list):
            raise malformed(where, f"{key} is {_shown(items)}, not a list")
        refs: dict[str, str] = {}
        for i, ref in enumerate(items):
            name = ref.get("name") if isinstance(ref, dict) else None
            commit = ref.get("targetCommit") if isinstance(ref, dict) else None
            if not isinstance(name, str) or not name or _CONTROL.search(name) \
                    or not _plain(commit, _GIT_OID):
                raise malformed(where, f"{key}[{i}] is {_shown(ref)}, not a ref with a name "
                                       "and a targetCommit")
            refs[name] = commit
        out.append(refs)
    return out[0], out[1]
