"""The one jinja2 environment (``StrictUndefined``: a name the view lacks is an error, never an
empty string), the Markdown pages rendered from a ``ReleaseView``, and the renderer's version.
"""

from __future__ import annotations

import hashlib
import importlib.resources
import re
import zlib
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from llm360.registry import layout
from llm360.registry.cards._hub_meta import dataset_card_text, model_card_text
from llm360.registry.cards._view import ReleaseView
from llm360.registry.installed import installed_version

if TYPE_CHECKING:
    import jinja2

__all__ = ["environment", "render_markdown", "renderer_version"]

_PACKAGE = "llm360.templates"
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


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    """The jinja2 environment every card is rendered with (one per process: it keeps the
    compiled templates)."""
    import jinja2

    def load(name: str) -> tuple[str, None, Callable[[], bool]] | None:
        res = importlib.resources.files(_PACKAGE).joinpath(name)
        if not res.is_file():
            return None
        return res.read_text("utf-8"), None, lambda: True

    env = jinja2.Environment(loader=jinja2.FunctionLoader(load), undefined=jinja2.StrictUndefined,
                             autoescape=False, keep_trailing_newline=True, trim_blocks=True,
                             lstrip_blocks=True)
    env.filters["cell"] = lambda v: str(v).replace("|", "\\|").replace("\n", " ")
    env.filters["ticks"] = lambda items: ", ".join(f"`{i}`" for i in items)
    env.tests["match"] = lambda value, pattern: re.fullmatch(pattern, str(value)) is not None
    return env


def render_markdown(view: ReleaseView) -> dict[str, bytes]:
    """README.md, cards/<checkpoint>.md and DATA_CARD.md of ``view``."""
    env = environment()
    out = {layout.MODEL_CARD: model_card_text(view, env.get_template("model_card.md.j2")
                                        .render(v=view))}
    page = env.get_template("checkpoint_card.md.j2")
    for ckpt in view.checkpoints:
        out[layout.checkpoint_card(ckpt.name)] = model_card_text(
            view, page.render(v=view, ckpt=ckpt), ckpt)
    out[layout.DATA_CARD] = dataset_card_text(view, env.get_template("data_card.md.j2")
                                            .render(v=view))
    return out
