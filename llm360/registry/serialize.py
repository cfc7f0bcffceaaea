"""The only place dicts exist: canonical JSON (RFC 8785) in and out, dataclasses to and from data.

``canonical_json`` gives the same bytes for equal documents, so equal manifests hash the same.
``to_data``/``from_data`` convert any of the frozen dataclasses in ``models`` generically from
their type hints; documents are validated against their schema before ``from_data`` sees them.
"""

from __future__ import annotations

import dataclasses
import json
import math
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

import rfc8785
import yaml

from llm360.registry import layout
from llm360.errors import InputError
from llm360.registry.models import SCHEMA_VERSIONS, Manifest

__all__ = [
    "canonical_json",
    "to_data",
    "from_data",
    "parse_json",
    "read_json",
    "read_yaml",
    "parse_yaml",
    "read_bytes",
    "manifest_to_bytes",
    "manifest_from_bytes",
    "load_manifest",
    "MAX_DEPTH",
    "check_depth",
]

#: the deepest nesting of arrays and objects any document llm360 reads may have (manifests,
#: bundles and run records are 3 to 8 deep); deeper input is refused, never recursed into
MAX_DEPTH = 64

T = TypeVar("T")


def canonical_json(data: Any) -> bytes:
    """RFC 8785 canonical JSON: sorted keys, no whitespace, shortest number forms."""
    try:
        return rfc8785.dumps(data)
    except (rfc8785.CanonicalizationError, TypeError, ValueError) as exc:
        raise InputError(f"cannot write canonical JSON: {exc}") from exc


def to_data(obj: Any) -> Any:
    """A dataclass tree as plain JSON data; None-valued fields are left out."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        out = {}
        for f in dataclasses.fields(obj):
            value = getattr(obj, f.name)
            if value is not None:
                out[f.name] = to_data(value)
        return out
    if isinstance(obj, Mapping):
        return {str(k): to_data(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_data(v) for v in obj]
    return obj


def from_data(cls: type[T], data: Any) -> T:
    """Build ``cls`` (a dataclass, or a typing form of them) from validated JSON data."""
    return _convert(cls, data)


def _convert(tp: Any, data: Any) -> Any:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        return None if data is None else _convert(args[0], data)
    if origin is tuple:
        (item,) = [a for a in typing.get_args(tp) if a is not Ellipsis]
        return tuple(_convert(item, v) for v in data)
    if origin in (Mapping, dict, typing.Mapping):
        _, value_type = typing.get_args(tp)
        return {k: _convert(value_type, v) for k, v in data.items()}
    if dataclasses.is_dataclass(tp):
        hints = typing.get_type_hints(tp)
        kwargs = {f.name: _convert(hints[f.name], data[f.name])
                  for f in dataclasses.fields(tp) if f.name in data}
        return tp(**kwargs)
    if tp is float and isinstance(data, int):
        return float(data)
    return data


def parse_json(raw: bytes, *, source: str) -> Any:
    """Parse UTF-8 JSON bytes; errors name ``source`` and the line and column.

    NaN, Infinity and numbers that overflow to infinity (``1e999``) are refused, and so is
    nesting deeper than ``MAX_DEPTH``: hostile input is an ``InputError``, never a crash.
    """
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"{source}: not UTF-8 text (byte {exc.start} is {raw[exc.start]:#04x})",
                         hint="llm360 reads JSON and YAML as UTF-8 only") from exc
    try:
        data = json.loads(text, parse_constant=_reject_constant, parse_float=_finite_float)
    except json.JSONDecodeError as exc:
        what = "truncated JSON" if exc.pos >= len(text.rstrip()) else "malformed JSON"
        raise InputError(f"{source}: {what}: {exc.msg} at line {exc.lineno} column {exc.colno}") \
            from exc
    except RecursionError:
        raise InputError(f"{source}: malformed JSON: nested more than {MAX_DEPTH} levels deep"
                         ) from None
    except ValueError as exc:
        raise InputError(f"{source}: malformed JSON: {exc}") from exc
    check_depth(data, source=source)
    return data


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if value in (math.inf, -math.inf):
        raise ValueError(f"{text[:40]} is out of range (not a finite number)")
    return value


def check_depth(data: Any, *, source: str, limit: int = MAX_DEPTH) -> None:
    """Refuse documents nested deeper than ``limit`` (checked without recursion)."""
    stack = [(data, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            children = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        if depth > limit:
            raise InputError(f"{source}: nested more than {limit} levels deep",
                             hint="llm360 documents are a few levels deep; this is not one")
        stack.extend((child, depth + 1) for child in children
                     if isinstance(child, (dict, list)))


def read_json(path: Path, *, source: str | None = None) -> Any:
    """Read and parse one JSON file; a missing or unreadable file is an ``InputError``."""
    return parse_json(read_bytes(path, source), source=source or str(path))


def read_yaml(path: Path, *, source: str | None = None) -> Any:
    """Read one YAML file with the safe loader."""
    source = source or str(path)
    return parse_yaml(read_bytes(path, source), source=source)


def parse_yaml(raw: bytes, *, source: str) -> Any:
    """Parse UTF-8 YAML bytes with the safe loader; errors name ``source``."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"{source}: not UTF-8 text (byte {exc.start})") from exc
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        data = yaml.load(text, Loader=loader)  # noqa: S506 - a safe loader
    except yaml.YAMLError as exc:
        raise InputError(f"{source}: malformed YAML: {_yaml_problem(exc)}") from exc
    except RecursionError:
        raise InputError(f"{source}: malformed YAML: nested more than {MAX_DEPTH} levels deep"
                         ) from None
    check_depth(data, source=source)
    return data


def _yaml_problem(exc: Exception) -> str:
    problem, context = getattr(exc, "problem", None), getattr(exc, "context", None)
    text = problem or (str(exc).splitlines() or [type(exc).__name__])[0]
    if context:
        text = f"{context}: {text}"
    mark = getattr(exc, "problem_mark", None)
    if mark is not None:
        text += f" at line {mark.line + 1} column {mark.column + 1}"
    return text


def read_bytes(path: Path, source: str | None = None) -> bytes:
    """A file's bytes; a missing or unreadable file is an ``InputError`` naming it."""
    try:
        return Path(path).read_bytes()
    except FileNotFoundError as exc:
        raise InputError(f"{source or path}: file not found") from exc
    except IsADirectoryError as exc:
        raise InputError(f"{source or path}: is a directory, expected a file") from exc
    except OSError as exc:
        raise InputError(f"{source or path}: cannot read: {exc.strerror}") from exc


def manifest_to_bytes(manifest: Manifest) -> bytes:
    """The manifest as canonical JSON bytes (what is hashed and signed)."""
    return canonical_json(to_data(manifest))


def manifest_from_bytes(raw: bytes, *, source: str = layout.MANIFEST) -> Manifest:
    """Parse, check the schema version, validate and build a ``Manifest``."""
    from llm360.registry.schema import validate

    data = parse_json(raw, source=source)
    if isinstance(data, dict) and "schema_version" in data \
            and data["schema_version"] not in SCHEMA_VERSIONS:
        raise InputError(
            f"{source}: unsupported schema_version {data['schema_version']!r}",
            hint=f"this llm360 reads {' and '.join(map(repr, SCHEMA_VERSIONS))}; upgrade llm360 "
                 "or rebuild the release",
        )
    validate(data, "manifest", source=source)
    try:
        return from_data(Manifest, data)
    except OverflowError:  # an integer where a float goes, too large for a float (10**400)
        raise InputError(f"{source}: a number is out of range (larger than a float can hold)"
                         ) from None


def load_manifest(path: Path) -> Manifest:
    """Read, validate and build the manifest at ``path``."""
    return manifest_from_bytes(read_bytes(path, str(path)), source=str(path))
