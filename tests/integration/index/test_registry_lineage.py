"""Lineage across releases through ``derived_from`` (a release that references its parent
checkpoint in another release instead of holding it), step windows, and the migrations.

Manifests v1 to v1.2 carry no ``derived_from``; v1.3 does. These tests give the registry a v1.3
manifest made in memory (``derived_release``) through its writer, as ``registry add`` does with
a built one."""

from __future__ import annotations

from pathlib import Path

import pytest

from llm360.errors import InputError
from llm360.registry.index import (
    ancestors,
    chunk,
    derived,
    list_releases,
    open_store,
    show_checkpoint,
    show_release,
)
from llm360.registry.index._writer import step_windows
from llm360.registry.index.queries import checkpoint_id
from llm360.registry.manifest.models import Checkpoint
from llm360.registry.manifest.serialize import load_manifest

from .conftest import PARENT_COMMIT


@pytest.fixture
def store(db_url):
    with open_store(db_url) as s:
        yield s


def test_derived_from_links_releases(store, releases, derived_release, index):
    import hashlib

    raw = (releases["amber"] / "manifest.json").read_bytes()
    sha = hashlib.sha256(raw).hexdigest()
    amber = load_manifest(releases["amber"] / "manifest.json")
    index(store, amber, sha, "amber")
    index(store, derived_release(amber, sha, at="ckpt_001"), "ee" * 32, "amber-ft")

    # a chunk amber's ckpt_000 trained on reaches the derived release through lineage
    found = chunk(store, amber.data.chunks[0].sha256)
    assert [(t.checkpoint.release.name, t.checkpoint.name) for t in found.trained] == \
        [("amber", "ckpt_000")]
    assert [(c.release.name, c.name) for c in found.derived] == \
        [("amber-ft", "ckpt_000-ft"), ("amber-ft", "ckpt_001-ft")]
    # ckpt_002 is on another branch: nothing of amber-ft derives from it
    assert chunk(store, amber.data.chunks[2].sha256).derived == ()

    down = derived(store, "amber@ckpt_001")
    assert {(c.release.name, c.name) for c in down.found} == \
        {("amber", "ckpt_002"), ("amber-ft", "ckpt_000-ft"), ("amber-ft", "ckpt_001-ft")}
    up = ancestors(store, "amber-ft@ckpt_001-ft")
    assert [(c.release.name, c.name) for c in up.found] == \
        [("amber", "ckpt_000"), ("amber", "ckpt_001"), ("amber-ft", "ckpt_000-ft")]

    detail = show_release(store, "amber-ft")
    (link,) = detail.derived_from
    assert (link.parent_repo, link.parent_revision, link.parent_manifest_sha256,
            link.parent_name, link.child, link.relation) == \
        ("acme/amber", PARENT_COMMIT, sha, "ckpt_001", "ckpt_000-ft", "fork")
    first = show_checkpoint(store, checkpoint_id(store, "amber-ft@ckpt_000-ft"))
    # the window starts after the parent checkpoint in the other release (step 8)
    assert [(t.chunk_index, t.first_step, t.last_step) for t in first.trained] == [(0, 9, 12)]
    assert {c.name for c in first.ancestors} == {"ckpt_000", "ckpt_001"}


def test_a_parent_that_is_not_indexed_is_still_a_node(store, releases, derived_release,
                                                       index):
    amber = load_manifest(releases["amber"] / "manifest.json")
    index(store, derived_release(amber, "aa" * 32, at="ckpt_001"), "ee" * 32, "amber-ft")
    digest = amber.checkpoint("ckpt_001").root_digest
    assert [c.name for c in derived(store, digest).found] == ["ckpt_000-ft", "ckpt_001-ft"]
    with pytest.raises(InputError, match="not indexed"):
        show_release(store, digest)


def test_step_windows_share_a_checkpoint_by_tokens():
    ckpt = Checkpoint(name="c", step=20, tokens_seen=2000, parents=("p",), data_chunks=(0, 1),
                      files=(), root_digest="0" * 64, metrics={})
    assert step_windows(ckpt, 10, 1000, [500, 500]) == [(11, 15), (16, 20)]
    assert step_windows(ckpt, None, None, [500]) == [(16, 20)]
    assert step_windows(ckpt, 20, 2000, [10]) == [(20, 20)]


def test_migrations_are_recorded_and_a_newer_schema_is_refused(db_url, store):
    from sqlalchemy import select

    from llm360.registry.index._schema import LATEST, schema_version

    with open_store(db_url) as again:  # opening twice applies nothing twice
        with again.read() as conn:
            assert list(conn.execute(select(schema_version.c.version)).scalars()) == \
                list(range(1, LATEST + 1))
        with again.write() as conn:
            conn.execute(schema_version.insert().values(version=LATEST + 1, applied_at="x"))
    with pytest.raises(InputError, match="newer than this llm360 reads"):
        open_store(db_url)
    assert list_releases(store) == []


def test_sqlite_in_memory_and_bad_urls_are_refused(tmp_path: Path):
    for url, message in (("sqlite://", "in-memory"), ("nonsense", "not a database URL")):
        with pytest.raises(InputError, match=message):
            open_store(url)


def test_without_postgresql_binaries_the_tests_say_what_to_install(monkeypatch):
    import _postgres

    monkeypatch.setattr(_postgres.glob, "glob", lambda pattern: [])
    monkeypatch.setattr(_postgres.shutil, "which", lambda name: None)
    with pytest.raises(_postgres.PostgresUnavailable, match="apt-get install postgresql"):
        with _postgres.temporary_server():
            pass
