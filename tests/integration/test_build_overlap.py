"""The build hashes on worker threads while it validates the records and checks the out
folder; any error there stops the hashing and writes nothing."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import pytest

from llm360.errors import InputError, Llm360Error
from llm360.registry.build.release import BuildOptions, build_release

OPTIONS = BuildOptions(created="2026-11-27T00:00:00Z")


def _hash_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("llm360-hash")]


def test_a_bad_record_stops_the_hashing(synthetic_run: Path, tmp_path: Path) -> None:
    shutil.rmtree(synthetic_run / ".llm360")
    (synthetic_run / "evals" / "ckpt_001.json").write_text('{"checkpoint": 1}')
    with pytest.raises(Llm360Error, match="ckpt_001.json"):
        build_release(synthetic_run, tmp_path / "rel", options=OPTIONS)
    assert _hash_threads() == []
    assert not (tmp_path / "rel").exists()


def test_a_refused_out_folder_stops_the_hashing_and_is_left_alone(synthetic_run: Path,
                                                                  tmp_path: Path) -> None:
    shutil.rmtree(synthetic_run / ".llm360")
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("mine")
    with pytest.raises(InputError, match="not a release written by llm360"):
        build_release(synthetic_run, mine, options=OPTIONS)
    assert _hash_threads() == []
    assert [p.name for p in mine.iterdir()] == ["notes.txt"]
