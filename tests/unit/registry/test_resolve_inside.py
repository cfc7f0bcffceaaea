"""resolve_inside: paths below a root, refusing escapes and links; with a ``checked`` set each
folder is looked at once for many files, and links are refused all the same."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from llm360.errors import UnsafePathError
from llm360.registry import _files
from llm360.registry._files import resolve_inside


def _tree(root: Path) -> list[str]:
    rels = [f"checkpoints/ckpt_{i:03d}/{name}" for i in range(3)
            for name in ("model.safetensors", "optimizer.safetensors")]
    for rel in rels:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(b"x")
    return rels


def test_each_folder_is_looked_at_once_with_a_checked_set(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch):
    rels = _tree(tmp_path)
    seen: list[str] = []
    real = os.lstat
    monkeypatch.setattr(_files.os, "lstat", lambda p: seen.append(os.fspath(p)) or real(p))
    checked: set[str] = set()
    assert [resolve_inside(tmp_path, rel, checked=checked) for rel in rels] == \
        [tmp_path / rel for rel in rels]
    folders = [s for s in seen if not s.endswith(".safetensors")]
    assert sorted(folders) == sorted(set(folders))  # no folder twice
    assert len(seen) == len(rels) + 1 + 3  # every file, checkpoints/, each checkpoint folder
    seen.clear()
    for rel in rels:
        resolve_inside(tmp_path, rel)
    assert len(seen) == 3 * len(rels)  # without the set: every folder for every file


@pytest.mark.parametrize("use_set", [False, True])
def test_a_link_is_refused_in_a_folder_or_as_the_file(tmp_path: Path, use_set: bool) -> None:
    rels = _tree(tmp_path)
    checked: set[str] | None = set() if use_set else None
    resolve_inside(tmp_path, rels[0], checked=checked)
    elsewhere = tmp_path.parent / f"{tmp_path.name}-elsewhere"
    elsewhere.mkdir()
    (tmp_path / "checkpoints" / "ckpt_002").rename(elsewhere / "ckpt_002")
    (tmp_path / "checkpoints" / "ckpt_002").symlink_to(elsewhere / "ckpt_002")
    with pytest.raises(UnsafePathError, match="symbolic link"):
        resolve_inside(tmp_path, "checkpoints/ckpt_002/model.safetensors", checked=checked)
    os.symlink(tmp_path / rels[1], tmp_path / "checkpoints" / "ckpt_000" / "link.safetensors")
    with pytest.raises(UnsafePathError, match="symbolic link"):
        resolve_inside(tmp_path, "checkpoints/ckpt_000/link.safetensors", checked=checked)
    with pytest.raises(UnsafePathError):
        resolve_inside(tmp_path, "checkpoints/../../etc/passwd", checked=checked)


def test_a_missing_folder_is_not_remembered(tmp_path: Path) -> None:
    checked: set[str] = set()
    assert resolve_inside(tmp_path, "new/file", checked=checked) == tmp_path / "new" / "file"
    assert checked == set()
