"""A real fork (`train --resume-from ckpt_001 --config other-lr.json`): its release's cards name
the right lines, configurations and final checkpoint."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from llm360.registry.build.release import BuildOptions, build_release

pytestmark = pytest.mark.slow


def test_fork_release_cards(run_copy: Path, tmp_path: Path) -> None:
    from llm360.train import TrainOptions, train

    main_lr = json.loads((run_copy / "config/train.json").read_bytes())["lr"]
    other = tmp_path / "other-lr.json"
    other.write_text(json.dumps({"train": {"lr": main_lr / 3}}))
    result = train(run_copy, TrainOptions(resume_from=run_copy / "checkpoints/ckpt_001",
                                          config_file=other))
    assert [c["name"] for c in result.checkpoints] == ["ckpt_002-fork1"]
    out = tmp_path / "rel"
    build_release(run_copy, out, options=BuildOptions(created="2026-11-27T00:00:00Z"))
    readme = (out / "README.md").read_text()
    header = yaml.safe_load(readme.split("---\n", 2)[1])
    assert header["llm360_checkpoint"] == "ckpt_002" and header["llm360_line"] == "main"
    forks = [line.split("`")[1] for line in readme.splitlines()
             if line.startswith("| [`ckpt_") and "(fork)" in line.split("|")[1]]
    assert forks == ["ckpt_002-fork1"]
    fork_card = (out / "cards/ckpt_002-fork1.md").read_text()
    assert f"| `lr` | {main_lr / 3:.4g} | {main_lr:.4g} |" in fork_card
    assert f"| `lr` | {main_lr:.4g} | {main_lr / 3:.4g} |" in readme  # main, fork1
    assert "Line: fork1, a fork that starts here, continuing from `ckpt_001`" in fork_card
    assert f"| `lr` | {main_lr:.4g} |" in (out / "cards/ckpt_002.md").read_text()
