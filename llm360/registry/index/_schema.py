"""The registry's tables (one schema for SQLite and PostgreSQL) and its versioned migrations.

A checkpoint is a node of one graph across every indexed release, named by its OMS root digest:
the same bytes in two releases are the same node. ``lineage_edges`` holds the graph's edges by
digest: a parent inside the release (``kind='parent'``) and a checkpoint of another release a
manifest says it derives from (``kind='derived_from'``, keyed by the parent's repo or manifest
sha256, checkpoint name and root digest). ``trainings`` says which checkpoint trained on which
chunk, with the step window.

Migrations are applied in order on open, each in the opening transaction; ``schema_version``
holds one row per migration applied. A migration is only ever appended, never edited.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Connection

if TYPE_CHECKING:
    from typing import TypeAlias

    from sqlalchemy import Select
    from sqlalchemy.engine import Row
    from typing_extensions import Unpack

    #: a row of a registry query, its columns read by name (or label)
    DbRow: TypeAlias = Row[Unpack[tuple[Any, ...]]]
    #: a registry query of such rows
    DbSelect: TypeAlias = Select[Unpack[tuple[Any, ...]]]

__all__ = ["METADATA", "MIGRATIONS", "LATEST", "schema_version", "releases", "checkpoints",
           "lineage_edges", "chunks", "trainings", "evaluations", "verifications"]

METADATA = MetaData()

schema_version = Table(
    "schema_version", METADATA,
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("applied_at", String(32), nullable=False),
)

releases = Table(
    "releases", METADATA,
    Column("id", Integer, primary_key=True),
    Column("manifest_sha256", String(64), nullable=False, unique=True),
    Column("name", Text, nullable=False),
    Column("version", Text, nullable=False),
    Column("created", Text, nullable=False),
    Column("schema_version", Text, nullable=False),
    Column("description", Text),
    # who signed it: method 'key' (signer = key fingerprint) or 'keyless' (identity + issuer)
    Column("signer_method", Text),
    Column("signer", Text),
    Column("signer_issuer", Text),
    # where it was found: a folder or hub:ORG/NAME@REV (with the Hub's endpoint)
    Column("location", Text, nullable=False),
    Column("endpoint", Text),
    Column("repo", Text),
    Column("indexed_at", String(32), nullable=False),
)
Index("ix_releases_name", releases.c.name)
Index("ix_releases_repo", releases.c.repo)

checkpoints = Table(
    "checkpoints", METADATA,
    Column("id", Integer, primary_key=True),
    Column("release_id", Integer, ForeignKey("releases.id", ondelete="CASCADE"), nullable=False),
    Column("name", Text, nullable=False),
    Column("step", BigInteger, nullable=False),
    Column("tokens_seen", BigInteger, nullable=False),
    Column("root_digest", String(64), nullable=False),
    Column("position", Integer, nullable=False),
    UniqueConstraint("release_id", "name", name="uq_checkpoints_release_name"),
)
Index("ix_checkpoints_root_digest", checkpoints.c.root_digest)

lineage_edges = Table(
    "lineage_edges", METADATA,
    Column("id", Integer, primary_key=True),
    Column("release_id", Integer, ForeignKey("releases.id", ondelete="CASCADE"), nullable=False),
    Column("child_id", Integer, ForeignKey("checkpoints.id", ondelete="CASCADE"),
           nullable=False),
    Column("child_digest", String(64), nullable=False),
    Column("kind", String(16), nullable=False),            # 'parent' | 'derived_from'
    Column("parent_digest", String(64), nullable=False),
    Column("parent_name", Text, nullable=False),
    # derived_from only: the parent release
    Column("parent_repo", Text),
    Column("parent_revision", Text),
    Column("parent_manifest_sha256", String(64)),
    Column("relation", Text),
    UniqueConstraint("child_id", "kind", "parent_digest", "parent_name",
                     name="uq_lineage_edges_child_parent"),
)
Index("ix_lineage_edges_parent_digest", lineage_edges.c.parent_digest)
Index("ix_lineage_edges_child_digest", lineage_edges.c.child_digest)
Index("ix_lineage_edges_release", lineage_edges.c.release_id, lineage_edges.c.kind)

chunks = Table(
    "chunks", METADATA,
    Column("id", Integer, primary_key=True),
    Column("release_id", Integer, ForeignKey("releases.id", ondelete="CASCADE"), nullable=False),
    Column("idx", Integer, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("merkle_root", String(64), nullable=False),
    Column("sequences", BigInteger, nullable=False),
    Column("tokens", BigInteger, nullable=False),
    UniqueConstraint("release_id", "idx", name="uq_chunks_release_idx"),
)
Index("ix_chunks_sha256", chunks.c.sha256)
Index("ix_chunks_merkle_root", chunks.c.merkle_root)

trainings = Table(
    "trainings", METADATA,
    Column("chunk_id", Integer, ForeignKey("chunks.id", ondelete="CASCADE"), primary_key=True),
    Column("checkpoint_id", Integer, ForeignKey("checkpoints.id", ondelete="CASCADE"),
           primary_key=True),
    Column("first_step", BigInteger, nullable=False),
    Column("last_step", BigInteger, nullable=False),
)
Index("ix_trainings_checkpoint", trainings.c.checkpoint_id)

evaluations = Table(
    "evaluations", METADATA,
    Column("checkpoint_id", Integer, ForeignKey("checkpoints.id", ondelete="CASCADE"),
           primary_key=True),
    Column("metric", Text, primary_key=True),
    Column("value", Float, nullable=False),
)

verifications = Table(
    "verifications", METADATA,
    Column("id", Integer, primary_key=True),
    Column("release_id", Integer, ForeignKey("releases.id", ondelete="CASCADE"), nullable=False),
    Column("at", String(32), nullable=False),
    Column("action", String(16), nullable=False),           # 'add' | 'reverify'
    Column("location", Text, nullable=False),
    Column("ok", Boolean, nullable=False),
    Column("allow_unverified", Boolean, nullable=False),
    Column("signer", Text),
    Column("summary", Text, nullable=False),
    # the trust policy, as typed, so `registry verify` can apply it again
    Column("policy_key", Text),
    Column("policy_identity", Text),
    Column("policy_issuer", Text),
    Column("policy_trust_config", Text),
    Column("policy_offline", Boolean, nullable=False),
    Column("policy_staging", Boolean, nullable=False),
    Column("policy_allow_unsigned", Boolean, nullable=False),
    Column("policy_allow_extra", Boolean, nullable=False),
    # a derived release: how its link to the parent release was checked
    Column("policy_parent_key", Text),
    Column("policy_parent_identity", Text),
    Column("policy_parent_issuer", Text),
    Column("policy_allow_unverified_parent", Boolean, nullable=False, default=False),
)
Index("ix_verifications_release", verifications.c.release_id, verifications.c.id)

_V1_TABLES = (releases, checkpoints, lineage_edges, chunks, trainings, evaluations,
              verifications)


def _v1(conn: Connection) -> None:
    METADATA.create_all(conn, tables=list(_V1_TABLES))


#: (version, what it does) in order; the last one is the schema this code reads and writes
MIGRATIONS: tuple[tuple[int, Callable[[Connection], None]], ...] = (
    (1, _v1),
)
LATEST = MIGRATIONS[-1][0]
