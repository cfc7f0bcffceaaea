"""Issue 21, item 13: one `llm360 train` per run. While another process writes the run (two
`train --resume-from ckpt_001` started together), the second exits 2 at once, naming the
first (pid, host, start time), and writes nothing; no model is trained twice here."""

from __future__ import annotations

import socket
from pathlib import Path

from _runlock import lock_held_elsewhere
from click.testing import CliRunner

from llm360.cli.main import cli

from .conftest import copy_data_only


def test_a_second_train_on_a_run_exits_2_naming_the_first(prepared_run: Path,
                                                           tmp_path: Path) -> None:
    run = copy_data_only(prepared_run, tmp_path / "run")
    with lock_held_elsewhere(run) as pid:
        result = CliRunner().invoke(cli, ["train", "--run", str(run), "--preset", "tiny"],
                                    catch_exceptions=False)
        lines = [line for line in result.output.splitlines() if line.strip()]
        assert result.exit_code == 2, result.output
        assert lines[0].startswith(f"error: {run}: another llm360 process is writing this "
                                   f"run: llm360 train pid {pid} on {socket.gethostname()}, "
                                   "started "), result.output
        assert len(lines) <= 2 and "Traceback" not in result.output
    assert not (run / "checkpoints").exists() and not (run / "config" / "model.json").exists()
