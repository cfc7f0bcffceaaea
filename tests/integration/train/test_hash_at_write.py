"""After training, release build hashes no checkpoint byte: the trainer recorded them."""

from __future__ import annotations

import os
from pathlib import Path

from llm360.registry import layout
from llm360.registry.build.hashing import CACHE_FILE, HashCache, hash_files
from llm360.registry.build.release import BuildOptions, build_release
from llm360.registry.run.reader import read_run

from .conftest import copy_data_only


def test_build_after_training_reads_no_checkpoint_again(prepared_run: Path,
                                                        tmp_path: Path) -> None:
    from llm360.train import TrainOptions, train

    run = copy_data_only(prepared_run, tmp_path / "run")  # copies: new inodes, not recorded
    train(run, TrainOptions(preset="tiny", max_checkpoints=1))
    files = read_run(run).files  # what release build hashes
    # the checkpoints, and the trainer's source archive (written from bytes in memory)
    written = [f for f in files if f.startswith("checkpoints/") or f == layout.CODE_ARCHIVE]
    assert len(written) >= 7
    cache = HashCache(run / CACHE_FILE)
    hash_files(run, files, cache=cache)
    assert cache.hits == len(written)
    assert cache.hashed_bytes == sum(os.stat(run / f).st_size for f in files
                                     if f not in written)
    build_release(run, tmp_path / "release",  # and it builds
                  options=BuildOptions(created="2026-11-27T00:00:00Z"))
