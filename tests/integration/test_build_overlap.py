"""The build hashes on worker threads while its caller loads the key and steps
(``start_build``), and while it validates the records, checks the out folder and runs each
step's ``prepare`` over a draft manifest; any error there stops the hashing."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import pytest

from llm360.errors import InputError, Llm360Error
from llm360.registry.build import (BuildContext, BuildOptions, DraftContext, build_release,
                                   start_build)

OPTIONS = BuildOptions(created="2026-11-27T00:00:00Z")


def _hash_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("llm360-hash")]


class _Recorder:
    name = "recorder"

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.draft: DraftContext | None = None
        self.ctx: BuildContext | None = None

    def prepare(self, draft: DraftContext) -> None:
        self.calls.append("prepare")
        self.draft = draft

    def run(self, ctx: BuildContext) -> None:
        self.calls.append("run")
        self.ctx = ctx

    def close(self) -> None:
        self.calls.append("close")


def test_prepare_sees_a_draft_that_differs_from_the_manifest_only_in_digests(
        synthetic_run: Path, tmp_path: Path) -> None:
    shutil.rmtree(synthetic_run / ".llm360")  # nothing cached: every file is hashed
    step = _Recorder()
    build_release(synthetic_run, tmp_path / "rel", options=OPTIONS, steps=[step])
    assert step.calls == ["prepare", "run", "close"]
    draft, final = step.draft.draft, step.ctx.manifest
    placeholders = step.draft.placeholders
    assert [a.sha256 for a in draft.artifacts] == [placeholders[a.path] for a in draft.artifacts]
    assert len(set(placeholders.values())) == len(placeholders)  # one per file
    assert not {a.sha256 for a in draft.artifacts} & {a.sha256 for a in final.artifacts}
    assert [a.size for a in draft.artifacts] == [a.size for a in final.artifacts]
    assert step.draft.signature == step.ctx.signature  # unsigned: foreseen exactly
    assert step.draft.signed == frozenset()
    assert [(c.name, c.step, c.tokens_seen, c.parents, c.data_chunks, c.metrics, c.files)
            for c in draft.checkpoints] == [
        (c.name, c.step, c.tokens_seen, c.parents, c.data_chunks, c.metrics, c.files)
        for c in final.checkpoints]
    assert [a.path for a in draft.artifacts] == [a.path for a in final.artifacts]
    assert draft.release == final.release and draft.training == final.training
    assert step.draft.records is step.ctx.records
    assert _hash_threads() == []


def test_a_bad_record_stops_the_hashing(synthetic_run: Path, tmp_path: Path) -> None:
    shutil.rmtree(synthetic_run / ".llm360")
    (synthetic_run / "evals" / "ckpt_001.json").write_text('{"checkpoint": 1}')
    step = _Recorder()
    with pytest.raises(Llm360Error, match="ckpt_001.json"):
        build_release(synthetic_run, tmp_path / "rel", options=OPTIONS, steps=[step])
    assert step.calls == ["close"] and _hash_threads() == []
    assert not (tmp_path / "rel").exists()


def test_a_refused_out_folder_stops_the_hashing_and_is_left_alone(synthetic_run: Path,
                                                                  tmp_path: Path) -> None:
    shutil.rmtree(synthetic_run / ".llm360")
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("mine")
    with pytest.raises(InputError, match="not a release written by llm360"):
        build_release(synthetic_run, mine, options=OPTIONS, steps=[_Recorder()])
    assert _hash_threads() == []
    assert [p.name for p in mine.iterdir()] == ["notes.txt"]


def test_a_rebuild_with_every_digest_cached_tells_prepare_nothing_is_hashing(
        synthetic_run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    from llm360.registry import hashing

    monkeypatch.setattr(hashing, "RACY_WINDOW_NS", 50_000_000)
    time.sleep(0.12)
    build_release(synthetic_run, tmp_path / "rel", options=OPTIONS)
    time.sleep(0.12)
    step = _Recorder()
    build_release(synthetic_run, tmp_path / "rel", options=OPTIONS, steps=[step])
    assert step.draft.hashing is False


def test_a_started_build_hashes_while_its_caller_works_and_finishes_once(
        synthetic_run: Path, tmp_path: Path) -> None:
    shutil.rmtree(synthetic_run / ".llm360")
    hashed: list[int] = []
    with start_build(synthetic_run, tmp_path / "rel", options=OPTIONS,
                     progress=hashed.append) as pending:
        for thread in _hash_threads():  # hashing needs no call from the caller to go on
            thread.join(timeout=60)
        assert sum(hashed) == sum(p.stat().st_size for p in synthetic_run.rglob("*")
                                  if p.is_file() and ".llm360" not in p.parts)
        assert not (tmp_path / "rel").exists()  # nothing is written before finish
        step = _Recorder()
        result = pending.finish(steps=[step])
        assert step.calls == ["prepare", "run", "close"]
        with pytest.raises(RuntimeError, match="finished or cancelled already"):
            pending.finish()
    assert result.manifest_path.is_file() and _hash_threads() == []


def test_leaving_a_started_build_unfinished_stops_the_hashing_and_writes_nothing(
        synthetic_run: Path, tmp_path: Path) -> None:
    shutil.rmtree(synthetic_run / ".llm360")
    with pytest.raises(InputError, match="wrong key"):
        with start_build(synthetic_run, tmp_path / "rel", options=OPTIONS):
            raise InputError("wrong key")  # e.g. the signing key fails to load
    assert _hash_threads() == []
    assert not (tmp_path / "rel").exists()
    assert not (synthetic_run / ".llm360" / "hash-cache.json").exists()
