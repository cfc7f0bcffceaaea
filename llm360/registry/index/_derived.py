"""A manifest's ``derived_from``: the checkpoints of other releases it continues.

Manifest v1 and v1.1 have no such field (every release then starts in itself), so this reads it
where a newer manifest version carries it, as one link or a tuple of links, each naming the
parent checkpoint and its root digest (directly, or through a nested ``checkpoint`` record) and
the parent release by repo or location, revision and manifest sha256 (directly, or through a
nested ``release`` record). A link without a checkpoint name and a root digest links nothing
(the registry's lineage graph is keyed by root digest) and is left out.
"""

from __future__ import annotations

from dataclasses import dataclass

from llm360.registry.models import Manifest

__all__ = ["ParentLink", "parent_links"]


@dataclass(frozen=True, kw_only=True)
class ParentLink:
    """A checkpoint of another release that a release derives from."""

    checkpoint: str
    root_digest: str
    repo: str | None = None
    revision: str | None = None
    manifest_sha256: str | None = None
    relation: str | None = None
    step: int | None = None
    tokens_seen: int | None = None


def _first(obj: object, *names: str) -> object:
    for name in names:
        value = getattr(obj, name, None)
        if value is not None:
            return value
    return None


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _count(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _link(item: object) -> ParentLink | None:
    ckpt = _first(item, "checkpoint", "parent_checkpoint")
    release = _first(item, "release", "parent")
    name = _text(ckpt) or _text(_first(ckpt, "name"))
    digest = _text(_first(item, "root_digest")) or _text(_first(ckpt, "root_digest"))
    if name is None or digest is None:
        return None

    def either(*names: str) -> object:
        return _first(item, *names) if _first(item, *names) is not None \
            else _first(release, *names)

    return ParentLink(
        checkpoint=name, root_digest=digest,
        repo=_text(either("repo", "repository", "location", "path")),
        revision=_text(either("revision", "commit")),
        manifest_sha256=_text(either("manifest_sha256")),
        relation=_text(_first(item, "relation", "kind")),
        step=_count(_first(item, "step")) if _first(item, "step") is not None
        else _count(_first(ckpt, "step")),
        tokens_seen=_count(_first(item, "tokens_seen")) if _first(item, "tokens_seen") is not None
        else _count(_first(ckpt, "tokens_seen")))


def parent_links(manifest: Manifest) -> tuple[ParentLink, ...]:
    """The ``derived_from`` links of ``manifest`` (none for a manifest without the field)."""
    value = getattr(manifest, "derived_from", None)
    if value is None:
        return ()
    items = value if isinstance(value, (tuple, list)) else (value,)
    return tuple(link for link in map(_link, items) if link is not None)
