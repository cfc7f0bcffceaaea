"""The one jinja2 environment (``StrictUndefined``: a name the view lacks is an error, never an
empty string), the Markdown pages rendered from a ``ReleaseView``, and the renderer's version.

The card templates ship compiled too (``llm360/templates/compiled``, jinja2's own Python for
each template, written by ``make templates``): compiling them takes ~0.1 s of CPU in every
process that renders (``benchmarks/bench_cli.py``: the full build). A compiled module is used
only when it was made from the very template source, environment options and jinja2 version
in use; otherwise the template is compiled from its source, so an edited template never renders
stale code, and a test fails until the compiled modules are written again.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.resources
import json
import re
import zlib
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from llm360.registry import layout
from llm360.registry._files import write_atomic
from llm360.registry.cards._hub_meta import dataset_card_text, model_card_text
from llm360.registry.cards._view import ReleaseView
from llm360.registry.installed import installed_version

if TYPE_CHECKING:
    import jinja2

__all__ = ["TEMPLATES", "card_templates", "compiled_module", "environment", "render_markdown",
           "renderer_version", "write_compiled"]

_PACKAGE = "llm360.templates"
#: where the compiled card templates live (``compiled_module``)
_COMPILED = f"{_PACKAGE}.compiled"
#: the environment's options (its lexer's output depends on them)
_OPTIONS: dict[str, Any] = {"autoescape": False, "keep_trailing_newline": True,
                            "trim_blocks": True, "lstrip_blocks": True}
#: the pages: the model card, a checkpoint's card, the data card
TEMPLATES = ("model_card.md.j2", "checkpoint_card.md.j2", "data_card.md.j2")
#: libraries whose version changes rendered bytes (templates, drawing, YAML header)
_LIBRARIES = (("jinja2", "jinja2"), ("pillow", "PIL"), ("pyyaml", "yaml"),
              ("huggingface_hub", "huggingface_hub"))


@lru_cache(maxsize=1)
def renderer_version() -> str:
    """sha256 over the templates, the cards package's code and the versions of the libraries
    that draw, compress and serialise the cards: any change re-renders every card and plot."""
    digest = hashlib.sha256(b"llm360-cards/1\0")
    templates = importlib.resources.files(_PACKAGE)
    for res in sorted(templates.iterdir(), key=lambda r: r.name):
        if res.name.endswith(".j2"):
            digest.update(res.name.encode() + b"\0" + res.read_bytes() + b"\0")
    for path in sorted(Path(__file__).parent.glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    for dist, module in _LIBRARIES:
        digest.update(f"{dist}={installed_version(dist, module) or '-'}\0".encode())
    digest.update(f"zlib={zlib.ZLIB_RUNTIME_VERSION}\0".encode())  # compresses the PNGs
    return digest.hexdigest()


def _source(name: str) -> str | None:
    res = importlib.resources.files(_PACKAGE).joinpath(name)
    return res.read_text("utf-8") if res.is_file() else None


def _source_key(source: str) -> str:
    """What a compiled template depends on: its source, the options and jinja2's version."""
    import jinja2

    return hashlib.sha256(json.dumps([jinja2.__version__, _OPTIONS, source],
                                     sort_keys=True).encode()).hexdigest()


def _module_name(name: str) -> str:
    return name.removesuffix(".j2").replace(".", "_")


def compiled_module(name: str) -> str | None:
    """The Python module ``make templates`` writes for template ``name`` (None when there is
    no such template): jinja2's compiled code under the key of what it was made from."""
    source = _source(name)
    if source is None:
        return None
    code = environment().compile(source, name, raw=True, defer_init=True)
    return (f"# jinja2's compiled {name}: written by `make templates`, do not edit\n"
            f"SOURCE_KEY = {_source_key(source)!r}\n{code}\n")


def card_templates() -> list[str]:
    """Every card template (the pages and what they include), by name."""
    return sorted(r.name for r in importlib.resources.files(_PACKAGE).iterdir()
                  if r.name.endswith(".md.j2"))


def write_compiled() -> list[Path]:
    """Write the compiled module of every card template (``make templates``), each atomically:
    a killed run leaves the module before it, never half of one."""
    folder = Path(str(importlib.resources.files(_COMPILED)))
    written = []
    for name in card_templates():
        path = folder / f"{_module_name(name)}.py"
        write_atomic(path, (compiled_module(name) or "").encode("utf-8"))
        written.append(path)
    return written


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    """The jinja2 environment every card is rendered with (one per process: it keeps the
    compiled templates)."""
    import jinja2

    class Loader(jinja2.BaseLoader):
        """The package's templates, from their compiled module when it is current."""

        def get_source(self, environment: jinja2.Environment, template: str
                       ) -> tuple[str, None, Callable[[], bool]]:
            source = _source(template)
            if source is None:
                raise jinja2.TemplateNotFound(template)
            return source, None, lambda: True

        def load(self, environment: jinja2.Environment, name: str,
                 globals: Any = None) -> jinja2.Template:
            source = self.get_source(environment, name)[0]
            try:
                module = importlib.import_module(f"{_COMPILED}.{_module_name(name)}")
            except ImportError:
                module = None
            if module is None or getattr(module, "SOURCE_KEY", None) != _source_key(source):
                return super().load(environment, name, globals)
            return environment.template_class.from_module_dict(environment, module.__dict__,
                                                               globals)

    env = jinja2.Environment(loader=Loader(), undefined=jinja2.StrictUndefined, **_OPTIONS)
    env.filters["cell"] = lambda v: str(v).replace("|", "\\|").replace("\n", " ")
    env.filters["ticks"] = lambda items: ", ".join(f"`{i}`" for i in items)
    env.tests["match"] = lambda value, pattern: re.fullmatch(pattern, str(value)) is not None
    return env


def render_markdown(view: ReleaseView) -> dict[str, bytes]:
    """README.md, cards/<checkpoint>.md and DATA_CARD.md of ``view``."""
    model, checkpoint, data = (environment().get_template(name) for name in TEMPLATES)
    out = {layout.MODEL_CARD: model_card_text(view, model.render(v=view))}
    for ckpt in view.checkpoints:
        out[layout.checkpoint_card(ckpt.name)] = model_card_text(
            view, checkpoint.render(v=view, ckpt=ckpt), ckpt)
    out[layout.DATA_CARD] = dataset_card_text(view, data.render(v=view))
    return out
