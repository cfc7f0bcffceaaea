"""Each run-directory and release path is spelled in ``llm360/registry/layout.py`` only: every
other module of the package names it through ``layout`` (docstrings and help text may still
describe the layout in words and paths; code may not build a path from a literal)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[3] / "llm360"
LAYOUT = PACKAGE / "registry" / "layout.py"

#: path spellings owned by layout.py: a string literal in code holding one of them is a
#: second spelling
SPELLINGS = re.compile(r"""
    (^|/)(checkpoints|evals|logs|signatures|cards|plots|\.llm360)/
  | (^|/)(llm360\.yaml|trainer_state\.json|index\.json|provenance\.json|model\.sig
         |manifest\.json|manifest\.sigstore\.json|DATA_CARD\.md|hash-cache\.json
         |optimizer\.safetensors|rng\.safetensors|model\.safetensors(\.index\.json)?
         |generation_config\.json|heldout\.safetensors|train\.jsonl|\.llm360-source\.json
         |croissant\.json|bom\.spdx\.json|bom\.cdx\.json)$
  | ^(config|data|tokenizer|code)/
""", re.X)
#: folder names: a second spelling when joined as a path (``root / "checkpoints"``)
FOLDERS = {"checkpoints", "config", "data", "tokenizer", "logs", "evals", "code", "signatures",
           "cards", "plots", ".llm360", "staging", "pending"}


def _docstrings(tree: ast.AST) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = getattr(node, "body", [])
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                ids.add(id(body[0].value))
    return ids


def _help_texts(tree: ast.AST) -> set[int]:
    """String constants passed as ``help=``/``hint=`` (words for people, not paths)."""
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.keyword) and node.arg in ("help", "hint"):
            ids.update(id(n) for n in ast.walk(node.value) if isinstance(n, ast.Constant))
    return ids


def second_spellings() -> list[str]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path == LAYOUT or path.parent.name == "compiled":  # the templates' generated code
            continue
        tree = ast.parse(path.read_text("utf-8"))
        skip = _docstrings(tree) | _help_texts(tree)
        joined = {id(side) for node in ast.walk(tree)
                  if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div)
                  for side in (node.left, node.right)}
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Constant) and isinstance(node.value, str)) \
                    or id(node) in skip or " " in node.value.strip():
                continue
            if SPELLINGS.search(node.value) or (id(node) in joined
                                                and node.value in FOLDERS):
                found.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno}: "
                             f"{node.value!r}")
    return found


def test_run_directory_paths_are_spelled_once() -> None:
    found = second_spellings()
    assert not found, "spell these through llm360.registry.layout:\n" + "\n".join(found)
