"""The README's "Your own trainer" example runs as it stands and gives a run that releases."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"

pytestmark = pytest.mark.slow


def _example() -> str:
    text = README.read_text("utf-8")
    section = text.split("\n## Your own trainer\n", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    assert len(blocks) == 1, "the section holds exactly one python example"
    return blocks[0]


def test_readme_writer_example_runs(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    script = tmp_path / "example.py"
    script.write_text(_example(), "utf-8")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(README.parent), os.environ.get("PYTHONPATH", "")])}
    result = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 checkpoints" in result.stdout
    assert (tmp_path / "my-release" / "manifest.json").is_file()
    assert sorted(p.name for p in (tmp_path / "my-run" / "checkpoints").iterdir()) == \
        ["ckpt_000", "ckpt_001", "ckpt_002"]
