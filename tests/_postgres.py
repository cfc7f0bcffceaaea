"""A throwaway PostgreSQL server for tests and benchmarks (tests import it as ``_postgres``;
benchmarks put ``tests/`` on sys.path): initdb into a temporary folder, a free port on
127.0.0.1, ``pg_ctl stop`` and the folder removed at the end. Run as root (as CI does), the
server runs as the ``postgres`` user, since initdb refuses root."""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

__all__ = ["PostgresUnavailable", "INSTALL", "temporary_server", "new_database"]

INSTALL = ("install the PostgreSQL server: `apt-get install postgresql` (Debian/Ubuntu; "
           "`make test` does it), or put initdb and pg_ctl on PATH")


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL server can be started here; the message says what to install."""


def _bindir() -> Path:
    def major(path: str) -> int:
        part = Path(path).parts[-3]
        return int(part) if part.isdigit() else 0

    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=major)
    initdb = found[-1] if found else shutil.which("initdb")
    if not initdb or not (Path(initdb).parent / "pg_ctl").exists():
        raise PostgresUnavailable("PostgreSQL server binaries (initdb, pg_ctl) not found under "
                                  f"/usr/lib/postgresql/*/bin or on PATH: {INSTALL}")
    return Path(initdb).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def temporary_server(*, fsync: bool = False) -> Iterator[str]:
    """Start a server; yields the URL of its ``postgres`` database (user ``llm360``, trust
    authentication on 127.0.0.1 only)."""
    bindir = _bindir()
    extra: dict = {}
    if os.geteuid() == 0:
        try:
            user = pwd.getpwnam("postgres")
        except KeyError:
            raise PostgresUnavailable("running as root, the server is started as the "
                                      f"`postgres` user, which does not exist: {INSTALL}") from None
        extra = {"user": user.pw_uid, "group": user.pw_gid}
    # the server's user must reach its folder: below /tmp, not a root-only TMPDIR
    base = Path(tempfile.mkdtemp(prefix="llm360-pg-", dir="/tmp" if extra else None))
    data, log = base / "data", base / "server.log"
    if extra:
        os.chown(base, extra["user"], extra["group"])

    def run(*args: object) -> None:
        result = subprocess.run([str(a) for a in args], cwd=base, capture_output=True,
                                text=True, timeout=120, **extra)
        if result.returncode != 0:
            tail = log.read_text()[-2000:] if log.exists() else ""
            raise PostgresUnavailable(f"{Path(str(args[0])).name} failed: {result.stdout}"
                                      f"{result.stderr}{tail}")

    started = False
    try:
        run(bindir / "initdb", "-D", data, "-U", "llm360", "--auth=trust", "-E", "UTF8",
            "--no-sync")
        port = _free_port()
        run(bindir / "pg_ctl", "-D", data, "-l", log, "-w", "-t", "60", "-o",
            f"-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories={base} "
            f"-c fsync={'on' if fsync else 'off'} -c max_connections=50", "start")
        started = True
        yield f"postgresql://llm360@127.0.0.1:{port}/postgres"
    finally:
        if started:
            subprocess.run([str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w",
                            "stop"], cwd=base, capture_output=True, timeout=60, **extra)
        shutil.rmtree(base, ignore_errors=True)


def new_database(server_url: str) -> str:
    """A new, empty database on the server: its URL."""
    import psycopg

    name = f"reg_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return server_url.rsplit("/", 1)[0] + f"/{name}"
