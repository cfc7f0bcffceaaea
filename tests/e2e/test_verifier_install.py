"""`pip install llm360` without the [cards] extra: build --no-cards and verify work; the commands
that render cards say which extra to install (exit 2)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from llm360.cli.main import cli


@pytest.fixture
def no_cards_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(sys.modules):
        if (name.split(".")[0] in ("jinja2", "PIL")
                or name.startswith("llm360.registry.cards")):
            monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "jinja2", None)  # `import jinja2` raises ImportError
    monkeypatch.setitem(sys.modules, "PIL", None)


def test_build_and_verify_need_no_cards_extra(no_cards_extra, synthetic_run: Path,
                                              tmp_path: Path) -> None:
    out = tmp_path / "rel"
    built = CliRunner().invoke(cli, ["release", "build", str(synthetic_run), "--out", str(out),
                                     "--no-cards"])
    assert built.exit_code == 0, built.output
    verified = CliRunner().invoke(cli, ["verify", str(out / "manifest.json"), "--allow-unsigned"])
    assert verified.exit_code == 0 and "VERIFIED" in verified.output, verified.output


@pytest.mark.parametrize("command", [["release", "build", "{run}", "--out", "{out}"],
                                     ["card", "{out}/manifest.json", "--out", "{out}/cards"]])
def test_card_commands_name_the_extra(no_cards_extra, synthetic_run: Path, tmp_path: Path,
                                      command: list[str]) -> None:
    args = [a.format(run=synthetic_run, out=tmp_path / "rel") for a in command]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2, result.output
    assert "jinja2, Pillow" in result.output
    assert "hint: pip install 'llm360[cards]'" in result.output
    assert not (tmp_path / "rel").exists()
