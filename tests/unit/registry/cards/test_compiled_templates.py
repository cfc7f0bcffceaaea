"""The card templates' compiled modules (``make templates``): current, used, and never used
once they no longer match their template."""

from __future__ import annotations

import importlib

import pytest

from llm360.registry.cards import _render


@pytest.mark.parametrize("name", _render.card_templates())
def test_each_compiled_module_is_the_one_its_template_compiles_to(name):
    module = importlib.import_module(f"llm360.templates.compiled.{_render._module_name(name)}")
    committed = open(module.__file__, encoding="utf-8").read()
    assert committed == _render.compiled_module(name), \
        f"{name} changed since its module was compiled: run `make templates`"


@pytest.mark.parametrize("name", _render.TEMPLATES)
def test_the_renderer_loads_the_compiled_module(name):
    template = _render.environment().get_template(name)
    assert template.root_render_func.__module__ == \
        f"llm360.templates.compiled.{_render._module_name(name)}"


def test_a_module_that_no_longer_matches_its_template_is_not_used(monkeypatch):
    """An edited template renders from its source, never from the stale compiled code."""
    monkeypatch.setattr(_render, "_source", lambda name: "edited: {{ 1 + 1 }}\n"
                        if name == "data_card.md.j2" else None)
    _render.environment.cache_clear()
    try:
        template = _render.environment().get_template("data_card.md.j2")
        assert template.render() == "edited: 2\n"
        assert template.root_render_func.__module__ is None  # compiled here, from the source
    finally:
        _render.environment.cache_clear()
