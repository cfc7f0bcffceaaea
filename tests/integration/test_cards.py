"""Cards inside a real release build: rendered last, links resolve, still verifies."""

from __future__ import annotations

import re
from pathlib import Path

from llm360.registry.build import BuildOptions, build_release
from llm360.registry.cards import cards_step, render_cards
from llm360.registry.policy import TrustPolicy
from llm360.registry.verify import verify_release

CREATED = "2026-11-27T00:00:00Z"


def _links(text: str) -> list[str]:
    return [t for t in re.findall(r"\]\(([^)]+)\)", text) if "://" not in t]


def test_release_build_renders_cards_with_working_links(synthetic_run: Path, tmp_path: Path):
    out = tmp_path / "rel"
    build_release(synthetic_run, out, options=BuildOptions(created=CREATED), steps=(cards_step(),))
    cards = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.md"))
    assert cards == ["DATA_CARD.md", "README.md", "cards/ckpt_000.md", "cards/ckpt_001.md",
                     "cards/ckpt_002.md"]
    assert len(list((out / "plots").glob("*.png"))) == 4
    for rel in cards:
        page = out / rel
        for link in _links(page.read_text()):
            assert (page.parent / link).resolve().is_file(), f"{rel}: broken link {link}"
    assert not [p for p in out.rglob("*.tmp")]
    report = verify_release(out / "manifest.json", policy=TrustPolicy(allow_unsigned=True))
    assert report.ok, report.problems


def test_rerender_is_identical_and_finds_the_run(synthetic_run: Path, tmp_path: Path):
    out = tmp_path / "rel"
    build_release(synthetic_run, out, options=BuildOptions(created=CREATED), steps=(cards_step(),))
    result = render_cards(out / "manifest.json", tmp_path / "again")
    assert "plots/train_loss.png" in result.files  # logs found through the recorded run
    for rel in result.files:
        assert (tmp_path / "again" / rel).read_bytes() == (out / rel).read_bytes(), rel
