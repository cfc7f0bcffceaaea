"""Two `registry add` processes at once both land; a process killed in the middle of an add
leaves the database as it was (one transaction), on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from llm360.registry.index import list_releases, open_store

CLI = [sys.executable, "-m", "llm360.cli.main"]


def test_two_adds_at_once_both_land(db_url, releases, hub_keys):
    open_store(db_url).close()  # the schema exists before the race (the race is the adds)
    procs = [subprocess.Popen([*CLI, "registry", "add", str(releases[name]), "--key",
                               str(hub_keys[1]), "--db", db_url, "--json"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for name in ("amber", "amber-more")]
    outs = [p.communicate(timeout=300) for p in procs]
    for p, (out, err) in zip(procs, outs):
        assert p.returncode == 0, out + err
        assert json.loads(out)["new"]
    with open_store(db_url) as store:
        listed = list_releases(store)
    assert sorted((r.release.name, r.checkpoints, r.chunks) for r in listed) == \
        [("amber", 3, 3), ("amber-more", 5, 5)]


def test_two_first_opens_at_once_migrate_once(db_url):
    code = "import sys; from llm360.registry.index import open_store; open_store(sys.argv[1])"
    procs = [subprocess.Popen([sys.executable, "-c", code, db_url], stderr=subprocess.PIPE,
                              text=True) for _ in range(3)]
    for p in procs:
        assert p.wait(timeout=120) == 0, p.stderr.read()


_KILLED_MID_ADD = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from llm360.registry.index import _writer, add_release, open_store
    from llm360.registry.verify.policy import TrustPolicy

    db, release, key, ready = sys.argv[1:5]
    real = _writer._insert_contents

    def stall(conn, manifest, release_id):
        real(conn, manifest, release_id)  # every row written, the transaction still open
        Path(ready).write_text("inserted")
        time.sleep(600)

    _writer._insert_contents = stall
    add_release(open_store(db), release, policy=TrustPolicy(key=Path(key)))
""")


def test_a_process_killed_mid_add_leaves_the_database_as_before(db_url, releases, hub_keys,
                                                                tmp_path: Path):
    with open_store(db_url) as store:
        from llm360.registry.index import add_release
        from llm360.registry.verify.policy import TrustPolicy

        add_release(store, str(releases["amber"]), policy=TrustPolicy(key=hub_keys[1]))
        before = list_releases(store)
    ready = tmp_path / "ready"
    proc = subprocess.Popen([sys.executable, "-c", _KILLED_MID_ADD, db_url,
                             str(releases["amber-more"]), str(hub_keys[1]), str(ready)],
                            stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 300
    while not ready.exists():
        assert proc.poll() is None, proc.stderr.read()
        assert time.monotonic() < deadline, "the add never reached its rows"
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=60)

    with open_store(db_url) as store:
        assert list_releases(store) == before
        # nothing is left locked or half-written: the same release adds in full afterwards
        from llm360.registry.index import add_release, show_release

        result = add_release(store, str(releases["amber-more"]),
                             policy=TrustPolicy(key=hub_keys[1]))
        assert result.new and len(show_release(store, "amber-more").checkpoints) == 5
