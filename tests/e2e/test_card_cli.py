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
                                      "--out", str(out), "--root", str(synthetic_run), "--json",
                                      "--allow-unsigned"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert "README.md" in data["files"] and "DATA_CARD.md" in data["files"]
    assert all((out / rel).is_file() for rel in data["files"])


def test_card_command_bad_input(tmp_path: Path):
    result = CliRunner().invoke(cli, ["card", str(tmp_path / "nope.json"), "--out",
                                      str(tmp_path / "o")])
    assert result.exit_code == 2
    assert "manifest not found" in result.output


def _run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def test_card_refuses_an_unsigned_manifest_unless_allowed(synthetic_run: Path, tmp_path: Path):
    assert _build(synthetic_run, tmp_path / "rel", "--no-cards").exit_code == 0
    manifest = tmp_path / "rel" / "manifest.json"
    refused = _run("card", manifest, "--out", tmp_path / "c")
    assert refused.exit_code == 2 and "unsigned" in refused.output
    assert not (tmp_path / "c").exists()
    allowed = _run("card", manifest, "--out", tmp_path / "c", "--allow-unsigned")
    assert allowed.exit_code == 0, allowed.output
    assert "unsigned" in allowed.output.splitlines()[0]
    readme = (tmp_path / "c" / "README.md").read_text()
    assert "**Unsigned**" in readme and "which is signed" not in readme


def test_card_verifies_the_signature_before_rendering(synthetic_run: Path, tmp_path: Path):
    private, public = tmp_path / "k.pem", tmp_path / "k.pub"
    other_private, other_public = tmp_path / "o.pem", tmp_path / "o.pub"
    assert _run("keygen", "--private", private, "--public", public).exit_code == 0
    assert _run("keygen", "--private", other_private, "--public", other_public).exit_code == 0
    assert _build(synthetic_run, tmp_path / "rel", "--no-cards", "--sign", "key", "--key",
                  private).exit_code == 0
    manifest = tmp_path / "rel" / "manifest.json"

    ok = _run("card", manifest, "--out", tmp_path / "c", "--key", public, "--json")
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.output)["signature"]["verified"] is True
    assert "**Signed with a key**" in (tmp_path / "c" / "README.md").read_text()

    no_key = _run("card", manifest, "--out", tmp_path / "c2")
    assert no_key.exit_code == 2 and "--key" in no_key.output
    wrong = _run("card", manifest, "--out", tmp_path / "c3", "--key", other_public)
    assert wrong.exit_code == 1 and "wrong key" in wrong.output
    manifest.write_bytes(manifest.read_bytes().replace(b"A synthetic run", b"A signed run"))
    tampered = _run("card", manifest, "--out", tmp_path / "c4", "--key", public)
    assert tampered.exit_code == 1 and "changed after it was signed" in tampered.output
    assert not (tmp_path / "c3").exists() and not (tmp_path / "c4").exists()


def test_card_out_replaces_only_what_llm360_rendered(synthetic_run: Path, tmp_path: Path):
    """Into a folder it rendered before, `card` writes again and removes its own stale
    plots; a user's README.md or plot in the way is refused before anything is written, and
    their other files stay."""
    assert _build(synthetic_run, tmp_path / "rel", "--no-cards").exit_code == 0
    out = tmp_path / "cards"
    args = ("card", tmp_path / "rel", "--out", out, "--allow-unsigned")
    assert _run(*args).exit_code == 0
    mine = out / "plots" / "mine.png"
    mine.write_bytes(b"\x89PNG\r\n\x1a\n not llm360's")
    stale = out / "plots" / "eval_gone.png"
    stale.write_bytes((out / "plots" / "train_loss.png").read_bytes())  # drawn here, now gone
    again = _run(*args)
    assert again.exit_code == 0, again.output
    assert not stale.exists() and mine.is_file()
    user_readme = b"# my project\n"
    (out / "README.md").write_bytes(user_readme)
    before = (out / "DATA_CARD.md").read_bytes()
    (out / "DATA_CARD.md").write_bytes(before.replace(b"llm360_release", b"x"))
    refused = _run(*args)
    assert refused.exit_code == 2, refused.output
    assert "README.md: exists and is not a card or plot llm360 rendered" in refused.output
    assert "Traceback" not in refused.output
    assert (out / "README.md").read_bytes() == user_readme  # nothing written
    (out / "README.md").unlink()
    (out / "DATA_CARD.md").write_bytes(before)
    (out / "plots" / "train_loss.png").write_bytes(b"a user's plot")
    assert _run(*args).exit_code == 2
    assert (out / "plots" / "train_loss.png").read_bytes() == b"a user's plot"
