"""``CompiledTemplates``: a template's code is compiled once per user and machine, kept sealed,
and anything else found in the folder (a changed byte, another user's file, another source) is
compiled again; an unwritable folder changes nothing but time."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import jinja2
import pytest

from llm360.registry.cards._template_cache import CompiledTemplates

SOURCE = "{% for x in items %}[{{ x | upper }}]{% endfor %}\n"


def _env(source: str = SOURCE) -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.DictLoader({"page.j2": source}),
                              bytecode_cache=CompiledTemplates("test"), trim_blocks=True)


def _render(env: jinja2.Environment) -> str:
    return env.get_template("page.j2").render(items=["a", "b"])


def _compiles(env: jinja2.Environment, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    seen: list[str] = []
    real = env.compile
    monkeypatch.setattr(env, "compile", lambda source, *a, **k: seen.append(source)
                        or real(source, *a, **k))
    return seen


def _folder() -> Path:
    return CompiledTemplates("test").dir


def test_compiled_once_then_loaded(monkeypatch: pytest.MonkeyPatch) -> None:
    first = _env()
    assert _render(first) == "[A][B]"
    files = list(_folder().iterdir())
    assert len(files) == 1 and stat.S_IMODE(files[0].stat().st_mode) == 0o600
    assert stat.S_IMODE(_folder().stat().st_mode) == 0o700
    again = _env()
    compiled = _compiles(again, monkeypatch)
    assert _render(again) == "[A][B]" and compiled == []


@pytest.mark.parametrize("harm", ["flip", "truncate", "other user", "other source"])
def test_anything_but_this_users_file_of_this_source_is_compiled_again(
        harm: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _render(_env())
    [path] = list(_folder().iterdir())
    data = path.read_bytes()
    if harm == "flip":  # a code byte changed, the seal kept
        path.write_bytes(data[:-5] + bytes([data[-5] ^ 1]) + data[-4:])
    elif harm == "truncate":
        path.write_bytes(data[:70])
    elif harm == "other user":  # the same file, under another user's secret
        mine = os.environ["XDG_CACHE_HOME"]
        monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "theirs"))
        _render(_env())
        [theirs] = list(_folder().iterdir())
        assert theirs.name == path.name and theirs.read_bytes() != data
        monkeypatch.setenv("XDG_CACHE_HOME", mine)
        path.write_bytes(theirs.read_bytes())
    env = _env(SOURCE.replace("upper", "lower") if harm == "other source" else SOURCE)
    compiled = _compiles(env, monkeypatch)
    out = _render(env)
    assert len(compiled) == 1
    assert out == ("[a][b]" if harm == "other source" else "[A][B]")


def test_a_folder_that_cannot_be_written_changes_nothing_but_time(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_bytes(b"x")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    assert _render(_env()) == "[A][B]"
    assert blocker.read_bytes() == b"x"
