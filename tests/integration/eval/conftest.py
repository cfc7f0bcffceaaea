"""A tiny model trained once per session on 2 data chunks (2 checkpoints) for the harness tests
(read-only: tests that write to it copy it first)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

#: a small corpus: the run trains in seconds
MAX_CORPUS_BYTES = 80_000


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("torch")
    pytest.importorskip("tokenizers")
    from llm360.train import TrainOptions, prepare_data, train

    run = tmp_path_factory.mktemp("eval") / "run"
    prepare_data(run, chunks=2, max_corpus_bytes=MAX_CORPUS_BYTES)
    train(run, TrainOptions(preset="tiny"))
    return run


@pytest.fixture
def tiny_run_copy(tiny_run: Path, tmp_path: Path) -> Path:
    run = tmp_path / "run"
    shutil.copytree(tiny_run, run)
    return run
