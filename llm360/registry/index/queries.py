"""The registry's questions: what is indexed, a release or checkpoint in full, who trained on a
chunk, what derives from a checkpoint (and what it derives from) across releases, and the
verification history. Each takes an open ``Store`` and returns records from ``records``.

A REF names a release (``NAME``, ``ORG/NAME`` as found on the Hub, ``NAME@VERSION`` or its
manifest sha256; a name alone is its newest indexed version), a checkpoint
(``NAME@ckpt_XXX``, ``ORG/NAME@ckpt_XXX``) or a checkpoint root digest.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import ColumnElement, func, select, text
from sqlalchemy.engine import Connection

from llm360.errors import InputError
from llm360.registry.index import _schema as t
from llm360.registry.index._writer import Signer, policy_of
from llm360.registry.index.records import (
    CheckpointDetail,
    CheckpointInfo,
    CheckpointRef,
    ChunkResult,
    CrossEdge,
    LineageResult,
    Link,
    ReleaseDetail,
    ReleaseRef,
    ReleaseSummary,
    Training,
    VerificationEvent,
)
from llm360.registry.index.store import Store

if TYPE_CHECKING:
    from llm360.registry.index._schema import DbRow, DbSelect

__all__ = ["Target", "resolve", "list_releases", "show_release", "show_checkpoint",
           "checkpoint_id", "release_id", "chunk", "derived", "ancestors", "history",
           "release_ids", "cross_edges"]

_HEX64 = re.compile(r"[0-9a-f]{64}")
R, C, E, K, T, V = (t.releases.c, t.checkpoints.c, t.lineage_edges.c, t.chunks.c,
                    t.trainings.c, t.verifications.c)


@dataclass(frozen=True, kw_only=True)
class Target:
    """What a REF resolved to: one release, or checkpoints (by id) and their root digests."""

    ref: str
    release_id: int | None
    checkpoint_ids: tuple[int, ...]
    digests: tuple[str, ...]


def _not_found(ref: str, what: str = "") -> InputError:
    return InputError(f"{ref}: {what or 'not in the registry'}",
                      hint="`llm360 registry list` shows what is indexed")


def _releases_named(conn: Connection, ident: str) -> list[int]:
    for cond in (R.repo == ident, R.name == ident,
                 R.name == ident.split("/", 1)[-1] if "/" in ident else None):
        if cond is None:
            continue
        ids = list(conn.execute(select(R.id).where(cond).order_by(R.id.desc())).scalars())
        if ids:
            return ids
    return []


def resolve(conn: Connection, ref: str) -> Target:
    """The release or checkpoints ``ref`` names (``InputError`` when nothing matches)."""
    text = ref.strip()
    if _HEX64.fullmatch(text):
        rows = conn.execute(select(C.id).where(C.root_digest == text).order_by(C.id)).scalars()
        ckpt_ids = tuple(rows)
        if ckpt_ids:
            return Target(ref=ref, release_id=None, checkpoint_ids=ckpt_ids, digests=(text,))
        rid = conn.execute(select(R.id).where(R.manifest_sha256 == text)).scalar()
        if rid is not None:
            return Target(ref=ref, release_id=rid, checkpoint_ids=(), digests=())
        if conn.execute(select(E.id).where(E.parent_digest == text).limit(1)).scalar():
            return Target(ref=ref, release_id=None, checkpoint_ids=(), digests=(text,))
        raise _not_found(ref, "no checkpoint root digest or manifest sha256 in the registry")
    ident, at, part = text.partition("@")
    ids = _releases_named(conn, ident)
    if not ids:
        raise _not_found(ref, f"no release {ident} in the registry")
    if not at:
        return Target(ref=ref, release_id=ids[0], checkpoint_ids=(), digests=())
    row = conn.execute(select(C.id, C.root_digest).where(C.release_id.in_(ids), C.name == part)
                       .order_by(C.release_id.desc()).limit(1)).first()
    if row is not None:
        return Target(ref=ref, release_id=None, checkpoint_ids=(row.id,),
                      digests=(row.root_digest,))
    rid = conn.execute(select(R.id).where(R.id.in_(ids), R.version == part)
                       .order_by(R.id.desc())).scalar()
    if rid is None:
        raise _not_found(ref, f"release {ident} has no checkpoint or version {part}")
    return Target(ref=ref, release_id=rid, checkpoint_ids=(), digests=())


def _release_ref(row: DbRow) -> ReleaseRef:
    return ReleaseRef(id=row.release_id, name=row.release_name, version=row.release_version,
                      manifest_sha256=row.manifest_sha256, repo=row.repo)


_REF_COLS = (R.id.label("release_id"), R.name.label("release_name"),
             R.version.label("release_version"), R.manifest_sha256, R.repo)
_CKPT_COLS = (C.id, C.name, C.step, C.tokens_seen, C.root_digest)


def _ckpt_ref(row: DbRow) -> CheckpointRef:
    return CheckpointRef(id=row.id, release=_release_ref(row), name=row.name, step=row.step,
                         tokens_seen=row.tokens_seen, root_digest=row.root_digest)


def _ckpt_select() -> DbSelect:
    return select(*_CKPT_COLS, *_REF_COLS).join_from(t.checkpoints, t.releases,
                                                     C.release_id == R.id)


def _event(row: DbRow) -> VerificationEvent:
    policy = policy_of(row)
    return VerificationEvent(at=row.at, action=row.action, location=row.location, ok=row.ok,
                             allow_unverified=row.allow_unverified, signer=row.signer,
                             policy=policy.label, summary=row.summary)


def release_ids(store: Store) -> list[int]:
    with store.read() as conn:
        return list(conn.execute(select(R.id).order_by(R.id)).scalars())


def _summaries(conn: Connection, where: ColumnElement[bool] | None = None
               ) -> list[ReleaseSummary]:
    # correlated: each count reads one release's rows through its index
    n_ckpt = select(func.count()).where(C.release_id == R.id).scalar_subquery()
    n_chunk = select(func.count()).where(K.release_id == R.id).scalar_subquery()
    last = select(func.max(V.id)).where(V.release_id == R.id).scalar_subquery()
    query = (select(*_REF_COLS, R.created, R.signer, R.signer_method, R.signer_issuer,
                    R.location, R.indexed_at, n_ckpt.label("n_ckpt"),
                    n_chunk.label("n_chunk"), last.label("vid"))
             .order_by(R.name, R.id))
    if where is not None:
        query = query.where(where)
    rows = conn.execute(query).all()
    vids = [row.vid for row in rows if row.vid is not None]
    events = {row.id: _event(row) for row in conn.execute(
        select(t.verifications).where(V.id.in_(vids))).all()} if vids else {}
    return [ReleaseSummary(
        release=_release_ref(row), created=row.created,
        signer=Signer(method=row.signer_method, name=row.signer, issuer=row.signer_issuer).label,
        location=row.location, indexed_at=row.indexed_at, checkpoints=row.n_ckpt or 0,
        chunks=row.n_chunk or 0, last=events.get(row.vid)) for row in rows]


def list_releases(store: Store) -> list[ReleaseSummary]:
    """Every indexed release, by name, with its newest verification event."""
    with store.read() as conn:
        return _summaries(conn)


def _history(conn: Connection, release_id: int) -> tuple[VerificationEvent, ...]:
    return tuple(_event(row) for row in conn.execute(
        select(t.verifications).where(V.release_id == release_id).order_by(V.id)).all())


def _links(conn: Connection, where: ColumnElement[bool]) -> tuple[Link, ...]:
    child = t.checkpoints.alias("child")
    rows = conn.execute(select(t.lineage_edges, child.c.name.label("child_name"))
                        .join_from(t.lineage_edges, child, child.c.id == E.child_id)
                        .where(where).order_by(E.id)).all()
    return tuple(Link(kind=r.kind, child=r.child_name, parent_name=r.parent_name,
                      parent_digest=r.parent_digest, parent_repo=r.parent_repo,
                      parent_revision=r.parent_revision,
                      parent_manifest_sha256=r.parent_manifest_sha256, relation=r.relation)
                 for r in rows)


def _infos(conn: Connection, ckpt_rows: Sequence[DbRow]) -> tuple[CheckpointInfo, ...]:
    ids = [row.id for row in ckpt_rows]
    parents: dict[int, list[str]] = {i: [] for i in ids}
    metrics: dict[int, list[tuple[str, float]]] = {i: [] for i in ids}
    for child_id, name in conn.execute(select(E.child_id, E.parent_name)
                                       .where(E.child_id.in_(ids)).order_by(E.id)).all():
        parents[child_id].append(name)
    ev = t.evaluations.c
    for cid, metric, value in conn.execute(select(ev.checkpoint_id, ev.metric, ev.value)
                                           .where(ev.checkpoint_id.in_(ids))
                                           .order_by(ev.checkpoint_id, ev.metric)).all():
        metrics[cid].append((metric, value))
    return tuple(CheckpointInfo(checkpoint=_ckpt_ref(row), parents=tuple(parents[row.id]),
                                metrics=tuple(metrics[row.id])) for row in ckpt_rows)


def show_release(store: Store, ref: str | int) -> ReleaseDetail:
    """A release in full (a checkpoint REF shows its release)."""
    with store.read() as conn:
        rid = ref if isinstance(ref, int) else _release_of(conn, resolve(conn, ref))
        summaries = _summaries(conn, R.id == rid)
        if not summaries:
            raise _not_found(str(ref))
        row = conn.execute(select(R.description, R.schema_version, R.signer_method,
                                  R.signer_issuer).where(R.id == rid)).one()
        ckpts = conn.execute(_ckpt_select().where(C.release_id == rid)
                             .order_by(C.position)).all()
        return ReleaseDetail(
            summary=summaries[0], description=row.description,
            schema_version=row.schema_version, signer_method=row.signer_method,
            signer_issuer=row.signer_issuer, checkpoints=_infos(conn, ckpts),
            derived_from=_links(conn, (E.release_id == rid) & (E.kind == "derived_from")),
            history=_history(conn, rid))


def _release_of(conn: Connection, target: Target) -> int:
    if target.release_id is not None:
        return target.release_id
    if not target.checkpoint_ids:
        raise _not_found(target.ref, "a root digest of a checkpoint that is not indexed")
    release: int = conn.execute(select(C.release_id)
                                .where(C.id == target.checkpoint_ids[-1])).scalar_one()
    return release


def _trainings(conn: Connection, where: ColumnElement[bool]) -> tuple[Training, ...]:
    rows = conn.execute(
        select(*_CKPT_COLS, *_REF_COLS, K.idx, K.sha256.label("chunk_sha256"), K.merkle_root,
               K.sequences, K.tokens, T.first_step, T.last_step)
        .join_from(t.trainings, t.chunks, T.chunk_id == K.id)
        .join(t.checkpoints, T.checkpoint_id == C.id).join(t.releases, C.release_id == R.id)
        .where(where).order_by(R.name, R.id, C.step, C.position, K.idx)).all()
    return tuple(Training(checkpoint=_ckpt_ref(r), chunk_index=r.idx, sha256=r.chunk_sha256,
                          merkle_root=r.merkle_root, sequences=r.sequences, tokens=r.tokens,
                          first_step=r.first_step, last_step=r.last_step) for r in rows)


def _walk(conn: Connection, digests: Iterable[str], *, down: bool) -> Sequence[DbRow]:
    """Checkpoints reached from ``digests`` along lineage edges (down: children), excluding
    the checkpoints holding those digests themselves."""
    start = sorted(set(digests))
    if not start:
        return []
    src, dst = (E.parent_digest, E.child_digest) if down else (E.child_digest, E.parent_digest)
    if conn.dialect.name == "postgresql":
        # each step of the walk is an index lookup; PostgreSQL's planner, blind to how deep a
        # recursion goes, otherwise hashes a scan of every edge once per step
        conn.execute(text("SET LOCAL enable_hashjoin = off"))
        conn.execute(text("SET LOCAL enable_mergejoin = off"))
    walk = select(dst.label("digest")).where(src.in_(start)).cte("walk", recursive=True)
    walk = walk.union(select(dst.label("digest")).join_from(t.lineage_edges, walk,
                                                            src == walk.c.digest))
    reached = select(walk.c.digest).where(walk.c.digest.not_in(start))
    return conn.execute(_ckpt_select().where(C.root_digest.in_(reached))
                        .order_by(R.name, R.id, C.step, C.position)).all()


def chunk(store: Store, query: str) -> ChunkResult:
    """Who trained on the chunk with this sha256 or Merkle root (with the step window), and
    the checkpoints of other releases that derive from them."""
    text = query.strip().lower()
    if not _HEX64.fullmatch(text):
        raise InputError(f"{query}: not a chunk sha256 or Merkle root (64 hex digits)")
    with store.read() as conn:
        trained = _trainings(conn, (K.sha256 == text) | (K.merkle_root == text))
        trainers = {tr.checkpoint.release.id for tr in trained}
        derived = [_ckpt_ref(r) for r in _walk(conn, {tr.checkpoint.root_digest for tr in trained},
                                               down=True) if r.release_id not in trainers]
    return ChunkResult(query=query, trained=trained, derived=tuple(derived))


def _lineage(store: Store, ref: str, *, down: bool) -> LineageResult:
    with store.read() as conn:
        target = resolve(conn, ref)
        if target.release_id is not None:
            start_rows = conn.execute(_ckpt_select().where(C.release_id == target.release_id)
                                      .order_by(C.position)).all()
        else:
            start_rows = conn.execute(_ckpt_select().where(C.id.in_(target.checkpoint_ids))
                                      .order_by(C.id)).all()
        digests = {r.root_digest for r in start_rows} | set(target.digests)
        found = [_ckpt_ref(r) for r in _walk(conn, digests, down=down)
                 if r.release_id != target.release_id]
    return LineageResult(query=ref, direction="derived" if down else "ancestors",
                         start=tuple(_ckpt_ref(r) for r in start_rows), found=tuple(found))


def derived(store: Store, ref: str) -> LineageResult:
    """Every checkpoint that derives from REF, in its own release and in others."""
    return _lineage(store, ref, down=True)


def ancestors(store: Store, ref: str) -> LineageResult:
    """Every checkpoint REF derives from, in its own release and in others."""
    return _lineage(store, ref, down=False)


def show_checkpoint(store: Store, checkpoint_id: int) -> CheckpointDetail:
    """One checkpoint: its chunks, metrics, links and relatives across releases."""
    with store.read() as conn:
        rows = conn.execute(_ckpt_select().where(C.id == checkpoint_id)).all()
        if not rows:
            raise _not_found(str(checkpoint_id), "no such checkpoint")
        info = _infos(conn, rows)[0]
        digest = rows[0].root_digest
        return CheckpointDetail(
            info=info, trained=_trainings(conn, T.checkpoint_id == checkpoint_id),
            derived=tuple(_ckpt_ref(r) for r in _walk(conn, {digest}, down=True)),
            ancestors=tuple(_ckpt_ref(r) for r in _walk(conn, {digest}, down=False)),
            derived_from=_links(conn, (E.child_id == checkpoint_id) & (E.kind == "derived_from")))


def release_id(store: Store, ref: str) -> int:
    """The release a REF names (a checkpoint REF: the release holding it)."""
    with store.read() as conn:
        return _release_of(conn, resolve(conn, ref))


def checkpoint_id(store: Store, ref: str) -> int:
    """The checkpoint a REF names (its newest copy where a digest is in several releases)."""
    with store.read() as conn:
        target = resolve(conn, ref)
    if not target.checkpoint_ids:
        raise _not_found(ref, "names a release, not a checkpoint" if target.release_id
                         else "a root digest of a checkpoint that is not indexed")
    return target.checkpoint_ids[-1]


def history(store: Store, ref: str) -> tuple[ReleaseRef, tuple[VerificationEvent, ...]]:
    """Every verification event of the release REF names, oldest first."""
    with store.read() as conn:
        rid = _release_of(conn, resolve(conn, ref))
        return _summaries(conn, R.id == rid)[0].release, _history(conn, rid)


def cross_edges(store: Store, rid: int) -> tuple[CrossEdge, ...]:
    """The lineage edges between release ``rid`` and other releases, both ways (a copy of
    one of its checkpoints in another release is the same node, not an edge)."""
    own = select(C.root_digest).where(C.release_id == rid)
    with store.read() as conn:
        ckpts = {r.root_digest: _ckpt_ref(r) for r in conn.execute(
            _ckpt_select().where(C.release_id == rid)).all()}
        out = []
        children = conn.execute(select(E.parent_digest, E.child_id).where(
            E.parent_digest.in_(own), E.release_id != rid, E.child_digest.not_in(own))).all()
        child_refs = {r.id: _ckpt_ref(r) for r in conn.execute(_ckpt_select().where(
            C.id.in_([c.child_id for c in children]))).all()} if children else {}
        for digest, child_id in children:
            own_parent = ckpts[digest]
            out.append(CrossEdge(parent_digest=digest, parent=own_parent,
                                 parent_label=own_parent.label, child=child_refs[child_id]))
        for e in conn.execute(select(t.lineage_edges).where(
                E.release_id == rid, E.parent_digest.not_in(own))).all():
            row = conn.execute(_ckpt_select().where(C.root_digest == e.parent_digest)
                               .order_by(C.id).limit(1)).first()
            parent = _ckpt_ref(row) if row is not None else None
            label = parent.label if parent is not None else \
                f"{e.parent_repo or e.parent_manifest_sha256 or '?'}@{e.parent_name}"
            out.append(CrossEdge(parent_digest=e.parent_digest, parent=parent,
                                 parent_label=label, child=ckpts[e.child_digest]))
    return tuple(out)
