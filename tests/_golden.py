"""Golden files: compared with what the code produces, rewritten only with --update-golden."""

from __future__ import annotations

from pathlib import Path


def check_golden(golden: Path, text: str, update: bool) -> None:
    """Assert ``text`` equals the golden file (or rewrite it with ``--update-golden``)."""
    if update:
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(text, encoding="utf-8")
    assert golden.is_file(), f"{golden} missing: run pytest --update-golden"
    assert text == golden.read_text(encoding="utf-8"), \
        f"{golden} differs; if intended, refresh with pytest --update-golden"
