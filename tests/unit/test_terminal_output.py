"""Everything a command prints to the terminal goes through ``llm360.cli._render.echo``, which
escapes control characters (issue 8, item 13); a static check keeps new commands to it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from llm360.cli._render import escape

CLI = Path(__file__).resolve().parents[2] / "llm360" / "cli"


@pytest.mark.parametrize("raw,shown", [
    ("plain text, tabs\tstay", "plain text, tabs\tstay"),
    ("\x1b[2K\x1b[1Aerased", "\\x1b[2K\\x1b[1Aerased"),
    ("a\rb\nc", "a\\x0db\\x0ac"),
    ("\x00\x07\x7f\x85\x9b", "\\x00\\x07\\x7f\\x85\\x9b"),
    ("abc\u202edcb.json", "abc\\u202edcb.json"),
    ("\u2066iso\u2069 \u200bzw \u2028ls", "\\u2066iso\\u2069 \\u200bzw \\u2028ls"),
    ("lone \ud800", "lone \\ud800"),
    ("é ü 漢字 ✓", "é ü 漢字 ✓"),
])
def test_escape(raw: str, shown: str) -> None:
    assert escape(raw) == shown


def test_commands_print_only_through_echo() -> None:
    offenders = []
    for path in sorted(CLI.glob("*.py")):
        if path.name == "_render.py":
            continue
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.Call):
                fn = node.func
                name = (fn.attr if isinstance(fn, ast.Attribute) else
                        fn.id if isinstance(fn, ast.Name) else "")
                owner = fn.value.id if isinstance(fn, ast.Attribute) and \
                    isinstance(fn.value, ast.Name) else ""
                if (owner == "click" and name in ("echo", "secho")) or name == "print":
                    offenders.append(f"{path.name}:{node.lineno}")
    assert not offenders, ("print with llm360.cli._render.echo (escapes control characters): "
                           + ", ".join(offenders))
