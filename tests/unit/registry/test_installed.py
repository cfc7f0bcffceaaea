"""``installed_version`` reads a distribution's version from its dist-info folder's name and
agrees with ``importlib.metadata``; other layouts fall back to it."""

from __future__ import annotations

import sys
from importlib import metadata
from pathlib import Path

import pytest

from llm360.registry.installed import installed_version


@pytest.mark.parametrize("dist,module", [("jsonschema", "jsonschema"), ("pillow", "PIL"),
                                         ("pyyaml", "yaml"), ("jinja2", "jinja2"),
                                         ("huggingface_hub", "huggingface_hub"),
                                         ("typing_extensions", "typing_extensions")])
def test_agrees_with_importlib_metadata(dist: str, module: str) -> None:
    assert installed_version(dist, module) == metadata.version(dist)


def test_a_missing_distribution_has_no_version() -> None:
    assert installed_version("no-such-dist", "no_such_module_llm360") is None


def _site(tmp_path: Path, monkeypatch, *versions: str) -> None:
    (tmp_path / "fakepkg_llm360").mkdir()
    (tmp_path / "fakepkg_llm360" / "__init__.py").write_text("")
    for version in versions:
        info = tmp_path / f"Fake.Pkg_LLM360-{version}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: fake-pkg-llm360\n"
                                       f"Version: {version}\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    installed_version.cache_clear()


def test_the_dist_info_name_is_normalised(tmp_path: Path, monkeypatch) -> None:
    _site(tmp_path, monkeypatch, "1.2.3")
    assert installed_version("fake-pkg-llm360", "fakepkg_llm360") == "1.2.3"


def test_two_dist_infos_are_left_to_importlib_metadata(tmp_path: Path, monkeypatch) -> None:
    _site(tmp_path, monkeypatch, "1.0", "2.0")
    asked = []
    real = metadata.version
    monkeypatch.setattr(metadata, "version", lambda name: asked.append(name) or real(name))
    assert installed_version("fake-pkg-llm360", "fakepkg_llm360") in ("1.0", "2.0")
    assert asked == ["fake-pkg-llm360"]
    assert "fakepkg_llm360" not in sys.modules  # nothing was imported
