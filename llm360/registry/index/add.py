"""``registry add`` and ``registry verify``: verify a release with the verifier of ``llm360
verify`` (a folder) or ``verify --hub`` (``hub:ORG/NAME[@REV]``), then index it from its signed
manifest in one transaction, with a verification event.

An unverified release is refused unless ``allow_unverified`` (recorded in the event). Adding a
release already indexed (same manifest sha256) records a new event and changes nothing else.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.engine import Connection

from llm360.errors import InputError, Llm360Error, VerificationError
from llm360.registry import layout
from llm360.registry.index import _schema as t
from llm360.registry.index._writer import (
    Placement,
    Policy,
    Signer,
    index_manifest,
    policy_of,
    record_event,
)
from llm360.registry.index.records import AddResult, ReleaseRef, ReverifyResult, VerificationEvent
from llm360.registry.index.store import Store, utc_now
from llm360.registry.manifest.models import DerivedFrom
from llm360.registry.verify.parent import ParentCheck, VerifiedParent
from llm360.registry.verify.policy import TrustPolicy
from llm360.registry.verify.verifier import Report

if TYPE_CHECKING:
    from llm360.registry.hub import HubClient

__all__ = ["HubConnector", "Checked", "check_release", "add_release", "reverify",
           "policy_record", "trust_policy", "parent_check"]

#: endpoint (None: the default) -> a ``llm360.registry.hub.HubClient``
HubConnector = Callable[[str | None], "HubClient"]

_SHOWN_PROBLEMS = 5


@dataclass(frozen=True, kw_only=True)
class Checked:
    """A release verified where it was found: the report and the manifest bytes it covers."""

    report: Report
    manifest_bytes: bytes
    placement: Placement

    @property
    def signer(self) -> Signer:
        # the verifier's report keeps what the signature check found as its ``signature``
        # (``llm360.registry.signing.SignatureStatus``); this is the one place it is read
        sig = self.report.signature
        if not sig.verified:
            return Signer()
        if sig.method == "key":
            return Signer(method="key", name=sig.key_fingerprint)
        return Signer(method="keyless", name=sig.identity, issuer=sig.issuer)

    @property
    def problems(self) -> tuple[str, ...]:
        return tuple(p.message for p in self.report.failures)

    def summary(self) -> str:
        if self.report.ok:
            return "verified" + (f" ({', '.join(self.report.opt_outs)})"
                                 if self.report.opt_outs else "")
        shown = "; ".join(self.problems[:_SHOWN_PROBLEMS])
        more = len(self.problems) - _SHOWN_PROBLEMS
        return f"FAILED: {shown}" + (f"; and {more} more" if more > 0 else "")


def _hub_spec(spec: str) -> tuple[str, str]:
    repo, _, rev = spec[len("hub:"):].partition("@")
    if repo.count("/") != 1 or not all(repo.split("/")):
        raise InputError(f"{spec}: expected hub:ORG/NAME or hub:ORG/NAME@REV")
    return repo, rev or "main"


def check_release(spec: str, policy: TrustPolicy, *, parent: ParentCheck | None = None,
                  hub: HubConnector | None = None, endpoint: str | None = None) -> Checked:
    """Verify the release at ``spec``: a release folder (or its manifest.json), or
    ``hub:ORG/NAME[@REV]`` read through ``hub(endpoint)``; ``parent``: how a derived
    release's link to its parent is checked (as ``verify`` takes it)."""
    if spec.startswith("hub:"):
        from llm360.registry.hub import verify_hub

        repo, rev = _hub_spec(spec)
        if hub is None:
            raise InputError(f"{spec}: no Hub client to read it with")
        client = hub(endpoint)
        report, source = verify_hub(client, repo, policy=policy, revision=rev, parent=parent)
        raw = source.read_bytes(layout.MANIFEST) or b""
        placement = Placement(location=f"hub:{repo}@{rev}", endpoint=client.endpoint, repo=repo)
    else:
        from llm360.registry.verify.verifier import verify_release

        path = Path(spec)
        report = verify_release(path, policy=policy, parent=parent)  # bad paths: InputError
        manifest_path = path / layout.MANIFEST if path.is_dir() else path
        folder = manifest_path.parent
        raw = manifest_path.read_bytes()
        placement = Placement(location=str(folder.resolve()))
    if hashlib.sha256(raw).hexdigest() != report.manifest_sha256:
        raise VerificationError(f"{spec}: the manifest changed while it was being verified",
                                hint="run the command again")
    return Checked(report=report, manifest_bytes=raw, placement=placement)


def policy_record(policy: TrustPolicy, parent: ParentCheck | None = None) -> Policy:
    """``policy`` (and a derived release's ``parent`` check) as a verification event records
    it."""
    signer = parent.policy if parent is not None else None
    return Policy(key=str(Path(policy.key).resolve()) if policy.key else None,
                  parent_key=str(Path(signer.key).resolve()) if signer and signer.key else None,
                  parent_identity=signer.identity if signer else None,
                  parent_issuer=signer.issuer if signer else None,
                  allow_unverified_parent=bool(parent and parent.allow_unverified),
                  identity=policy.identity, issuer=policy.issuer,
                  trust_config=str(Path(policy.trust_config).resolve())
                  if policy.trust_config else None,
                  offline=policy.offline, staging=policy.staging,
                  allow_unsigned=policy.allow_unsigned, allow_extra=policy.allow_extra)


def parent_check(recorded: Policy, hub: HubConnector | None,
                 endpoint: str | None) -> ParentCheck:
    """The ``ParentCheck`` a recorded policy stands for (a parent on the Hub is read through
    ``hub``; parent folders are not recorded)."""
    signer = None
    if recorded.parent_key or recorded.parent_identity:
        signer = TrustPolicy(key=Path(recorded.parent_key) if recorded.parent_key else None,
                             identity=recorded.parent_identity, issuer=recorded.parent_issuer,
                             offline=recorded.offline, staging=recorded.staging,
                             trust_config=Path(recorded.trust_config) if recorded.trust_config
                             else None)
    opener: Callable[[DerivedFrom, TrustPolicy], VerifiedParent] | None = None
    if hub is not None:
        def open_parent(link: DerivedFrom, parent_policy: TrustPolicy) -> VerifiedParent:
            from llm360.registry.hub import hub_parent

            return hub_parent(hub(endpoint))(link, parent_policy)

        opener = open_parent
    return ParentCheck(policy=signer, hub=opener,
                       allow_unverified=recorded.allow_unverified_parent)


def trust_policy(recorded: Policy) -> TrustPolicy:
    """The ``TrustPolicy`` a recorded one stands for."""
    return TrustPolicy(key=Path(recorded.key) if recorded.key else None,
                       identity=recorded.identity, issuer=recorded.issuer,
                       trust_config=Path(recorded.trust_config) if recorded.trust_config
                       else None, offline=recorded.offline, staging=recorded.staging,
                       allow_unsigned=recorded.allow_unsigned, allow_extra=recorded.allow_extra)


def _ref(conn: Connection, release_id: int) -> ReleaseRef:
    r = t.releases.c
    row = conn.execute(select(r.id, r.name, r.version, r.manifest_sha256, r.repo)
                       .where(r.id == release_id)).one()
    return ReleaseRef(id=row.id, name=row.name, version=row.version,
                      manifest_sha256=row.manifest_sha256, repo=row.repo)


def _event(checked: Checked, *, at: str, action: str, ok: bool, allow_unverified: bool,
           policy: Policy, summary: str) -> VerificationEvent:
    return VerificationEvent(at=at, action=action, location=checked.placement.location, ok=ok,
                             allow_unverified=allow_unverified, signer=checked.signer.label,
                             policy=policy.label, summary=summary)


def _record(conn: Connection, release_id: int, event: VerificationEvent, checked: Checked,
            policy: Policy) -> None:
    record_event(conn, release_id=release_id, at=event.at, action=event.action,
                 location=event.location, ok=event.ok, allow_unverified=event.allow_unverified,
                 signer=checked.signer, summary=event.summary, policy=policy)


def add_release(store: Store, spec: str, *, policy: TrustPolicy,
                parent: ParentCheck | None = None, hub: HubConnector | None = None,
                endpoint: str | None = None, allow_unverified: bool = False) -> AddResult:
    """Verify ``spec`` and index it (see the module's docstring)."""
    from llm360.registry.manifest.serialize import manifest_from_bytes

    checked = check_release(spec, policy, parent=parent, hub=hub, endpoint=endpoint)
    recorded = policy_record(policy, parent)
    ok = checked.report.ok
    at = utc_now()
    event = _event(checked, at=at, action="add", ok=ok,
                   allow_unverified=allow_unverified and not ok, policy=recorded,
                   summary=checked.summary())
    sha = checked.report.manifest_sha256
    if not ok and not allow_unverified:
        with store.write() as conn:
            known = conn.execute(select(t.releases.c.id).where(
                t.releases.c.manifest_sha256 == sha)).scalar()
            if known is not None:
                _record(conn, known, event, checked, recorded)
        raise VerificationError(
            f"{spec} does not verify, not indexed: {'; '.join(checked.problems[:3]) or 'failed'}",
            hint="run `llm360 verify` on it to see every problem, or pass --allow-unverified to "
                 "index it anyway (recorded as unverified)")
    manifest = manifest_from_bytes(checked.manifest_bytes,
                                   source=f"{checked.placement.location}/{layout.MANIFEST}")
    with store.write() as conn:
        release_id, new = index_manifest(conn, store, manifest, manifest_sha256=sha,
                                         placement=checked.placement, signer=checked.signer,
                                         now=at)
        _record(conn, release_id, event, checked, recorded)
        ref = _ref(conn, release_id)
    if new:
        store.analyze()
    return AddResult(release=ref, new=new, event=event, problems=checked.problems)


def _latest_policies(conn: Connection, release_ids: list[int]) -> dict[int, Policy]:
    v = t.verifications.c
    newest = select(v.release_id, v.id).where(v.release_id.in_(release_ids)) \
        .order_by(v.release_id, v.id)
    ids = {rid: vid for rid, vid in conn.execute(newest).all()}
    rows = conn.execute(select(t.verifications).where(v.id.in_(list(ids.values())))).all()
    out = {row.release_id: policy_of(row) for row in rows}
    return out


def reverify(store: Store, release_ids: list[int], *, policy: TrustPolicy | None = None,
             parent: ParentCheck | None = None, hub: HubConnector | None = None,
             endpoint: str | None = None) -> ReverifyResult:
    """Verify each release again where it was found (a Hub release on ``endpoint`` if given,
    else the one it was added from), under ``policy`` (default: the policy it was last
    verified with), and record each outcome. A location that now holds another manifest, or
    none, fails."""
    r = t.releases.c
    with store.read() as conn:
        rows = conn.execute(select(r.id, r.location, r.endpoint, r.manifest_sha256)
                            .where(r.id.in_(release_ids)).order_by(r.id)).all()
        recorded = _latest_policies(conn, release_ids)
    outcomes: list[AddResult] = []
    for row in rows:
        used = policy_record(policy, parent) if policy is not None \
            else recorded.get(row.id, Policy())
        at = utc_now()
        where = endpoint or row.endpoint
        try:
            checked = check_release(row.location, trust_policy(used),
                                    parent=parent or parent_check(used, hub, where), hub=hub,
                                    endpoint=where)
        except Llm360Error as exc:
            event = VerificationEvent(at=at, action="reverify", location=row.location, ok=False,
                                      allow_unverified=False, signer=None, policy=used.label,
                                      summary=f"FAILED: {exc.message}")
            with store.write() as conn:
                record_event(conn, release_id=row.id, at=at, action="reverify",
                             location=row.location, ok=False, allow_unverified=False,
                             signer=Signer(), summary=event.summary, policy=used)
                outcomes.append(AddResult(release=_ref(conn, row.id), new=False, event=event,
                                          problems=(exc.message,)))
            continue
        problems = checked.problems
        summary = checked.summary()
        if checked.report.manifest_sha256 != row.manifest_sha256:
            problems += (f"{row.location} now holds another manifest (sha256 "
                         f"{checked.report.manifest_sha256}), not the one indexed",)
            summary = f"FAILED: {problems[-1]}"
        event = _event(checked, at=at, action="reverify", ok=not problems, allow_unverified=False,
                       policy=used, summary=summary)
        with store.write() as conn:
            _record(conn, row.id, event, checked, used)
            outcomes.append(AddResult(release=_ref(conn, row.id), new=False, event=event,
                                      problems=problems))
    return ReverifyResult(outcomes=tuple(outcomes))
