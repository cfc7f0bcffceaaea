"""What is installed: the optional extras a command needs (``require_extra``), and the version
of a distribution, read from its ``NAME-VERSION.dist-info`` folder's name beside its import
package: a directory listing, where ``importlib.metadata`` costs ~20 ms to import on every build
(the validation memo and the render cache are keyed by the versions of jsonschema, jinja2,
Pillow, PyYAML and huggingface_hub). Where the layout is anything else (no such folder, or two
of them), ``importlib.metadata`` answers.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from functools import cache
from importlib.util import find_spec

from llm360.errors import InputError

__all__ = ["CARDS_EXTRA", "installed_version", "require_extra"]

#: what the ``[cards]`` extra installs (cards and plots), module -> distribution;
#: ``pip install llm360`` verifies without them
CARDS_EXTRA = {"jinja2": "jinja2", "PIL": "Pillow"}


def require_extra(extra: str, modules: Mapping[str, str], *, needed_for: str,
                  alternative: str | None = None) -> None:
    """``InputError`` (exit 2) naming the pip extra to install when one of ``modules`` is
    missing; nothing is imported (a module spec lookup only)."""
    missing = [name for module, name in modules.items() if find_spec(module) is None]
    if missing:
        hint = f"pip install 'llm360[{extra}]'" + (f", or {alternative}" if alternative else "")
        raise InputError(f"{needed_for} needs {', '.join(missing)}, which this installation of "
                         f"llm360 lacks (the [{extra}] extra)", hint=hint)


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "_", name).lower()


@cache
def installed_version(dist: str, module: str) -> str | None:
    """The version of distribution ``dist`` (import package ``module``), or None when it is not
    installed; nothing is imported."""
    try:
        spec = find_spec(module)
    except (ImportError, ValueError):
        spec = None
    if spec is None:
        return None
    found = []
    origin = spec.origin if spec.origin not in (None, "namespace") else None
    if origin is not None:
        folder = os.path.dirname(os.path.dirname(origin)) if spec.submodule_search_locations \
            else os.path.dirname(origin)
        wanted = _canonical(dist)
        try:
            names = os.listdir(folder)
        except OSError:
            names = []
        for name in names:
            stem, dot, version = name.removesuffix(".dist-info").partition("-")
            if name.endswith(".dist-info") and dot and _canonical(stem) == wanted:
                found.append(version)
    if len(found) == 1:
        return found[0]
    from importlib import metadata

    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None
