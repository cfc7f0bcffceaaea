"""Opening the registry database by URL: SQLite (a file, nothing to set up) or PostgreSQL
(``postgresql://...``, through psycopg 3), migrated to the current schema on open.

Writes go through ``Store.write()``, one transaction each. SQLite: the transaction takes the
write lock when it begins (``BEGIN IMMEDIATE``) and a second writer waits for it (busy timeout),
so two ``add`` runs at once both land; WAL lets readers (the web view) read meanwhile.
PostgreSQL: unique constraints and ``ON CONFLICT`` settle two writers of the same rows; the
migrations take an advisory lock.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from llm360.errors import InputError

if TYPE_CHECKING:
    import sqlite3

    from sqlalchemy import Table
    from sqlalchemy.dialects.postgresql import Insert as PostgresInsert
    from sqlalchemy.dialects.sqlite import Insert as SqliteInsert
    from sqlalchemy.engine import Connection, Engine
    from sqlalchemy.pool import ConnectionPoolEntry

__all__ = ["Store", "open_store", "utc_now", "BUSY_TIMEOUT_S"]

#: how long a SQLite writer waits for another one before giving up
BUSY_TIMEOUT_S = 60.0
#: the PostgreSQL advisory lock the migrations hold (any fixed number)
_MIGRATION_LOCK = 360_360_024


def utc_now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _engine(url: str) -> tuple[Engine, str]:
    from sqlalchemy import create_engine, event
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except ArgumentError:
        raise InputError(f"{url!r}: not a database URL",
                         hint="pass sqlite:///PATH or postgresql://USER@HOST:PORT/DB") from None
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        database = parsed.database or ""
        if database in ("", ":memory:"):
            raise InputError(f"{url}: an in-memory SQLite registry would be lost at exit",
                             hint="pass sqlite:///PATH")
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(parsed.set(drivername="sqlite+pysqlite"),
                               connect_args={"timeout": BUSY_TIMEOUT_S})

        @event.listens_for(engine, "connect")
        def _connect(dbapi_conn: sqlite3.Connection,
                     _record: ConnectionPoolEntry) -> None:
            dbapi_conn.isolation_level = None  # SQLAlchemy's begin event says how to begin
            cur = dbapi_conn.cursor()
            cur.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
            cur.execute("PRAGMA foreign_keys = ON")
            cur.execute("PRAGMA journal_mode = WAL")
            cur.execute("PRAGMA synchronous = NORMAL")
            cur.close()

        @event.listens_for(engine, "begin")
        def _begin(conn: Connection) -> None:
            write = conn.get_execution_options().get("llm360_write", False)
            conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

        return engine, "sqlite"
    if backend == "postgresql":
        return create_engine(parsed.set(drivername="postgresql+psycopg"),
                             connect_args={"connect_timeout": 10}), "postgresql"
    raise InputError(f"{url}: unsupported database {backend!r}",
                     hint="the registry stores into SQLite (sqlite:///PATH) or PostgreSQL "
                          "(postgresql://...)")


class Store:
    """An open registry database at the current schema version."""

    def __init__(self, engine: Engine, dialect: str, url: str) -> None:
        self.engine = engine
        self.dialect = dialect
        self.url = url

    @contextlib.contextmanager
    def write(self) -> Iterator[Connection]:
        """One write transaction (committed on leaving, rolled back on an error)."""
        with self._errors(), self.engine.connect() as conn:
            conn = conn.execution_options(llm360_write=True)
            with conn.begin():
                if self.dialect == "postgresql":
                    from sqlalchemy import text

                    conn.execute(text("SET LOCAL lock_timeout = '60s'"))
                yield conn

    @contextlib.contextmanager
    def read(self) -> Iterator[Connection]:
        """One read transaction (a consistent view)."""
        with self._errors(), self.engine.connect() as conn, conn.begin():
            yield conn

    def analyze(self) -> None:
        """Refresh the planner's statistics of the lineage and chunk tables after a release
        was added (PostgreSQL: ANALYZE, so the recursive lineage walks keep using the indexes
        as the tables grow; SQLite: PRAGMA optimize)."""
        from sqlalchemy import text

        statements = (["PRAGMA optimize"] if self.dialect == "sqlite" else
                      ["ANALYZE lineage_edges, checkpoints, chunks, trainings"])
        # a write transaction: SQLite's optimize may write its statistics, and a deferred
        # transaction that turns into a write while another process commits fails at once
        # ("database is locked") instead of waiting for the busy timeout
        with self.write() as conn:
            for statement in statements:
                conn.execute(text(statement))

    def insert(self, table: Table) -> PostgresInsert | SqliteInsert:
        """An INSERT for ``table`` in this database's dialect (``.on_conflict_do_nothing``)."""
        if self.dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as postgres_insert

            return postgres_insert(table)
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        return sqlite_insert(table)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextlib.contextmanager
    def _errors(self) -> Iterator[None]:
        """A database that cannot be reached or refuses is one line naming it (exit 2)."""
        from sqlalchemy.exc import DatabaseError, OperationalError, ProgrammingError

        try:
            yield
        except DatabaseError as exc:  # plain DatabaseError: "file is not a database"
            if not isinstance(exc, (OperationalError, ProgrammingError)) \
                    and type(exc) is not DatabaseError:
                raise
            reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0] or type(exc).__name__
            raise InputError(f"registry database {_safe(self.url)}: {reason}",
                             hint="check --db (or LLM360_REGISTRY) and that the database "
                                  "server is running") from exc

    def migrate(self) -> int:
        """Apply the migrations this database lacks; the schema version it is at."""
        from sqlalchemy import func, select, text

        from llm360.registry.index._schema import LATEST, MIGRATIONS, schema_version

        with self.write() as conn:
            if self.dialect == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _MIGRATION_LOCK})
            schema_version.create(conn, checkfirst=True)
            current = conn.execute(select(func.max(schema_version.c.version))).scalar() or 0
            if current > LATEST:
                raise InputError(
                    f"registry database {_safe(self.url)} is at schema version {current}, newer "
                    f"than this llm360 reads ({LATEST})", hint="upgrade llm360")
            for version, apply in MIGRATIONS:
                if version > current:
                    apply(conn)
                    conn.execute(schema_version.insert().values(version=version,
                                                                applied_at=utc_now()))
            return max(current, LATEST)


def _safe(url: str) -> str:
    """``url`` without its password."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - only for a message
        return "<the database URL>"


def open_store(url: str) -> Store:
    """Open (creating a SQLite file where needed) and migrate the registry at ``url``."""
    engine, dialect = _engine(url)
    store = Store(engine, dialect, url)
    try:
        store.migrate()
    except BaseException:
        store.close()
        raise
    return store
