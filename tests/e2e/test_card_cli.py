"""`llm360 card` and the cards step of `llm360 release build`, through the CLI."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from llm360.cli.main import cli

CREATED = "2026-11-27T00:00:00Z"


def _build(run: Path, out: Path, *extra: str):
    return CliRunner().invoke(cli, ["release", "build", str(run), "--out", str(out),
                                    "--created", CREATED, *extra])


def test_release_build_renders_cards_by_default(synthetic_run: Path, tmp_path: Path):
    result = _build(synthetic_run, tmp_path / "rel")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "rel" / "README.md").is_file()
    assert (tmp_path / "rel" / "cards" / "ckpt_002.md").is_file()
    assert (tmp_path / "rel" / "plots" / "train_loss.png").is_file()


def test_no_cards_flag(synthetic_run: Path, tmp_path: Path):
    result = _build(synthetic_run, tmp_path / "rel", "--no-cards")
    assert result.exit_code == 0, result.output
    assert not (tmp_path / "rel" / "README.md").exists()
    assert not (tmp_path / "rel" / "plots").exists()


def test_card_command_renders_and_reports_json(synthetic_run: Path, tmp_path: Path):
    assert _build(synthetic_run, tmp_path / "rel", "--no-cards").exit_code == 0
    out = tmp_path / "cards"
    result = CliRunner().invoke(cli, ["card", str(tmp_path / "rel" / "manifest.json"),
                                      "--out", str(out), "--root", str(synthetic_run), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert "README.md" in data["files"] and "DATA_CARD.md" in data["files"]
    assert all((out / rel).is_file() for rel in data["files"])


def test_card_command_bad_input(tmp_path: Path):
    result = CliRunner().invoke(cli, ["card", str(tmp_path / "nope.json"), "--out",
                                      str(tmp_path / "o")])
    assert result.exit_code == 2
    assert "manifest not found" in result.output
