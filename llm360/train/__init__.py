"""Training: corpus -> data chunks -> a LLaMA trained chunk by chunk into a run directory.

Imports torch; ``llm360.registry`` never imports this package.
"""

from __future__ import annotations

from pathlib import Path

from llm360.train.config import PRESETS, ModelConfig, TrainConfig
from llm360.train.data import PrepareResult, prepare_data
from llm360.train.loop import TrainOptions, TrainResult, train

__all__ = ["PRESETS", "ModelConfig", "TrainConfig", "PrepareResult", "prepare_data",
           "TrainOptions", "TrainResult", "train", "run_demo"]


def run_demo(run_dir: Path, *, chunks: int = 3, max_corpus_bytes: int = 200_000) -> TrainResult:
    """Prepare the default corpus and train the tiny preset on it (well under a minute on 2
    CPU cores): the run directory a demo releases."""
    prepare_data(Path(run_dir), chunks=chunks, max_corpus_bytes=max_corpus_bytes)
    return train(Path(run_dir), TrainOptions(preset="tiny"))
