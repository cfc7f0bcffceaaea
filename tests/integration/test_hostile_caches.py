"""The caches a run carries in ``RUN/.llm360`` are the builder's own: entries written by anyone
else (a run copied from someone, a crafted tarball) match nothing, so the build validates, reads
and renders for itself. Each "attacker" here writes through llm360's own cache code, under
another user's secret (another XDG_CACHE_HOME)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from llm360.errors import SchemaError
from llm360.registry import layout
from llm360.registry.build.release import BuildOptions, build_release
from llm360.registry.cards._cache import RenderCache
from llm360.registry.manifest.schema import Validated
from llm360.registry.run.chunks import ChunkCache, ChunkFacts

OPTIONS = BuildOptions(created="2026-11-27T00:00:00Z")


@pytest.fixture
def as_other_user(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Runs the body under another user's cache secret, then back under this user's."""
    from contextlib import contextmanager

    mine = str(tmp_path / "my-cache")
    monkeypatch.setenv("XDG_CACHE_HOME", mine)

    @contextmanager
    def other():
        monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "their-cache"))
        try:
            yield
        finally:
            monkeypatch.setenv("XDG_CACHE_HOME", mine)
    return other


def test_a_memo_from_elsewhere_does_not_vouch_for_a_bad_record(synthetic_run: Path,
                                                               tmp_path: Path,
                                                               as_other_user) -> None:
    record = synthetic_run / "evals" / "ckpt_001.json"
    data = json.loads(record.read_text())
    data["metrics"]["heldout_loss"] = "low"
    bad = json.dumps(data).encode()
    record.write_bytes(bad)
    with as_other_user():
        memo = Validated(synthetic_run / layout.VALID_CACHE)
        memo.add("eval", bad)
        memo.save()
    with pytest.raises(SchemaError, match="ckpt_001.json"):
        build_release(synthetic_run, tmp_path / "rel", options=OPTIONS)


def test_chunk_facts_from_elsewhere_are_not_signed(synthetic_run: Path, tmp_path: Path,
                                                   as_other_user) -> None:
    honest = build_release(synthetic_run, tmp_path / "a", options=OPTIONS).manifest
    (synthetic_run / layout.CHUNK_CACHE).unlink()
    chunk = honest.data.chunks[0]
    with as_other_user():
        cache = ChunkCache(synthetic_run / ".llm360")
        real = cache.facts(synthetic_run, chunk.path, chunk.sha256, fmt=honest.data.merkle)
        key = next(iter(cache._entries))
        cache._entries[key] = dataclasses.asdict(
            ChunkFacts(sequences=real.sequences, seq_len=real.seq_len, tokens=real.tokens,
                       merkle_root="f" * 64))
        cache._changed = True
        cache.save()
    again = build_release(synthetic_run, tmp_path / "b", options=OPTIONS).manifest
    assert again.data.chunks[0].merkle_root == chunk.merkle_root != "f" * 64


def test_cards_from_elsewhere_are_rendered_again(synthetic_run: Path, tmp_path: Path,
                                                 as_other_user) -> None:
    with as_other_user():
        build_release(synthetic_run, tmp_path / "theirs", options=OPTIONS)
        cache = RenderCache(synthetic_run)
        record = json.loads((cache.dir / "record.json").read_text())
        files = record["groups"]["cards"]["files"]
        planted = b"# Not what the records say\n"
        for rel in files:
            (cache.dir / "cards" / rel).unlink()
            (cache.dir / "cards" / rel).write_bytes(planted)
        import hashlib

        record["groups"]["cards"]["files"] = {rel: hashlib.sha256(planted).hexdigest()
                                              for rel in files}
        (cache.dir / "record.json").write_text(json.dumps(record))
    out = tmp_path / "mine"
    build_release(synthetic_run, out, options=OPTIONS)
    assert b"Not what the records say" not in (out / "README.md").read_bytes()
    assert (out / "README.md").read_bytes() == (tmp_path / "theirs" / "README.md").read_bytes()
