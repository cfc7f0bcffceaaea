"""Two releases side by side: checkpoints, data chunks and files added, removed or changed,
the changed configs key by key, and the benchmark rows added, removed or changed in value.

Each side is a release opened by ``verify.open.open_release`` (a release folder, or the Hub):
its manifest and ``release-files.json`` say which files the release holds, and the source says
what each file is (a folder: each file is hashed; the Hub: the sizes and sha256 of its
metadata, small files read once). Files are compared by what they are, not by what either
manifest says: a file whose bytes differ from its own manifest is named as well. Benchmark
rows are read from each side's ``benchmark_rows`` artifacts through the same source and compared
per evaluation (``BenchmarkRow.key``: checkpoint, task, metric, filter, n-shot, limit).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from llm360.errors import InputError
from llm360.registry import layout
from llm360.registry.manifest.models import Manifest
from llm360.registry.run.benchmarks import BenchmarkRow, BenchmarkRows
from llm360.registry.verify.open import OpenedRelease
from llm360.registry.verify.sources import Located

__all__ = ["Side", "FileFacts", "FileChange", "Mismatch", "FieldChange", "Keyed",
           "ConfigChange", "BenchmarkChange", "Diff", "side", "diff_releases"]

#: the release's records about itself: compared through their content, not as files
_RECORDS = frozenset({layout.MANIFEST, layout.BUNDLE, layout.RELEASE_FILES_LIST,
                      layout.PUBLICATION})
K = TypeVar("K", str, int)  # a checkpoint's name, a data chunk's index


@dataclass(frozen=True, kw_only=True)
class FileFacts:
    """One file of a side as found (not as listed)."""

    size: int | None    # None: listed, but missing where it should be
    sha256: str | None  # None: present, its digest unknown
    where: str


@dataclass(frozen=True, kw_only=True)
class Side:
    label: str
    manifest: Manifest
    read: Callable[[str], bytes | None]       # a release file's bytes by release path, or None
    listed: Mapping[str, tuple[int, str]]     # release path -> (size, sha256) as listed
    files: Mapping[str, FileFacts]            # release path -> what the file is
    benchmarks: tuple[BenchmarkRow, ...] | None = ()   # None: rows listed but not readable
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class FileChange:
    """A file of one side only (``field`` "path"), or a field of a file of both that differs."""

    path: str
    field: str                 # "path" | "size" | "sha256"
    a: int | str | None        # A's value (None: absent, or digest unknown)
    b: int | str | None
    where: str = ""            # where the changed bytes are (B's place, else A's)


@dataclass(frozen=True, kw_only=True)
class Mismatch:
    """A file of one side that is not what that side's own manifest lists."""

    side: str                  # "a" | "b"
    path: str
    field: str                 # "missing" | "size" | "sha256"
    listed: int | str | None
    found: int | str | None
    where: str


@dataclass(frozen=True, kw_only=True)
class FieldChange:
    path: str                  # JSON path
    a: object
    b: object


@dataclass(frozen=True, kw_only=True)
class Keyed(Generic[K]):
    added: tuple[K, ...] = ()
    removed: tuple[K, ...] = ()
    changed: tuple[K, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.added or self.removed or self.changed)


@dataclass(frozen=True, kw_only=True)
class ConfigChange:
    path: str
    changes: tuple[FieldChange, ...] | None   # None: not readable as JSON on one side


@dataclass(frozen=True, kw_only=True)
class BenchmarkChange:
    """One evaluation (``BenchmarkRow.key``) whose row is in one side only, or whose value
    differs."""

    checkpoint: str
    task: str
    metric: str
    filter: str
    n_shot: int | None
    limit: float | None
    a: float | None            # A's value (None: no such row in A)
    b: float | None

    @property
    def change(self) -> str:
        """"added" (in B only), "removed" (in A only) or "changed"."""
        return "added" if self.a is None else "removed" if self.b is None else "changed"

    @property
    def delta(self) -> float | None:
        return None if self.a is None or self.b is None else self.b - self.a


@dataclass(frozen=True, kw_only=True)
class Diff:
    a: str
    b: str
    release: tuple[FieldChange, ...]
    checkpoints: Keyed[str]
    data_chunks: Keyed[int]
    files: tuple[FileChange, ...]
    mismatches: tuple[Mismatch, ...]
    configs: tuple[ConfigChange, ...]
    benchmarks: tuple[BenchmarkChange, ...]
    notes: tuple[str, ...]

    @property
    def identical(self) -> bool:
        return not (self.release or self.checkpoints or self.data_chunks or self.files
                    or self.mismatches or self.benchmarks)

    def as_data(self) -> dict[str, Any]:
        def keyed(k: Keyed[str] | Keyed[int]) -> dict[str, Any]:
            return {"added": list(k.added), "removed": list(k.removed),
                    "changed": list(k.changed)}

        def change(c: FieldChange) -> dict[str, Any]:
            return {"path": c.path, "a": c.a, "b": c.b}

        return {
            "a": self.a, "b": self.b, "identical": self.identical,
            "release": [change(c) for c in self.release],
            "checkpoints": keyed(self.checkpoints), "data_chunks": keyed(self.data_chunks),
            "files": [{"path": f.path, "field": f.field, "a": f.a, "b": f.b, "where": f.where}
                      for f in self.files],
            "mismatches": [{"side": m.side, "path": m.path, "field": m.field,
                            "listed": m.listed, "found": m.found, "where": m.where}
                           for m in self.mismatches],
            "configs": [{"path": c.path, "changes": None if c.changes is None
                         else [change(x) for x in c.changes]} for c in self.configs],
            "benchmarks": [{"checkpoint": c.checkpoint, "task": c.task, "metric": c.metric,
                            "filter": c.filter, "n_shot": c.n_shot, "limit": c.limit,
                            "change": c.change, "a": c.a, "b": c.b, "delta": c.delta}
                           for c in self.benchmarks],
            "notes": list(self.notes),
        }


# ---- sides ------------------------------------------------------------------------------

def side(release: OpenedRelease, *, progress: Callable[[int], None] | None = None) -> Side:
    """The release as opened (``verify.open.open_release``): its manifest, what it lists,
    and what its files are (a folder's hashed, the Hub's from its metadata)."""
    from llm360.registry.build.release_dir import read_release_files
    from llm360.registry.verify.verifier import signed_files

    label, source = release.ref, release.source
    manifest = release.manifest
    rf_raw = source.read_bytes(layout.RELEASE_FILES_LIST)
    rf = (None if rf_raw is None else
          read_release_files(rf_raw, source=f"{release.origin}/{layout.RELEASE_FILES_LIST}"))
    listed = {p: v for p, v in signed_files(manifest, rf).items() if p not in _RECORDS}
    notes: list[str] = []
    artifacts = {a.path for a in manifest.artifacts}
    if rf is not None and rf.layout == "metadata-only" and not release.on_hub:
        notes.append(f"{label} is a metadata-only release: its artifacts are compared as its "
                     "manifest lists them (their bytes are in its run directory)")
        wanted = set(listed) - artifacts
    else:
        wanted = set(listed)
    files = _facts(source.locate(wanted, progress=progress) if wanted else [], listed)
    for path in set(listed) - wanted:
        size, sha = listed[path]
        files[path] = FileFacts(size=size, sha256=sha, where=f"{path} (as listed)")
    benchmarks = _benchmark_rows(release, notes)
    return Side(label=label, manifest=manifest, read=source.read_bytes, listed=listed,
                files=files, benchmarks=benchmarks, notes=tuple(notes))


def _benchmark_rows(release: OpenedRelease, notes: list[str]
                    ) -> tuple[BenchmarkRow, ...] | None:
    """The rows of the release's ``benchmark_rows`` artifacts as its source holds them (none
    listed: no rows); None, with a note, where one is not there or not a rows file."""
    rows: list[BenchmarkRow] = []
    for path in sorted({a.path for a in release.manifest.artifacts
                        if a.kind == "benchmark_rows"}):
        where = f"{release.origin}/{path}"
        why = f"{where}: not there"
        try:
            raw = release.source.read_bytes(path)
            if raw is not None:
                rows.extend(BenchmarkRows.from_json(raw, source=where).rows)
                continue
        except InputError as exc:
            why = exc.message
        notes.append(f"{release.ref}'s benchmarks are not compared: {why}")
        return None
    return tuple(rows)


def _facts(located: list[Located], listed: Mapping[str, tuple[int, str]]
           ) -> dict[str, FileFacts]:
    """One ``FileFacts`` per listed path: where a path has several places (the Hub's branches),
    the first place that differs from the listing stands for it, else the first place."""
    out: dict[str, FileFacts] = {}
    for loc in located:
        if loc.path is None or loc.path not in listed:
            continue  # a file nobody listed: `verify` names those
        facts = FileFacts(size=loc.size, sha256=loc.sha256, where=loc.where)
        have = out.get(loc.path)
        if have is None or (_as_listed(have, listed[loc.path])
                            and not _as_listed(facts, listed[loc.path])):
            out[loc.path] = facts
    return out


def _as_listed(facts: FileFacts, listed: tuple[int, str]) -> bool:
    return (facts.size, facts.sha256) == listed


# ---- comparing --------------------------------------------------------------------------

def _json_diff(a: object, b: object, path: str = "$") -> Iterator[FieldChange]:
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            yield from _json_diff(a.get(k), b.get(k), f"{path}.{k}")
    elif a != b:
        yield FieldChange(path=path, a=a, b=b)


def _keyed(items: Mapping[K, object], other: Mapping[K, object]) -> Keyed[K]:
    return Keyed(added=tuple(sorted(set(other) - set(items))),
                 removed=tuple(sorted(set(items) - set(other))),
                 changed=tuple(sorted(k for k in set(items) & set(other)
                                      if items[k] != other[k])))


def _mismatches(which: str, side: Side) -> list[Mismatch]:
    out = []
    for path, facts in sorted(side.files.items()):
        size, sha = side.listed[path]
        if facts.size is None:
            out.append(Mismatch(side=which, path=path, field="missing", listed=size,
                                found=None, where=facts.where))
        elif facts.size != size:
            out.append(Mismatch(side=which, path=path, field="size", listed=size,
                                found=facts.size, where=facts.where))
        elif facts.sha256 != sha:
            out.append(Mismatch(side=which, path=path, field="sha256", listed=sha,
                                found=facts.sha256, where=facts.where))
    return out


def _file_changes(a: Side, b: Side) -> list[FileChange]:
    have_a = {p: f for p, f in a.files.items() if f.size is not None}
    have_b = {p: f for p, f in b.files.items() if f.size is not None}
    out = []
    for path in sorted(set(have_a) | set(have_b)):
        fa, fb = have_a.get(path), have_b.get(path)
        if fa is None or fb is None:
            out.append(FileChange(path=path, field="path", a=path if fa else None,
                                  b=path if fb else None,
                                  where=(fb if fb is not None else have_a[path]).where))
            continue
        if fa.size != fb.size:
            out.append(FileChange(path=path, field="size", a=fa.size, b=fb.size,
                                  where=fb.where))
        if fa.sha256 != fb.sha256 or fa.sha256 is None:
            out.append(FileChange(path=path, field="sha256", a=fa.sha256, b=fb.sha256,
                                  where=fb.where))
    return out


def _benchmark_changes(a: Side, b: Side) -> tuple[BenchmarkChange, ...]:
    """Per evaluation: rows of B only, of A only, and rows of both whose values differ (none
    where a side's rows were not read)."""
    if a.benchmarks is None or b.benchmarks is None:
        return ()
    va = {r.key: r.value for r in a.benchmarks}
    vb = {r.key: r.value for r in b.benchmarks}
    out = []
    for key in sorted(set(va) | set(vb), key=_order):
        old, new = va.get(key), vb.get(key)
        if old != new:
            checkpoint, task, metric, filt, n_shot, limit = key
            out.append(BenchmarkChange(checkpoint=checkpoint, task=task, metric=metric,
                                       filter=filt, n_shot=n_shot, limit=limit, a=old, b=new))
    return tuple(out)


def _order(key: tuple[str, str, str, str, int | None, float | None]
           ) -> tuple[str, str, str, str, int, float]:
    checkpoint, task, metric, filt, n_shot, limit = key
    return (checkpoint, task, metric, filt, -1 if n_shot is None else n_shot,
            -1.0 if limit is None else limit)


def diff_releases(a: Side, b: Side) -> Diff:
    """What changed from ``a`` to ``b``."""
    ma, mb = a.manifest, b.manifest
    ck_a = {c.name: (c.root_digest, c.step, c.tokens_seen) for c in ma.checkpoints}
    ck_b = {c.name: (c.root_digest, c.step, c.tokens_seen) for c in mb.checkpoints}
    ch_a = {c.index: (c.path, c.sha256) for c in ma.data.chunks}
    ch_b = {c.index: (c.path, c.sha256) for c in mb.data.chunks}
    files = _file_changes(a, b)
    configs = []
    for path in sorted({f.path for f in files if f.field != "path"}):
        if not path.endswith(".json") or not (
                path.startswith(layout.CONFIG_DIR + "/")
                or layout.artifact_kind(path) == "checkpoint_config"):
            continue
        try:
            changes = tuple(_json_diff(_json_of(a.read(path)), _json_of(b.read(path))))
        except ValueError:
            changes = None  # not readable on one side: the file is listed as changed anyway
        configs.append(ConfigChange(path=path, changes=changes))

    def facts(m: Manifest) -> dict[str, str]:
        return {"name": m.release.name, "version": m.release.version,
                "created": m.release.created}

    return Diff(a=a.label, b=b.label,
                release=tuple(_json_diff(facts(ma), facts(mb), "$.release")),
                checkpoints=_keyed(ck_a, ck_b), data_chunks=_keyed(ch_a, ch_b),
                files=tuple(files), mismatches=tuple(_mismatches("a", a) + _mismatches("b", b)),
                configs=tuple(configs), benchmarks=_benchmark_changes(a, b),
                notes=a.notes + b.notes)


def _json_of(raw: bytes | None) -> object:
    """The JSON value of a file's bytes; ValueError when it was not read or is not JSON."""
    if raw is None:
        raise ValueError("not read")
    return json.loads(raw)
