"""A derived release's link to its parent (manifest v1.3 ``derived_from``), checked and followed.

``check_link`` is what ``verify`` (and ``verify --hub``) add for a derived release: the parent
release is found (a local release folder given with ``--parent``, else on the Hub at the
recorded repo and commit), verified with its own trust policy (``--parent-key``, or
``--parent-identity`` and ``--parent-issuer``), and must be the very manifest ``derived_from``
names (its sha256), signed by the recorded signer, listing the checkpoint with the recorded
root digest, step and tokens (and, for a ``continuation``, the same data chunks). A parent that
cannot be checked fails the link unless ``--allow-unverified-parent``, which the report prints.
Only the link to the parent is checked: the parent's own ``derived_from`` is the parent's
business (verify it in turn).

``parent_chain`` follows ``derived_from`` from release to release (for ``lineage``), iteratively
and at most ``MAX_GENERATIONS`` deep, each parent manifest found by its sha256 (so the chain is
hash-linked from the release one trusts).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from llm360.errors import Llm360Error
from llm360.registry import layout
from llm360.registry.manifest.models import DerivedFrom, Manifest, ParentSigner
from llm360.registry.manifest.problems import Problem
from llm360.registry.manifest.serialize import manifest_from_bytes, read_bytes
from llm360.registry.run.derived import signer_of
from llm360.registry.verify.policy import TrustPolicy

if TYPE_CHECKING:
    from llm360.registry.verify.verifier import Report

__all__ = ["ParentCheck", "VerifiedParent", "LinkSummary", "LinkResult", "Generation",
           "MAX_GENERATIONS", "check_link", "parent_chain", "local_manifest", "chain_text",
           "local_link"]

#: how many releases ``parent_chain`` follows up from a release at most
MAX_GENERATIONS = 32
#: the largest parent manifest read (as for a release folder)
_MAX_MANIFEST = 64 << 20


@dataclass(frozen=True, kw_only=True)
class VerifiedParent:
    """A parent release found and verified: where, its manifest's bytes, the report."""

    where: str
    manifest_bytes: bytes
    report: Report


@dataclass(frozen=True, kw_only=True)
class ParentCheck:
    """How ``verify`` checks the link of a derived release.

    ``policy``: the parent's own signer (``--parent-key``, or ``--parent-identity`` and
    ``--parent-issuer``; None when not given: the parent cannot be checked); ``folders``: local
    parent releases (``--parent``; the one whose manifest has the recorded sha256 is used);
    ``hub``: verifies a parent published on the Hub (None: the Hub is not read);
    ``allow_unverified``: a parent that cannot be checked is printed, not a failure."""

    policy: TrustPolicy | None = None
    folders: tuple[Path, ...] = ()
    hub: Callable[[DerivedFrom, TrustPolicy], VerifiedParent] | None = None
    allow_unverified: bool = False


@dataclass(frozen=True, kw_only=True)
class LinkSummary:
    """A derived release's link as the report shows it: the parent checkpoint (``link``), the
    relation, where the parent is; once ``checked``, where it was verified and who signed it."""

    link: str
    relation: str
    parent: str
    checked: bool = False
    where: str | None = None
    signer: str | None = None

    def as_data(self) -> dict[str, Any]:
        data: dict[str, Any] = {"link": self.link, "relation": self.relation,
                                "parent": self.parent, "checked": self.checked}
        if self.checked:
            data.update(where=self.where, signer=self.signer)
        return data


@dataclass(frozen=True, kw_only=True)
class LinkResult:
    """What ``check_link`` found (``summary`` None: the release derives from none)."""

    problems: tuple[Problem, ...] = ()
    notes: tuple[str, ...] = ()
    summary: LinkSummary | None = None
    opt_outs: tuple[str, ...] = ()


def _local(link: DerivedFrom, folders: tuple[Path, ...]) -> tuple[Path, bytes] | None:
    """(folder, manifest bytes) of the given release folder whose manifest is the parent's;
    None when none is given. A folder given that is not the parent is a failure."""
    if not folders:
        return None
    seen = []
    for folder in folders:
        path, raw = local_manifest(folder)
        sha = hashlib.sha256(raw).hexdigest()
        if sha == link.release.manifest_sha256:
            return path.parent, raw
        seen.append(f"{folder} (manifest sha256 {sha[:16]}...)")
    raise _NotTheParent(f"--parent {', '.join(seen)} is not the parent release: derived_from "
                        f"records manifest sha256 {link.release.manifest_sha256}")


class _NotTheParent(Exception):
    pass


def local_manifest(folder: Path) -> tuple[Path, bytes]:
    """(manifest path, bytes) of a release folder or a manifest.json path."""
    path = Path(folder)
    if path.is_dir():
        path = path / layout.MANIFEST
    return path, read_bytes(path, str(path), limit=_MAX_MANIFEST)


def local_link(spec: str, *, policy: TrustPolicy, relation: str) -> DerivedFrom:
    """The link to a checkpoint of a local release folder, ``RELEASE@CHECKPOINT``: the release
    is verified under ``policy`` first (a release that fails is a ``VerificationError``)."""
    from llm360.errors import InputError, VerificationError
    from llm360.registry.run.derived import link_to
    from llm360.registry.verify.verifier import verify_release

    folder, sep, name = str(spec).rpartition("@")
    if not sep or not folder or not name:
        raise InputError(f"--derived-from {spec!r}: expected hub:ORG/NAME@CHECKPOINT or "
                         "RELEASE_FOLDER@CHECKPOINT")
    path, raw = local_manifest(Path(folder))
    report = verify_release(path, policy=policy)
    if not report.ok:
        raise VerificationError(f"{folder}: the parent release does not verify: "
                                f"{report.failures[0].message}", artifact=layout.MANIFEST,
                                hint=f"run `llm360 verify {folder}` for the full report")
    if hashlib.sha256(raw).hexdigest() != report.manifest_sha256:
        raise VerificationError(f"{path}: changed while it was verified")
    manifest = manifest_from_bytes(raw, source=str(path))
    return link_to(manifest, raw, name, signature=report.signature, relation=relation)


def _signer_text(signer: ParentSigner) -> str:
    if signer.method == "key":
        return f"key {signer.key_fingerprint or '?'}"
    if signer.method == "sigstore":
        return f"{signer.identity} ({signer.issuer})"
    return "nobody (unsigned)"


def check_link(manifest: Manifest, check: ParentCheck | None) -> LinkResult:
    """The problems, notes and summary of ``manifest``'s link to its parent release (nothing
    for a release that derives from none). ``check`` None: the caller does not check links
    (``push``/``export``/``card`` verify the release's own bytes): a note says so."""
    link = manifest.derived_from
    if link is None:
        return LinkResult()
    summary = LinkSummary(link=link.label, relation=link.relation, parent=link.location)
    if check is None:
        return LinkResult(summary=summary, notes=(
            f"derived_from ({link.relation} of {link.label}) was not checked here: "
            "`llm360 verify` checks the link",))
    head = f"derived_from {link.label} ({link.location})"

    def fail(*messages: str) -> LinkResult:
        return LinkResult(summary=summary, problems=tuple(
            Problem(code="parent", file=layout.MANIFEST, json_path="$.derived_from",
                    message=f"{head}: {message}") for message in messages))

    def cannot(why: str) -> LinkResult:
        if check.allow_unverified:
            return LinkResult(summary=summary, opt_outs=("--allow-unverified-parent",), notes=(
                f"the parent link was NOT checked (--allow-unverified-parent): {head}: {why}",))
        return fail(f"cannot be checked: {why} (or pass --allow-unverified-parent)")

    if check.policy is None:
        return cannot("the parent's signer is not given: pass --parent-key PUB.pem, or "
                      "--parent-identity and --parent-issuer")
    try:
        found = _find(link, check, check.policy)
    except _NotTheParent as exc:
        return fail(str(exc))
    except Llm360Error as exc:
        return cannot(f"the parent release cannot be read: {exc.message}")
    if found is None:
        return cannot("the parent release is not at hand: pass --parent PATH (its release "
                      "folder)" + ("" if link.release.repo else "; it was not published on "
                               "the Hub"))
    mismatches = _mismatches(link, found)
    if mismatches:
        return fail(*mismatches)
    signer = _signer_text(signer_of(found.report.signature))
    want = link.checkpoint
    return LinkResult(
        summary=replace(summary, checked=True, where=found.where, signer=signer),
        notes=(f"parent link verified: {link.relation} of {link.label} (root digest "
               f"{want.root_digest[:16]}..., step {want.step}), in {found.where}, signed "
               f"by {signer}",))


def _find(link: DerivedFrom, check: ParentCheck, policy: TrustPolicy) -> VerifiedParent | None:
    local = _local(link, check.folders)
    if local is not None:
        from llm360.registry.verify.verifier import verify_release

        folder, raw = local
        report = verify_release(folder, policy=policy)
        return VerifiedParent(where=str(folder), manifest_bytes=raw, report=report)
    if link.release.repo and check.hub is not None:
        return check.hub(link, policy)
    return None


def _mismatches(link: DerivedFrom, found: VerifiedParent) -> list[str]:
    """How the parent ``found`` differs from what ``link`` records (empty: it is the one)."""
    sha = hashlib.sha256(found.manifest_bytes).hexdigest()
    if link.release.manifest_sha256 not in (sha, ) or found.report.manifest_sha256 != sha:
        return [f"{found.where} serves a manifest of sha256 {found.report.manifest_sha256}, "
                f"not the {link.release.manifest_sha256} derived_from records"]
    if not found.report.ok:
        first = found.report.failures[0]
        more = len(found.report.failures) - 1
        return [f"the parent release {found.where} does not verify: {first.message}"
                + (f" (and {more} more)" if more else "")]
    out: list[str] = []
    signer = signer_of(found.report.signature)
    if signer != link.release.signer:
        out.append(f"the parent is signed by {_signer_text(signer)}, derived_from records "
                   f"{_signer_text(link.release.signer)}")
    parent = manifest_from_bytes(found.manifest_bytes,
                                 source=f"{found.where}/{layout.MANIFEST}")
    rel = parent.release
    if (rel.name, rel.version) != (link.release.name, link.release.version):
        out.append(f"the parent manifest is {rel.name} {rel.version}, derived_from records "
                   f"{link.release.name} {link.release.version}")
    ckpt = parent.checkpoint(link.checkpoint.name)
    want = link.checkpoint
    if ckpt is None:
        return [*out, f"the parent release does not list checkpoint {want.name}"]
    if ckpt.root_digest != want.root_digest:
        out.append(f"the parent lists {want.name} with root digest {ckpt.root_digest}, not "
                   f"the {want.root_digest} derived_from records")
    if (ckpt.step, ckpt.tokens_seen) != (want.step, want.tokens_seen):
        out.append(f"the parent lists {want.name} at step {ckpt.step} with {ckpt.tokens_seen} "
                   f"tokens seen, derived_from records step {want.step} with {want.tokens_seen}")
    return out


@dataclass(frozen=True, kw_only=True)
class Generation:
    """One step up a chain of releases: the link followed, and the parent's manifest (None
    where it could not be read: ``note`` says why)."""

    link: DerivedFrom
    manifest: Manifest | None
    where: str | None = None
    note: str | None = None


def parent_chain(manifest: Manifest, fetch: Callable[[DerivedFrom], tuple[bytes, str] | None],
                 *, limit: int = MAX_GENERATIONS) -> list[Generation]:
    """The releases ``manifest`` descends from, nearest first: each parent manifest read by
    ``fetch(link)`` ((bytes, where) or None when not at hand) and accepted only with the
    recorded sha256. Stops at a release that derives from none, one not at hand, a cycle, or
    after ``limit`` generations."""
    out: list[Generation] = []
    seen: set[str] = set()
    link = manifest.derived_from
    while link is not None:
        if len(out) >= limit:
            out.append(Generation(link=link, manifest=None,
                                  note=f"not followed further: more than {limit} generations"))
            break
        sha = link.release.manifest_sha256
        if sha in seen:
            out.append(Generation(link=link, manifest=None, note="a cycle of releases"))
            break
        seen.add(sha)
        try:
            got = fetch(link)
        except (Llm360Error, _NotTheParent) as exc:
            out.append(Generation(link=link, manifest=None,
                                  note=f"not read: {getattr(exc, 'message', exc)}"))
            break
        if got is None:
            out.append(Generation(link=link, manifest=None, note="its manifest is not at hand "
                                  "(pass --parent PATH, or reach the Hub)"))
            break
        raw, where = got
        if hashlib.sha256(raw).hexdigest() != sha:
            out.append(Generation(link=link, manifest=None, where=where, note=(
                f"{where} is not the manifest derived_from records (sha256 {sha[:16]}...)")))
            break
        parent = manifest_from_bytes(raw, source=f"{where}/{layout.MANIFEST}")
        out.append(Generation(link=link, manifest=parent, where=where))
        link = parent.derived_from
    return out


def chain_text(manifest: Manifest, chain: list[Generation]) -> str:
    """``ORG/NAME@ckpt_001 -> ORG/NAME2@ckpt_002 -> ckpt_003 (this release)``: the oldest
    release first."""
    link = manifest.derived_from
    if link is None:
        return ""
    firsts = [c.name for c in manifest.checkpoints if link.checkpoint.name in c.parents]
    parts = [g.link.label + (f" [{g.note}]" if g.note else "") for g in reversed(chain)]
    if not chain:
        parts = [link.label]
    return " -> ".join([*parts, f"{', '.join(firsts) or '?'} (this release)"])
