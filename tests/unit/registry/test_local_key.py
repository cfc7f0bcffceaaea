"""``local_key``: a private secret per user and machine, made once and never replaced; where it
cannot be used safely, each process draws its own (caches then miss, nothing else)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from llm360.registry.build import local_key as lk


@pytest.fixture
def cache_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    lk._key_at.cache_clear()
    yield tmp_path / "cache"
    lk._key_at.cache_clear()


def test_made_once_private_and_kept(cache_home: Path) -> None:
    key = lk.local_key()
    path = cache_home / "llm360" / "cache.key"
    assert len(key) == lk.KEY_BYTES and path.read_bytes() == key
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    lk._key_at.cache_clear()
    assert lk.local_key() == key  # read back, not made again
    assert [p.name for p in path.parent.iterdir()] == ["cache.key"]  # no temporary left


@pytest.mark.parametrize("case", ["link", "shared", "short"])
def test_a_key_file_that_is_not_private_is_neither_used_nor_replaced(cache_home: Path,
                                                                     case: str) -> None:
    path = cache_home / "llm360" / "cache.key"
    path.parent.mkdir(parents=True)
    target = cache_home / "elsewhere"
    target.write_bytes(b"k" * lk.KEY_BYTES)
    if case == "link":
        path.symlink_to(target)
    else:
        path.write_bytes(b"k" * (lk.KEY_BYTES if case == "shared" else 5))
        os.chmod(path, 0o644 if case == "shared" else 0o600)
    before = os.readlink(path) if case == "link" else path.read_bytes()
    key = lk.local_key()
    assert key != b"k" * lk.KEY_BYTES and len(key) == lk.KEY_BYTES
    assert (os.readlink(path) if case == "link" else path.read_bytes()) == before
    assert target.read_bytes() == b"k" * lk.KEY_BYTES


def test_a_cache_folder_that_cannot_be_made_gives_a_key_for_this_process(
        cache_home: Path) -> None:
    cache_home.write_bytes(b"a file where the folder should be")
    key = lk.local_key()
    assert len(key) == lk.KEY_BYTES and lk.local_key() == key  # the same for the process
    assert cache_home.read_bytes() == b"a file where the folder should be"


def test_seal_depends_on_the_key(cache_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    mine = lk.seal(b"eval\0{}")
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache_home / "other"))
    assert lk.seal(b"eval\0{}") != mine
