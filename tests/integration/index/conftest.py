"""The registry's databases (SQLite, and a real PostgreSQL server these tests start themselves:
initdb into a temporary folder, a free port on 127.0.0.1, pg_ctl stop at the end) and signed
releases built from the synthetic run."""

from __future__ import annotations

import contextlib
import dataclasses
import shutil
from pathlib import Path

import pytest
from hub_server.fixtures import make_release

from llm360.registry.index._writer import Placement, Signer, index_manifest
from llm360.registry.index.store import utc_now
from llm360.registry.manifest.models import (
    DERIVED_SCHEMA_VERSION,
    Checkpoint,
    DerivedFrom,
    Manifest,
    ParentCheckpoint,
    ParentRelease,
    ParentSigner,
)


@pytest.fixture(scope="session")
def postgres_server():
    """A PostgreSQL server of our own (``_postgres.temporary_server``); where none can be
    started the tests fail, saying what to install."""
    from _postgres import PostgresUnavailable, temporary_server

    with contextlib.ExitStack() as stack:
        try:
            url = stack.enter_context(temporary_server())
        except PostgresUnavailable as exc:
            pytest.fail(str(exc), pytrace=False)
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path: Path) -> str:
    """A fresh, empty registry database of each kind."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'registry.db'}"
    from _postgres import new_database

    return new_database(request.getfixturevalue("postgres_server"))


def build_release(base: Path, *, name: str, version: str = "0.1.0", checkpoints: int = 3,
                  key: Path, description: str = "A synthetic release.") -> Path:
    """A signed release of the synthetic run (the same seed: the first checkpoints and chunks
    of two such releases are the same bytes)."""
    from _synthetic import write_synthetic_run

    run = write_synthetic_run(base / f"{name}-run", checkpoints=checkpoints)
    meta = run / "llm360.yaml"
    text = meta.read_text().replace("name: synthetic-tiny", f"name: {name}")
    text = text.replace("version: 0.1.0", f"version: {version!r}".replace("'", '"'))
    text = text.replace("description: A synthetic run written by llm360's test helpers.",
                        f"description: {description!r}".replace("'", '"'))
    meta.write_text(text)
    return make_release(run, base / f"{name}-release", key, cards=False)


@pytest.fixture(scope="session")
def releases(tmp_path_factory, hub_keys) -> dict[str, Path]:
    """``amber``: 3 checkpoints; ``amber-more``: the same run continued to 5 checkpoints (its
    first three checkpoints are amber's, by content), both signed with ``hub_keys``."""
    base = tmp_path_factory.mktemp("index-releases")
    key = hub_keys[0]
    return {"amber": build_release(base, name="amber", key=key),
            "amber-more": build_release(base, name="amber-more", checkpoints=5, key=key)}


@pytest.fixture
def release_copy(releases, tmp_path):
    """A fresh copy of one of ``releases`` (tests may tamper with it)."""
    def copy(name: str) -> Path:
        out = tmp_path / f"copy-{name}"
        shutil.copytree(releases[name], out)
        return out
    return copy


# -- a release deriving from another by reference (manifest ``derived_from``) --------------

#: the commit of the parent's model repository a derived release names
PARENT_COMMIT = "0123456789abcdef0123456789abcdef01234567"


def _derived_release(parent: Manifest, parent_sha: str, *, at: str) -> Manifest:
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
    return dataclasses.replace(
        parent, release=dataclasses.replace(parent.release, name="amber-ft"),
        checkpoints=ckpts, data=dataclasses.replace(parent.data, chunks=(chunk,)),
        schema_version=DERIVED_SCHEMA_VERSION, derived_from=DerivedFrom(
            relation="fork",
            release=ParentRelease(name=parent.release.name, version=parent.release.version,
                                  manifest_sha256=parent_sha, signer=ParentSigner(method="key"),
                                  repo="acme/amber", revision=PARENT_COMMIT),
            checkpoint=ParentCheckpoint(name=at, step=base.step, tokens_seen=base.tokens_seen,
                                        root_digest=base.root_digest)))


def _index(store, manifest: Manifest, sha: str, location: str) -> None:
    with store.write() as conn:
        index_manifest(conn, store, manifest, manifest_sha256=sha,
                       placement=Placement(location=location), signer=Signer(), now=utc_now())


@pytest.fixture
def derived_release():
    """``derived_release(parent, parent_sha, at=CKPT)``: a manifest with ``derived_from``."""
    return _derived_release


@pytest.fixture
def index():
    """``index(store, manifest, sha, location)``: the registry's writer, without verifying."""
    return _index
