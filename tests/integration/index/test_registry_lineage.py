"""Lineage across releases through ``derived_from`` (a release that references its parent
checkpoint in another release instead of holding it), step windows, and the migrations.

Manifests v1/v1.1 carry no ``derived_from``; a newer manifest will. These tests give the
registry a manifest with one (a subclass of the frozen ``Manifest`` adding the field) through
its writer, as ``registry add`` will once the field exists."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from llm360.errors import InputError
from llm360.registry.index import (
    ancestors, chunk, derived, list_releases, open_store, show_checkpoint, show_release,
)
from llm360.registry.index._writer import Placement, Signer, index_manifest, step_windows
from llm360.registry.index.queries import checkpoint_id
from llm360.registry.index.store import utc_now
from llm360.registry.models import Checkpoint, Manifest
from llm360.registry.serialize import load_manifest


@dataclasses.dataclass(frozen=True, kw_only=True)
class ParentRef:
    repo: str
    revision: str
    manifest_sha256: str
    checkpoint: str
    root_digest: str
    relation: str = "fork"


@dataclasses.dataclass(frozen=True, kw_only=True)
class DerivedManifest(Manifest):
    derived_from: tuple[ParentRef, ...] = ()


def derived_release(parent: Manifest, parent_sha: str, *, at: str) -> Manifest:
    """A release continuing ``parent`` at checkpoint ``at`` with two checkpoints of its own,
    trained on a chunk the parent never had; the parent checkpoint is referenced, not held."""
    base = parent.checkpoint(at)
    chunk = dataclasses.replace(parent.data.chunks[0], index=0, sha256="ab" * 32,
                                merkle_root="cd" * 32)
    ckpts = tuple(Checkpoint(name=f"ckpt_{k:03d}-ft", step=base.step + 4 * (k + 1),
                             tokens_seen=base.tokens_seen + 128 * (k + 1),
                             parents=(at,) if k == 0 else (f"ckpt_{k - 1:03d}-ft",),
                             data_chunks=(0,) if k == 0 else (), files=(),
                             root_digest=f"{k + 1:02d}" * 32, metrics={"heldout_loss": 3.0 - k})
                  for k in range(2))
    fields = {f.name: getattr(parent, f.name) for f in dataclasses.fields(Manifest)}
    fields.update(release=dataclasses.replace(parent.release, name="amber-ft"),
                  checkpoints=ckpts, data=dataclasses.replace(parent.data, chunks=(chunk,)))
    return DerivedManifest(**fields, derived_from=(ParentRef(
        repo="acme/amber", revision="v0.1.0", manifest_sha256=parent_sha, checkpoint=at,
        root_digest=base.root_digest),))


def index(store, manifest: Manifest, sha: str, location: str) -> None:
    with store.write() as conn:
        index_manifest(conn, store, manifest, manifest_sha256=sha,
                       placement=Placement(location=location), signer=Signer(), now=utc_now())


@pytest.fixture
def store(db_url):
    with open_store(db_url) as s:
        yield s


def test_derived_from_links_releases(store, releases):
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
        ("acme/amber", "v0.1.0", sha, "ckpt_001", "ckpt_000-ft", "fork")
    first = show_checkpoint(store, checkpoint_id(store, "amber-ft@ckpt_000-ft"))
    # the window starts after the parent checkpoint in the other release (step 8)
    assert [(t.chunk_index, t.first_step, t.last_step) for t in first.trained] == [(0, 9, 12)]
    assert {c.name for c in first.ancestors} == {"ckpt_000", "ckpt_001"}


def test_a_parent_that_is_not_indexed_is_still_a_node(store, releases):
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
