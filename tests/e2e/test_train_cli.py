"""`llm360 data prepare` + `llm360 train` + `llm360 release build` through the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

pytest.importorskip("torch")
pytest.importorskip("tokenizers")

from llm360.cli.main import cli  # noqa: E402

pytestmark = pytest.mark.slow


def test_prepare_train_release(tmp_path: Path) -> None:
    runner = CliRunner()
    run = tmp_path / "run"
    r = runner.invoke(cli, ["data", "prepare", "--run", str(run), "--chunks", "2",
                            "--max-corpus-bytes", "50000", "--json"])
    assert r.exit_code == 0, r.output
    prep = json.loads(r.output)
    assert prep["chunks"] == 2 and len(prep["chunk_sha256"]) == 2
    r = runner.invoke(cli, ["train", "--run", str(run), "--preset", "tiny"])
    assert r.exit_code == 0, r.output
    assert "ckpt_001: step" in r.output and "tokens/s" in r.output
    r = runner.invoke(cli, ["train", "--run", str(run)])
    assert r.exit_code == 2 and "already has checkpoints" in r.output
    r = runner.invoke(cli, ["train", "--run", str(run), "--resume-from",
                            str(run / "checkpoints/ckpt_001")])
    assert r.exit_code == 2 and "nothing left to train" in r.output
    r = runner.invoke(cli, ["train", "--run", str(tmp_path / "nothing")])
    assert r.exit_code == 2 and "data prepare" in r.output
    r = runner.invoke(cli, ["release", "build", str(run), "--out", str(tmp_path / "rel"),
                            "--sign", "none", "--created", "2026-11-27T00:00:00Z"])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "rel/manifest.json").is_file()
