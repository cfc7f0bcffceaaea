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
import hashlib
import importlib
import json
import sys
import types
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from llm360.errors import SchemaError
from llm360.registry._files import write_atomic
from llm360.registry.build.local_key import seal
from llm360.registry.installed import installed_version

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import ValidationError
    from referencing import Registry
    from referencing._core import Resolver  # not re-exported by the package

__all__ = ["SCHEMAS", "FORMATS", "Validated", "schema", "validate", "iter_errors", "validator"]

SCHEMAS = (
    "common", "manifest", "run_metadata", "data_index", "trainer_state", "eval", "provenance",
    "train_config", "data_config", "model_config", "train_log", "release_files", "benchmarks",
    "mixture", "derived_from",
)
#: the ``format`` keywords llm360's schemas use; each is checked when validating
FORMATS = ("date-time", "uri")
#: what jsonschema imports (if installed) for formats llm360's schemas do not use: iri,
#: duration, color, uri-template, json-pointer, hostname and idn-hostname
_UNUSED_FORMAT_PACKAGES = ("rfc3987_syntax", "isoduration", "webcolors", "uri_template",
                           "jsonpointer", "fqdn", "idna")


def _jsonschema() -> types.ModuleType:
    """The jsonschema module, imported without ``_UNUSED_FORMAT_PACKAGES`` (see above)."""
    if "jsonschema" in sys.modules:
        return sys.modules["jsonschema"]
    # A None entry makes `import name` raise ImportError, which jsonschema expects for a
    # missing optional package; entries are put back as they were right after the import.
    blocked = [name for name in _UNUSED_FORMAT_PACKAGES if name not in sys.modules]
    for name in blocked:
        sys.modules[name] = None  # type: ignore[assignment]
    try:
        module = importlib.import_module("jsonschema")
    finally:
        for name in blocked:
            if name in sys.modules and sys.modules[name] is None:
                del sys.modules[name]
    return module


@functools.cache
def _load() -> tuple[dict[str, dict[str, Any]], Registry[Any]]:
    from referencing import Registry, Resource

    docs: dict[str, dict[str, Any]] = {}
    root = resources.files("llm360.schemas")
    for name in SCHEMAS:
        docs[name] = json.loads(root.joinpath(f"{name}.v1.schema.json").read_text("utf-8"))
    registry = Registry().with_resources(
        (doc["$id"], Resource.from_contents(doc)) for doc in docs.values()
    )
    return docs, registry


def schema(name: str) -> dict[str, Any]:
    """The schema document called ``name`` (e.g. ``"manifest"``)."""
    return _load()[0][name]


@functools.cache
def validator(name: str) -> Draft202012Validator:
    """The (cached) jsonschema validator of schema ``name``, format checks on."""
    validator_cls = _jsonschema().Draft202012Validator
    docs, registry = _load()
    resolved = _resolve_refs(docs[name], registry.resolver(base_uri=docs[name]["$id"]))
    return validator_cls(resolved, format_checker=validator_cls.FORMAT_CHECKER)



def _resolve_refs(node: Any, resolver: Resolver[Any]) -> Any:
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
    message: str = error.message
    return message if len(message) <= 200 else message[:197] + "..."


@functools.cache
def _fingerprint() -> bytes:
    """What validating depends on besides the document: every shipped schema and the
    version of jsonschema (its format checks)."""
    digest = hashlib.sha256(b"llm360-validated/1\0")
    root = resources.files("llm360.schemas")
    for name in SCHEMAS:
        digest.update(name.encode() + b"\0" + root.joinpath(f"{name}.v1.schema.json").read_bytes())
    digest.update((installed_version("jsonschema", "jsonschema") or "").encode())
    return digest.digest()


_VALIDATED_VERSION = 1


class Validated:
    """Documents already found valid, remembered by digest (``RUN/.llm360/validated.json``),
    so that a rebuild of an unchanged run neither validates its records again nor imports
    jsonschema. A key is an HMAC, under this user's secret (``local_key``), of the schema's
    name, the shipped schemas, jsonschema's version and the document's exact bytes: any change
    to one of them validates again, and a memo written by anyone else matches nothing. Only
    ``release build`` keeps one, in the run it reads; ``verify`` always validates.
    """

    def __init__(self, path: Path | None) -> None:
        self.path = Path(path) if path is not None else None
        self._known: set[str] = set()
        self._used: set[str] = set()  # what this build found or added: all that is kept
        self._added = False
        if self.path is None or self.path.is_symlink():  # written over, never read through
            return
        try:
            data = json.loads(self.path.read_bytes())
            if (isinstance(data, dict) and data.get("version") == _VALIDATED_VERSION
                    and isinstance(data.get("valid"), list)):
                self._known = {k for k in data["valid"] if isinstance(k, str)}
        except (OSError, ValueError, RecursionError):
            pass

    @property
    def active(self) -> bool:
        return self.path is not None

    def key(self, name: str, raw: bytes) -> str:
        """The key of ``raw`` against schema ``name`` ("" without a memo: nothing hashed)."""
        if self.path is None:
            return ""
        return seal(_fingerprint() + name.encode() + b"\0" + raw)

    def has(self, key: str) -> bool:
        """Whether the document of ``key`` was found valid before."""
        if not key or key not in self._known:
            return False
        self._used.add(key)
        return True

    def put(self, key: str) -> None:
        """Remember the document of ``key`` as valid: the caller validated it, or wrote it
        itself from typed data (a release's ``release-files.json``)."""
        if key:
            self._known.add(key)
            self._used.add(key)
            self._added = True

    def known(self, name: str, raw: bytes) -> bool:
        """Whether ``raw`` was found valid against schema ``name`` before."""
        return self.has(self.key(name, raw))

    def add(self, name: str, raw: bytes) -> None:
        """Remember ``raw`` as valid against schema ``name`` (see ``put``)."""
        self.put(self.key(name, raw))

    def check(self, data: Any, name: str, raw: bytes, *, source: str) -> None:
        """``validate(data, name, source=...)`` unless ``raw`` (the bytes ``data`` was parsed
        from) is known valid; remembered when it passes."""
        key = self.key(name, raw)
        if not self.has(key):
            validate(data, name, source=source)
            self.put(key)

    def save(self) -> None:
        """Keep what this build found or added, when it added something (best effort: a
        read-only run goes without); keys of records that changed since are dropped. Not
        synced: a key lost in a crash only means validating those bytes again."""
        if self.path is None or not self._added:
            return
        try:
            write_atomic(self.path, json.dumps(
                {"version": _VALIDATED_VERSION, "valid": sorted(self._used)},
                separators=(",", ":")).encode("utf-8"), durable=False)
        except OSError:
            pass
        self._added = False
