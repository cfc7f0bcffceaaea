"""One tiny 3-chunk training run shared by the train integration tests (read-only: tests that
change a run copy it first)."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("tokenizers")

MAX_CORPUS_BYTES = 80_000
_PORT = [29700 + (os.getpid() % 200) * 5]


def subprocess_env(tmp: Path) -> dict:
    env = dict(os.environ, DS_ACCELERATOR="cpu", HF_HUB_OFFLINE="1", LLM360_DS_SKIP_SHM_OP="1",
               TORCH_EXTENSIONS_DIR=str(tmp / "torch_extensions"), PYTHONHASHSEED="0")
    for key in ("RANK", "LOCAL_RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT"):
        env.pop(key, None)
    return env


def free_port() -> int:
    """A distinct MASTER_PORT per multi-process test."""
    import socket

    while True:
        _PORT[0] += 1
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", _PORT[0]))
            except OSError:
                continue
        return _PORT[0]


def llm360_cmd() -> list[str]:
    return [sys.executable, "-m", "llm360.cli.main"]


def copy_data_only(src: Path, dst: Path) -> Path:
    """A fresh run directory with ``src``'s prepared data and nothing trained."""
    dst.mkdir(parents=True)
    for rel in ("data", "tokenizer", "config"):
        shutil.copytree(src / rel, dst / rel)
    for name in ("model.json", "train.json"):
        (dst / "config" / name).unlink(missing_ok=True)
    return dst


@pytest.fixture(scope="session")
def prepared_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from llm360.train import prepare_data

    run = tmp_path_factory.mktemp("train") / "prepared"
    prepare_data(run, chunks=3, max_corpus_bytes=MAX_CORPUS_BYTES)
    return run


@pytest.fixture(scope="session")
def trained_run(prepared_run: Path, tmp_path_factory: pytest.TempPathFactory):
    """(run directory, TrainResult) of the tiny preset on 3 chunks."""
    from llm360.train import TrainOptions, train

    run = copy_data_only(prepared_run, tmp_path_factory.mktemp("train") / "run")
    result = train(run, TrainOptions(preset="tiny"))
    return run, result


@pytest.fixture
def run_copy(trained_run, tmp_path: Path) -> Path:
    run = tmp_path / "run"
    shutil.copytree(trained_run[0], run)
    return run
