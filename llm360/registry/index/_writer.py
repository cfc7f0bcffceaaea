"""A manifest into the registry's rows, inside the caller's transaction: the release, its
checkpoints, chunks (with the checkpoint and step window that trained on each), lineage edges
(inside the release, and ``derived_from`` links to other releases) and evaluation results.

Everything is read from the manifest's frozen dataclasses (``llm360.registry.manifest.models``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.engine import Connection

from llm360.registry.index import _schema as t
from llm360.registry.index._derived import ParentLink, parent_links
from llm360.registry.index.store import Store
from llm360.registry.manifest.models import Checkpoint, Manifest

if TYPE_CHECKING:
    from llm360.registry.index._schema import DbRow

#: the values of one row to insert, by column name
_Values = dict[str, object]

__all__ = ["Placement", "Signer", "Policy", "policy_of", "index_manifest", "record_event",
           "step_windows"]


@dataclass(frozen=True, kw_only=True)
class Placement:
    """Where a release was found: a folder or ``hub:ORG/NAME@REV`` (with the endpoint)."""

    location: str
    endpoint: str | None = None
    repo: str | None = None


@dataclass(frozen=True, kw_only=True)
class Signer:
    """Who signed a verified manifest: a key fingerprint, or a keyless identity and issuer."""

    method: str | None = None
    name: str | None = None
    issuer: str | None = None

    @property
    def label(self) -> str | None:
        if self.name is None:
            return None
        if self.method == "key":
            return f"key {self.name}"
        return f"{self.name} ({self.issuer})" if self.issuer else self.name


@dataclass(frozen=True, kw_only=True)
class Policy:
    """A trust policy as recorded with a verification event (and applied again by
    ``registry verify``)."""

    key: str | None = None
    identity: str | None = None
    issuer: str | None = None
    trust_config: str | None = None
    offline: bool = False
    staging: bool = False
    allow_unsigned: bool = False
    allow_extra: bool = False
    parent_key: str | None = None
    parent_identity: str | None = None
    parent_issuer: str | None = None
    allow_unverified_parent: bool = False

    @property
    def label(self) -> str:
        if self.key:
            words = [f"key {self.key}"]
        elif self.identity:
            words = [f"identity {self.identity} issuer {self.issuer}"]
        else:
            words = ["no signer named"]
        words += [flag for flag, on in (("--offline", self.offline), ("--staging", self.staging),
                                        ("--allow-unsigned", self.allow_unsigned),
                                        ("--allow-extra", self.allow_extra)) if on]
        if self.trust_config:
            words.append(f"--trust-config {self.trust_config}")
        if self.parent_key:
            words.append(f"parent key {self.parent_key}")
        elif self.parent_identity:
            words.append(f"parent identity {self.parent_identity} issuer {self.parent_issuer}")
        if self.allow_unverified_parent:
            words.append("--allow-unverified-parent")
        return ", ".join(words)


def policy_of(row: DbRow) -> Policy:
    """The policy a ``verifications`` row records."""
    return Policy(key=row.policy_key, identity=row.policy_identity, issuer=row.policy_issuer,
                  trust_config=row.policy_trust_config, offline=row.policy_offline,
                  staging=row.policy_staging, allow_unsigned=row.policy_allow_unsigned,
                  allow_extra=row.policy_allow_extra, parent_key=row.policy_parent_key,
                  parent_identity=row.policy_parent_identity,
                  parent_issuer=row.policy_parent_issuer,
                  allow_unverified_parent=row.policy_allow_unverified_parent)


def step_windows(ckpt: Checkpoint, base_step: int | None, base_tokens: int | None,
                 chunk_tokens: list[int]) -> list[tuple[int, int]]:
    """(first step, last step) for each chunk ``ckpt`` trained on, in order: the steps from
    its parents' (``base_step``) to its own, shared out by each chunk's tokens. Where the base
    is unknown (a parent outside the release), the chunks are taken to be the last trained."""
    total = sum(chunk_tokens)
    if base_step is None or base_tokens is None:
        base_tokens = max(0, ckpt.tokens_seen - total)
        base_step = (ckpt.step * base_tokens // ckpt.tokens_seen) if ckpt.tokens_seen else 0
    steps, tokens = ckpt.step - base_step, ckpt.tokens_seen - base_tokens
    out: list[tuple[int, int]] = []
    offset = 0
    for n in chunk_tokens:
        if steps <= 0 or tokens <= 0:
            first, last = min(base_step + 1, ckpt.step), ckpt.step
        else:
            first = base_step + 1 + offset * steps // tokens
            last = base_step + -(-(offset + n) * steps // tokens)
        offset += n
        last = min(max(last, first), ckpt.step)
        out.append((min(first, last), last))
    return out


def index_manifest(conn: Connection, store: Store, manifest: Manifest, *, manifest_sha256: str,
                   placement: Placement, signer: Signer, now: str) -> tuple[int, bool]:
    """Insert ``manifest`` unless a release with this sha256 is indexed: (release id, new)."""
    rel = manifest.release
    inserted = conn.execute(
        store.insert(t.releases).values(
            manifest_sha256=manifest_sha256, name=rel.name, version=rel.version,
            created=rel.created, schema_version=manifest.schema_version,
            description=rel.description, signer_method=signer.method, signer=signer.name,
            signer_issuer=signer.issuer, location=placement.location,
            endpoint=placement.endpoint, repo=placement.repo, indexed_at=now,
        ).on_conflict_do_nothing(index_elements=["manifest_sha256"]).returning(t.releases.c.id)
    ).scalar()
    if inserted is None:
        existing = conn.execute(select(t.releases.c.id).where(
            t.releases.c.manifest_sha256 == manifest_sha256)).scalar_one()
        return existing, False
    _insert_contents(conn, manifest, inserted)
    return inserted, True


def _insert_contents(conn: Connection, manifest: Manifest, release_id: int) -> None:
    ckpts = manifest.checkpoints_by_name
    conn.execute(t.checkpoints.insert(), [
        {"release_id": release_id, "name": c.name, "step": c.step, "tokens_seen": c.tokens_seen,
         "root_digest": c.root_digest, "position": i}
        for i, c in enumerate(ckpts.values())])
    ckpt_ids = dict(conn.execute(select(t.checkpoints.c.name, t.checkpoints.c.id).where(
        t.checkpoints.c.release_id == release_id)).all())
    chunks = {c.index: c for c in manifest.data.chunks}
    conn.execute(t.chunks.insert(), [
        {"release_id": release_id, "idx": c.index, "sha256": c.sha256,
         "merkle_root": c.merkle_root, "sequences": c.sequences, "tokens": c.tokens}
        for c in chunks.values()])
    chunk_ids = dict(conn.execute(select(t.chunks.c.idx, t.chunks.c.id).where(
        t.chunks.c.release_id == release_id)).all())
    links = parent_links(manifest)
    by_parent_name = {link.checkpoint: link for link in links}
    named = {p for c in ckpts.values() for p in c.parents if p not in ckpts}
    # a link no checkpoint names as its (outside) parent is where the release's first
    # checkpoints start
    unnamed = [link for link in links if link.checkpoint not in named]

    edges: list[_Values] = []
    trainings: list[_Values] = []
    evals: list[_Values] = []
    for c in ckpts.values():
        inside = [ckpts[p] for p in c.parents if p in ckpts]
        outside = [by_parent_name[p] for p in c.parents if p not in ckpts and p in by_parent_name]
        for p in inside:
            edges.append(_edge(release_id, ckpt_ids[c.name], c, kind="parent",
                               parent_name=p.name, parent_digest=p.root_digest))
        linked = outside or ([] if inside else unnamed)
        for link in linked:
            edges.append(_edge(release_id, ckpt_ids[c.name], c, kind="derived_from",
                               parent_name=link.checkpoint, parent_digest=link.root_digest,
                               link=link))
        base_step: int | None
        base_tokens: int | None
        if inside:
            base_step = max(p.step for p in inside)
            base_tokens = max(p.tokens_seen for p in inside)
        elif linked and linked[0].step is not None and linked[0].tokens_seen is not None:
            base_step, base_tokens = linked[0].step, linked[0].tokens_seen
        elif c.parents or linked:
            base_step = base_tokens = None
        else:
            base_step = base_tokens = 0
        known = [k for k in c.data_chunks if k in chunks]
        windows = step_windows(c, base_step, base_tokens, [chunks[k].tokens for k in known])
        seen: set[int] = set()
        for k, (first, last) in zip(known, windows):
            if k not in seen:
                seen.add(k)
                trainings.append({"chunk_id": chunk_ids[k], "checkpoint_id": ckpt_ids[c.name],
                                  "first_step": first, "last_step": last})
        evals += [{"checkpoint_id": ckpt_ids[c.name], "metric": metric, "value": float(value)}
                  for metric, value in sorted(c.metrics.items())]
    for rows, table in ((edges, t.lineage_edges), (trainings, t.trainings),
                        (evals, t.evaluations)):
        if rows:
            conn.execute(table.insert(), rows)


def _edge(release_id: int, child_id: int, child: Checkpoint, *, kind: str, parent_name: str,
          parent_digest: str, link: ParentLink | None = None) -> _Values:
    return {"release_id": release_id, "child_id": child_id, "child_digest": child.root_digest,
            "kind": kind, "parent_name": parent_name, "parent_digest": parent_digest,
            "parent_repo": link.repo if link else None,
            "parent_revision": link.revision if link else None,
            "parent_manifest_sha256": link.manifest_sha256 if link else None,
            "relation": link.relation if link else None}


def record_event(conn: Connection, *, release_id: int, at: str, action: str, location: str,
                 ok: bool, allow_unverified: bool, signer: Signer, summary: str,
                 policy: Policy) -> None:
    conn.execute(t.verifications.insert().values(
        release_id=release_id, at=at, action=action, location=location, ok=ok,
        allow_unverified=allow_unverified, signer=signer.label, summary=summary,
        policy_key=policy.key, policy_identity=policy.identity, policy_issuer=policy.issuer,
        policy_trust_config=policy.trust_config, policy_offline=policy.offline,
        policy_staging=policy.staging, policy_allow_unsigned=policy.allow_unsigned,
        policy_allow_extra=policy.allow_extra, policy_parent_key=policy.parent_key,
        policy_parent_identity=policy.parent_identity, policy_parent_issuer=policy.parent_issuer,
        policy_allow_unverified_parent=policy.allow_unverified_parent))
