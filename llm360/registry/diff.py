"""Two releases side by side: checkpoints, data chunks and files added, removed or changed, and
the changed configs key by key. Each side is a manifest plus a way to read its small files
(a release folder, or the Hub through ``hub.HubSource.read_bytes``)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from llm360.errors import InputError
from llm360.registry import layout
from llm360.registry.models import Manifest
from llm360.registry.serialize import manifest_from_bytes

__all__ = ["Side", "local_side", "side_from_bytes", "diff_releases"]


@dataclass(frozen=True, kw_only=True)
class Side:
    label: str
    manifest: Manifest
    read: Callable[[str], bytes | None]   # a release file's bytes by release path, or None


def side_from_bytes(label: str, raw: bytes | None,
                    read: Callable[[str], bytes | None]) -> Side:
    if raw is None:
        raise InputError(f"{label}: no {layout.MANIFEST} there")
    return Side(label=label,
                manifest=manifest_from_bytes(raw, source=f"{label}/{layout.MANIFEST}"),
                read=read)


def local_side(path: Path) -> Side:
    """A manifest file or a release folder."""
    path = Path(path)
    manifest_path = path / layout.MANIFEST if path.is_dir() else path
    try:
        raw = manifest_path.read_bytes()
    except OSError as exc:
        raise InputError(f"{manifest_path}: cannot read the manifest ({exc.strerror})") from None
    root = manifest_path.parent

    def read(rel: str) -> bytes | None:
        try:
            return (root / rel).read_bytes()
        except OSError:
            return None

    return side_from_bytes(str(manifest_path), raw, read)


def _json_diff(a, b, path: str = "$"):
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            yield from _json_diff(a.get(k), b.get(k), f"{path}.{k}")
    elif a != b:
        yield {"path": path, "a": a, "b": b}


def _keyed(items: dict, other: dict) -> dict:
    return {"added": sorted(set(other) - set(items)), "removed": sorted(set(items) - set(other)),
            "changed": sorted(k for k in set(items) & set(other) if items[k] != other[k])}


def diff_releases(a: Side, b: Side) -> dict:
    """What changed from ``a`` to ``b`` (JSON-ready)."""
    ma, mb = a.manifest, b.manifest
    arts_a = {x.path: (x.size, x.sha256) for x in ma.artifacts}
    arts_b = {x.path: (x.size, x.sha256) for x in mb.artifacts}
    ck_a = {c.name: (c.root_digest, c.step, c.tokens_seen) for c in ma.checkpoints}
    ck_b = {c.name: (c.root_digest, c.step, c.tokens_seen) for c in mb.checkpoints}
    ch_a = {c.index: (c.path, c.sha256) for c in ma.data.chunks}
    ch_b = {c.index: (c.path, c.sha256) for c in mb.data.chunks}
    files = _keyed(arts_a, arts_b)
    configs = []
    for path in files["changed"]:
        if not path.endswith(".json") or not (
                path.startswith(layout.CONFIG_DIR + "/")
                or layout.artifact_kind(path) == "checkpoint_config"):
            continue
        raw_a, raw_b = a.read(path), b.read(path)
        try:
            changes = list(_json_diff(json.loads(raw_a), json.loads(raw_b)))
        except (TypeError, ValueError):
            changes = None  # not readable on one side: the file is listed as changed anyway
        configs.append({"path": path, "changes": changes})
    release = [c for c in _json_diff({"name": ma.release.name, "version": ma.release.version,
                                      "created": ma.release.created},
                                     {"name": mb.release.name, "version": mb.release.version,
                                      "created": mb.release.created}, "$.release")]
    ckpts = _keyed(ck_a, ck_b)
    chunks = _keyed(ch_a, ch_b)
    same = not (release or any(ckpts.values()) or any(chunks.values()) or any(files.values()))
    return {"a": a.label, "b": b.label, "identical": same, "release": release,
            "checkpoints": ckpts, "data_chunks": chunks, "files": files, "configs": configs}
