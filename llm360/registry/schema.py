"""Load the JSON Schemas shipped in ``llm360/schemas`` and validate documents against them.

``$ref``s between schema files are resolved offline through a ``referencing`` registry; formats
are checked. A failure raises ``SchemaError`` naming the file and the JSON path of the problem.

jsonschema is imported on the first validation, not with this module (``llm360 --help`` never
pays for it), and without the packages that only serve formats no llm360 schema uses
(``_UNUSED_FORMAT_PACKAGES``): jsonschema imports them eagerly, and ``rfc3987_syntax`` (``iri``)
alone builds a grammar at import (0.7 s on a 2-core machine). The formats the schemas use
(``FORMATS``: ``uri``, ``date-time``) are still checked, and a test keeps every format the
schemas name among the checked ones.
"""

from __future__ import annotations

import functools
import json
import sys
from importlib import resources
from typing import TYPE_CHECKING, Any

from llm360.errors import SchemaError

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import ValidationError

__all__ = ["SCHEMAS", "FORMATS", "schema", "validate", "iter_errors", "validator"]

SCHEMAS = (
    "common", "manifest", "run_metadata", "data_index", "trainer_state", "eval", "provenance",
    "train_config", "data_config", "model_config", "train_log", "release_files",
)
#: the ``format`` keywords llm360's schemas use; each is checked when validating
FORMATS = ("date-time", "uri")
#: what jsonschema imports (if installed) for formats llm360's schemas do not use: iri,
#: duration, color, uri-template, json-pointer, hostname and idn-hostname
_UNUSED_FORMAT_PACKAGES = ("rfc3987_syntax", "isoduration", "webcolors", "uri_template",
                           "jsonpointer", "fqdn", "idna")


def _jsonschema():
    """The jsonschema module, imported without ``_UNUSED_FORMAT_PACKAGES`` (see above)."""
    if "jsonschema" in sys.modules:
        return sys.modules["jsonschema"]
    # A None entry makes `import name` raise ImportError, which jsonschema expects for a
    # missing optional package; entries are put back as they were right after the import.
    blocked = [name for name in _UNUSED_FORMAT_PACKAGES if name not in sys.modules]
    for name in blocked:
        sys.modules[name] = None  # type: ignore[assignment]
    try:
        import jsonschema
    finally:
        for name in blocked:
            if name in sys.modules and sys.modules[name] is None:
                del sys.modules[name]
    return jsonschema


@functools.cache
def _load() -> tuple[dict[str, dict], Any]:
    from referencing import Registry, Resource

    docs: dict[str, dict] = {}
    root = resources.files("llm360.schemas")
    for name in SCHEMAS:
        docs[name] = json.loads(root.joinpath(f"{name}.v1.schema.json").read_text("utf-8"))
    registry = Registry().with_resources(
        (doc["$id"], Resource.from_contents(doc)) for doc in docs.values()
    )
    return docs, registry


def schema(name: str) -> dict:
    """The schema document called ``name`` (e.g. ``"manifest"``)."""
    return _load()[0][name]


@functools.cache
def validator(name: str) -> Draft202012Validator:
    """The (cached) jsonschema validator of schema ``name``, format checks on."""
    validator_cls = _jsonschema().Draft202012Validator
    docs, registry = _load()
    resolved = _resolve_refs(docs[name], registry.resolver(base_uri=docs[name]["$id"]))
    return validator_cls(resolved, format_checker=validator_cls.FORMAT_CHECKER)


_validator = validator  # the name build and _run used before it was public


def _resolve_refs(node: Any, resolver) -> Any:
    """``node`` with every ``$ref`` replaced by its target, looked up once through the
    registry (our schemas are not recursive); validating then needs no lookups at all."""
    if isinstance(node, list):
        return [_resolve_refs(item, resolver) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        resolved = resolver.lookup(node["$ref"])
        target = _resolve_refs(resolved.contents, resolved.resolver)
        siblings = {k: _resolve_refs(v, resolver) for k, v in node.items() if k != "$ref"}
        return {**target, **siblings}
    return {k: (v if k in ("$defs", "const", "enum") else _resolve_refs(v, resolver))
            for k, v in node.items()}


def iter_errors(data: Any, name: str) -> list[ValidationError]:
    """Every schema error of ``data`` against schema ``name``."""
    return list(validator(name).iter_errors(data))


def validate(data: Any, name: str, *, source: str) -> None:
    """Raise ``SchemaError`` for the most relevant error of ``data`` against schema ``name``."""
    checker = validator(name)  # imports jsonschema first (see _jsonschema)
    from jsonschema.exceptions import best_match

    error = best_match(checker.iter_errors(data))
    if error is not None:
        raise SchemaError(describe(error), file=source, json_path=error.json_path)


def describe(error: ValidationError) -> str:
    """A short message for one error; uses the schema's ``description`` for patterns."""
    sub = error.schema if isinstance(error.schema, dict) else {}
    if error.validator in ("pattern", "format") and "description" in sub:
        return f"{error.instance!r} is not {sub['description']}"
    if error.validator == "const":
        return f"{error.instance!r} should be {error.validator_value!r}"
    message = error.message
    return message if len(message) <= 200 else message[:197] + "..."
