"""Releases on the Hub as parents: a link to a published checkpoint (``pull``, ``run
import-checkpoints --derived-from hub:ORG/NAME@CKPT``), the parent verified for ``verify`` and
``verify --hub``, and parent manifests read for ``lineage``.

A link names the commit of the parent's model repository that its manifest was read at (a
branch or tag is resolved first, then everything is read at that commit), so it keeps naming
the same manifest when ``main`` moves on.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from llm360.errors import InputError, VerificationError
from llm360.registry import layout
from llm360.registry.hub._client import HubClient
from llm360.registry.hub._layout import MAIN, MODEL
from llm360.registry.hub._repo_id import validate_repo_id
from llm360.registry.hub._source import HubSource
from llm360.registry.manifest.models import DerivedFrom, Manifest
from llm360.registry.run.derived import link_to
from llm360.registry.signing import SignatureStatus
from llm360.registry.verify.parent import VerifiedParent
from llm360.registry.verify.policy import TrustPolicy
from llm360.registry.verify.sources import MAX_RELEASE_FILE

__all__ = ["commit_of", "parse_hub_checkpoint", "hub_link", "hub_parent", "hub_manifest",
           "signed_release"]

_COMMIT = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")
_CHECKPOINT = re.compile(r"hub:([^@]+)@([^@]+)")


def commit_of(client: HubClient, repo: str, revision: str = MAIN) -> str:
    """The commit ``revision`` (a branch, a tag or a commit) of ``repo`` names now."""
    if _COMMIT.fullmatch(revision):
        return revision
    branches, tags = client.refs(repo, MODEL)
    commit = branches.get(revision) or tags.get(revision)
    if commit is None:
        raise InputError(f"hub:{repo}@{revision}: no such branch or tag",
                         hint="name a branch, a tag such as v0.1.0, or a commit")
    return commit


def parse_hub_checkpoint(text: str, *, what: str = "--derived-from") -> tuple[str, str]:
    """(ORG/NAME, checkpoint) of ``hub:ORG/NAME@ckpt_XXX``; anything else is bad input."""
    m = _CHECKPOINT.fullmatch(text or "")
    if m is None:
        raise InputError(f"{what} {text!r}: expected hub:ORG/NAME@CHECKPOINT",
                         hint="e.g. hub:acme/amber-tiny@ckpt_001")
    if layout.checkpoint_name_problem(m.group(2)) is not None:
        raise InputError(f"{what} {text!r}: {m.group(2)!r} is not a checkpoint name")
    return validate_repo_id(m.group(1), what=what), m.group(2)


def hub_link(client: HubClient, repo: str, checkpoint: str, *, policy: TrustPolicy,
             relation: str = "continuation", revision: str = MAIN,
             data_repo: str | None = None) -> tuple[DerivedFrom, HubSource]:
    """The link to ``checkpoint`` of the release at ``repo`` (its manifest read at the commit
    ``revision`` names, its signature checked under ``policy``), and the source it was read
    from (at that commit)."""
    source, raw, manifest, sig = signed_release(
        client, repo, revision=revision, data_repo=data_repo, policy=policy,
        refused="the parent release's signature does not hold")
    link = link_to(manifest, raw, checkpoint, signature=sig, relation=relation, repo=repo,
                   revision=source.revision, data_repo=source.data_repo)
    return link, source


def signed_release(client: HubClient, repo: str, *, revision: str, data_repo: str | None,
                   policy: TrustPolicy, refused: str
                   ) -> tuple[HubSource, bytes, Manifest, SignatureStatus]:
    """The release at ``repo``, read at the commit ``revision`` names: (its source at that
    commit, manifest bytes, manifest, what the signature check found). A signature that does
    not hold under ``policy`` is a ``VerificationError`` whose hint is ``refused``."""
    from llm360.registry.hub._verify import signed_manifest

    source = HubSource(client, repo, revision=commit_of(client, repo, revision),
                       data_repo=data_repo)
    raw, manifest, sig, problems = signed_manifest(source, policy)
    failing = [p for p in problems if p.code == "signature"]
    if manifest is None or failing:
        first = (failing or problems)[0]
        raise VerificationError(f"{source.description}: {first.message}", artifact=first.file,
                                hint=refused)
    return source, raw, manifest, sig


def hub_parent(client: HubClient) -> Callable[[DerivedFrom, TrustPolicy], VerifiedParent]:
    """How ``verify`` verifies a parent published on the Hub: ``verify --hub`` of the recorded
    repo at the recorded commit, under the parent's own policy."""
    from llm360.registry.hub._verify import verify_hub

    def open_parent(link: DerivedFrom, policy: TrustPolicy) -> VerifiedParent:
        if not link.release.repo:  # verify asks only for a parent published on the Hub
            raise InputError(f"{link.label}: the parent names no Hub repository")
        report, source = verify_hub(client, link.release.repo, policy=policy,
                                    revision=link.release.revision or MAIN,
                                    data_repo=link.release.data_repo)
        raw = source.read_bytes(layout.MANIFEST) or b""
        return VerifiedParent(where=source.description, manifest_bytes=raw, report=report)

    return open_parent


def hub_manifest(client: HubClient) -> Callable[[DerivedFrom], tuple[bytes, str] | None]:
    """How ``lineage`` reads a parent's manifest from the Hub (unverified: the chain checks
    each manifest's sha256 against the link that names it)."""

    def fetch(link: DerivedFrom) -> tuple[bytes, str] | None:
        if not link.release.repo:
            return None
        rev = link.release.revision or MAIN
        raw = client.read_bytes(link.release.repo, MODEL, rev, layout.MANIFEST,
                                limit=MAX_RELEASE_FILE)
        return (raw, f"hub:{link.release.repo}@{rev}") if raw is not None else None

    return fetch
