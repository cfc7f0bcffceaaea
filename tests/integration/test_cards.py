"""Cards inside a real release build: rendered last, links resolve, still verifies; a rebuild
with nothing changed renders nothing; the build's records are used without a second hash."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from llm360.cli.main import cli
from llm360.errors import InputError
from llm360.registry import cards, installed
from llm360.registry.build.release import BuildOptions, build_release
from llm360.registry.cards import _inputs, render_cards
from llm360.registry.verify.policy import TrustPolicy
from llm360.registry.verify.verifier import verify_release

CREATED = "2026-11-27T00:00:00Z"


def _links(text: str) -> list[str]:
    return [t for t in re.findall(r"\]\(([^)]+)\)", text) if "://" not in t]


def _tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and p.suffix in (".md", ".png")}


def test_release_build_renders_cards_with_working_links(synthetic_run: Path, tmp_path: Path):
    out = tmp_path / "rel"
    build_release(synthetic_run, out, options=BuildOptions(created=CREATED))
    cards = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.md"))
    assert cards == ["DATA_CARD.md", "README.md", "cards/ckpt_000.md", "cards/ckpt_001.md",
                     "cards/ckpt_002.md"]
    assert len(list((out / "plots").glob("*.png"))) == 8
    for rel in cards:
        page = out / rel
        for link in _links(page.read_text()):
            assert (page.parent / link).resolve().is_file(), f"{rel}: broken link {link}"
    assert not [p for p in out.rglob("*.tmp")]
    report = verify_release(out / "manifest.json", policy=TrustPolicy(allow_unsigned=True))
    assert report.ok, report.problems


def test_rerender_is_identical_and_finds_the_run(synthetic_run: Path, tmp_path: Path):
    out = tmp_path / "rel"
    build_release(synthetic_run, out, options=BuildOptions(created=CREATED))
    result = render_cards(out / "manifest.json", tmp_path / "again",
                          policy=TrustPolicy(allow_unsigned=True))
    assert "plots/train_loss.png" in result.files  # logs found through the recorded run
    assert result.signature.method == "unsigned"
    for rel in result.files:
        assert (tmp_path / "again" / rel).read_bytes() == (out / rel).read_bytes(), rel


def test_a_link_inside_out_is_never_written_through(synthetic_run: Path, tmp_path: Path):
    out = tmp_path / "rel"
    build_release(synthetic_run, out, options=BuildOptions(created=CREATED))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (tmp_path / "again").mkdir()
    (tmp_path / "again" / "plots").symlink_to(elsewhere)
    result = CliRunner().invoke(cli, ["card", str(out), "--out", str(tmp_path / "again"),
                                      "--allow-unsigned"])
    assert result.exit_code == 2 and "symbolic link" in result.output, result.output
    assert list(elsewhere.iterdir()) == []


def test_build_step_uses_the_builds_records_without_hashing_again(fork_run: Path, tmp_path,
                                                                  monkeypatch):
    def no_reread(*args, **kwargs):
        raise AssertionError("the cards step read a run file back to hash it")

    monkeypatch.setattr(_inputs, "_read_listed", no_reread)
    build_release(fork_run, tmp_path / "rel", options=BuildOptions(created=CREATED))
    assert (tmp_path / "rel" / "cards" / "ckpt_003-fork1.md").is_file()


def _spy(monkeypatch) -> dict[str, int]:
    """Counts the plots drawn and the cards rendered."""
    calls = {"plots": 0, "cards": 0}
    real_plots, real_cards = cards.render_plots, cards.render_markdown

    def plots(specs):
        calls["plots"] += 1
        return real_plots(specs)

    def cards_(view):
        calls["cards"] += 1
        return real_cards(view)

    monkeypatch.setattr(cards, "render_plots", plots)
    monkeypatch.setattr(cards, "render_markdown", cards_)
    return calls


def test_unchanged_rebuild_renders_nothing(fork_run: Path, tmp_path: Path, monkeypatch):
    calls = _spy(monkeypatch)
    out = tmp_path / "rel"
    build_release(fork_run, out, options=BuildOptions(created=CREATED))
    first = _tree(out)
    assert calls == {"plots": 1, "cards": 1}
    build_release(fork_run, out, options=BuildOptions(created=CREATED))
    assert calls == {"plots": 1, "cards": 1}, "an unchanged rebuild rendered again"
    assert _tree(out) == first
    record = fork_run / ".llm360" / "cards" / "record.json"
    assert record.is_file() and not (out / ".llm360").exists()

    # a new release time changes the manifest (the cards cite it), not the plots' inputs
    build_release(fork_run, out, options=BuildOptions(created="2026-11-28T00:00:00Z"))
    assert calls == {"plots": 1, "cards": 2}

    # a changed log renders the plots and the cards again
    log = fork_run / "logs" / "train-fork1.jsonl"
    log.write_bytes(log.read_bytes().replace(b'"grad_norm":1.3', b'"grad_norm":1.4'))
    build_release(fork_run, out, options=BuildOptions(created=CREATED))
    assert calls == {"plots": 2, "cards": 3}
    assert (out / "plots" / "grad_norm.png").read_bytes() != first["plots/grad_norm.png"]


def test_a_changed_renderer_or_cache_byte_renders_again(synthetic_run: Path, tmp_path: Path,
                                                        monkeypatch):
    calls = _spy(monkeypatch)
    out = tmp_path / "rel"
    build_release(synthetic_run, out, options=BuildOptions(created=CREATED))
    first = _tree(out)
    cached = synthetic_run / ".llm360" / "cards" / "cards" / "README.md"
    cached.unlink()
    cached.write_bytes(b"tampered")  # a new inode: the release's hard link keeps its bytes
    build_release(synthetic_run, out, options=BuildOptions(created=CREATED))
    assert calls == {"plots": 1, "cards": 2}
    assert _tree(out) == first
    monkeypatch.setattr(cards, "renderer_version", lambda: "another template version")
    build_release(synthetic_run, out, options=BuildOptions(created=CREATED))
    assert calls == {"plots": 2, "cards": 3}


def test_a_link_at_the_cache_folder_is_never_written_through(synthetic_run: Path, tmp_path):
    from llm360.registry.cards._cache import RenderCache

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    run = tmp_path / "linked"
    run.mkdir()
    (run / ".llm360").symlink_to(elsewhere)
    cache = RenderCache(run)
    cache.put("cards", "k", {"README.md": b"x"})
    assert cache.get("cards", "k") is None and not any(elsewhere.iterdir())


@pytest.mark.parametrize("stem", ["memorization_score"])
def test_runs_without_the_memorization_score_leave_it_out(synthetic_run, tmp_path, stem):
    build_release(synthetic_run, tmp_path / "rel", options=BuildOptions(created=CREATED))
    assert not (tmp_path / "rel" / "plots" / f"{stem}.png").exists()
    assert "Biderman" not in (tmp_path / "rel" / "README.md").read_text()


def test_the_render_cache_is_written_in_the_background_and_whole_when_the_build_returns(
        synthetic_run: Path, tmp_path: Path) -> None:
    import hashlib
    import json
    import threading

    out = tmp_path / "rel"
    build_release(synthetic_run, out, options=BuildOptions(created=CREATED))
    assert not [t for t in threading.enumerate() if t.name.startswith("llm360-cards-cache")]
    cache_dir = synthetic_run / ".llm360" / "cards"
    groups = json.loads((cache_dir / "record.json").read_text())["groups"]
    assert sorted(groups) == ["cards", "plots"]
    released = _tree(out)
    for group, entry in groups.items():
        for rel, sha in entry["files"].items():
            data = (cache_dir / group / rel).read_bytes()
            assert hashlib.sha256(data).hexdigest() == sha and released[rel] == data
    assert sorted(rel for entry in groups.values() for rel in entry["files"]) == sorted(released)


def _cli_build(run: Path, out: Path, *args: str) -> None:
    result = CliRunner().invoke(cli, ["release", "build", str(run), "--out", str(out),
                                      "--created", CREATED, *args])
    assert result.exit_code == 0, result.output


def test_build_release_writes_what_the_command_line_writes(synthetic_run: Path,
                                                           tmp_path: Path) -> None:
    """One behaviour: ``build_release()`` renders the cards and plots as ``llm360 release
    build`` does, and ``cards=False`` leaves them out as ``--no-cards`` does."""
    build_release(synthetic_run, tmp_path / "py", options=BuildOptions(created=CREATED))
    _cli_build(synthetic_run, tmp_path / "cli")
    assert "README.md" in _tree(tmp_path / "py")
    assert _tree(tmp_path / "py") == _tree(tmp_path / "cli")
    build_release(synthetic_run, tmp_path / "py-bare",
                  options=BuildOptions(created=CREATED, cards=False))
    _cli_build(synthetic_run, tmp_path / "cli-bare", "--no-cards")
    assert _tree(tmp_path / "py-bare") == _tree(tmp_path / "cli-bare") == {}
    for name in ("manifest.json", "release-files.json"):
        assert ((tmp_path / "py" / name).read_bytes()
                == (tmp_path / "cli" / name).read_bytes())


def test_cards_without_the_cards_extra_name_it_before_anything_is_written(
        synthetic_run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = installed.find_spec
    monkeypatch.setattr(installed, "find_spec",
                        lambda name: None if name == "jinja2" else real(name))
    with pytest.raises(InputError, match=r"needs jinja2.*\[cards\] extra") as raised:
        build_release(synthetic_run, tmp_path / "rel", options=BuildOptions(created=CREATED))
    assert "cards=False" in raised.value.hint and not (tmp_path / "rel").exists()
    build_release(synthetic_run, tmp_path / "rel",
                  options=BuildOptions(created=CREATED, cards=False))
