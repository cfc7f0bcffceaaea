"""Bad input to `data prepare` and `train` is a one-line error (exit 2) said before torch (and
the tokenizer) is imported: seconds on a busy machine that the user would wait for nothing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

_INVOKE = """
import sys
from click.testing import CliRunner
from llm360.cli.main import cli
out = CliRunner().invoke(cli, sys.argv[2:])
assert out.exit_code == 2 and sys.argv[1] in out.output, (out.exit_code, out.output)
loaded = [m for m in ("torch", "tokenizers") if m in sys.modules]
assert not loaded, f"imported {loaded} before saying: {out.output}"
"""


def _prepared(root: Path) -> Path:
    for rel in ("data/index.json", "config/data.json"):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text("{}")
    return root


@pytest.mark.parametrize("needle, args", [
    ("/nonexistent.txt: cannot read the corpus file",
     ["data", "prepare", "--run", "{tmp}/run", "--corpus", "/nonexistent.txt"]),
    ("no prepared data", ["train", "--run", "{tmp}/unprepared"]),
    ("checkpoint folder not found",
     ["train", "--run", "{tmp}/prepared", "--resume-from", "{tmp}/nope"]),
    ("cannot read the config", ["train", "--run", "{tmp}/prepared", "--config",
                                "{tmp}/nope.json"]),
])
def test_bad_input_fails_before_torch_is_imported(needle: str, args: list[str],
                                                  tmp_path: Path) -> None:
    _prepared(tmp_path / "prepared")
    argv = [a.format(tmp=tmp_path) for a in args]
    result = subprocess.run([sys.executable, "-c", _INVOKE, needle, *argv],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
