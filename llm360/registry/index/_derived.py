"""A manifest's ``derived_from``: the checkpoint of another release it continues.

Manifest v1.3 carries it (``models.DerivedFrom``: the parent release by repo, revision and
manifest sha256, the parent checkpoint by name, step, tokens and root digest, and the
relation); earlier versions do not (every release then starts in itself). The registry's
lineage graph is keyed by root digest; a fine-tune counts steps and tokens from its own start,
so its link gives no step or tokens to count from.
"""

from __future__ import annotations

from dataclasses import dataclass

from llm360.registry.manifest.models import Manifest

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


def parent_links(manifest: Manifest) -> tuple[ParentLink, ...]:
    """The ``derived_from`` link of ``manifest`` (none for a manifest without one)."""
    link = manifest.derived_from
    if link is None:
        return ()
    counts = link.relation != "finetune"
    return (ParentLink(checkpoint=link.checkpoint.name, root_digest=link.checkpoint.root_digest,
                       repo=link.release.repo, revision=link.release.revision,
                       manifest_sha256=link.release.manifest_sha256, relation=link.relation,
                       step=link.checkpoint.step if counts else None,
                       tokens_seen=link.checkpoint.tokens_seen if counts else None),)
