"""`llm360 train` on a disk that fills while the first checkpoint is written (issue 8, item
12): exit 2 with one line naming the file, no half-written checkpoint, no temporary files."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

from llm360.cli.main import cli

from .conftest import copy_data_only

pytestmark = pytest.mark.slow


def test_disk_full_while_writing_a_checkpoint(prepared_run: Path, tmp_path: Path,
                                              monkeypatch) -> None:
    run = copy_data_only(prepared_run, tmp_path / "run")
    real_fsync = os.fsync
    refused: list[str] = []

    def fsync(fd: int) -> None:
        # the disk is full for the checkpoint's files (the kernel reports it at write or
        # fsync time); every other write, and every directory fsync, goes through
        if stat.S_ISREG(os.fstat(fd).st_mode):
            path = os.readlink(f"/proc/self/fd/{fd}")
            if "/.llm360/staging/" in path:
                refused.append(path)
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real_fsync(fd)

    if not Path("/proc/self/fd").is_dir():
        pytest.skip("needs /proc to name the file being written")
    monkeypatch.setattr(os, "fsync", fsync)
    result = CliRunner().invoke(cli, ["train", "--run", str(run), "--preset", "tiny"])
    monkeypatch.setattr(os, "fsync", real_fsync)
    assert refused, result.output
    lines = [line for line in result.output.splitlines() if line.startswith(("error", "hint"))]
    assert result.exit_code == 2, result.output
    assert lines[0].startswith("error: no space left on device writing ")
    assert "/.llm360/staging/ckpt_000." in lines[0] and "Traceback" not in result.output
    assert not (run / "checkpoints" / "ckpt_000").exists()
    staging = run / ".llm360" / "staging"
    assert not staging.exists() or not any(staging.iterdir())
    assert not [p for p in run.rglob("*.tmp")]
