"""The only place dicts exist: canonical JSON (RFC 8785) in and out, dataclasses to and from data.

``canonical_json`` gives the same bytes for equal documents, so equal manifests hash the same.
``to_data``/``from_data`` convert any of the frozen dataclasses in ``models`` generically from
their type hints; documents are validated against their schema before ``from_data`` sees them.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import re
import stat
import types
import typing
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, TypeVar, cast

import rfc8785
import yaml

from llm360.errors import InputError
from llm360.registry import layout
from llm360.registry.manifest.models import SCHEMA_VERSIONS, Manifest

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
    "check_numbers",
    "INT64_MIN",
    "INT64_MAX",
]

#: the deepest nesting of arrays and objects any document llm360 reads may have (manifests,
#: bundles and run records are 3 to 8 deep); deeper input is refused, never recursed into
MAX_DEPTH = 64
#: the integers llm360's own records may hold (a step, a size, a count): int64. Third-party
#: files a run only carries (a tokenizer_config.json's ``model_max_length`` is 10**30) are
#: parsed with ``int64=False``: any integer Python reads (at most 4300 digits)
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
#: the integers canonical JSON (RFC 8785, I-JSON) writes exactly
_JSON_SAFE_INT = 2**53 - 1

T = TypeVar("T")


def canonical_json(data: Any, *, source: str | None = None) -> bytes:
    """RFC 8785 canonical JSON: sorted keys, no whitespace, shortest number forms.

    A value it cannot write (NaN, an infinity, an integer beyond 2**53 - 1) is an
    ``InputError`` naming ``source`` and the value's JSON path."""
    try:
        return rfc8785.dumps(data)
    except (rfc8785.CanonicalizationError, TypeError, ValueError) as exc:
        bad = _bad_number(data, max_int=_JSON_SAFE_INT)
        if bad is not None:
            where = f"{source}: " if source else ""
            raise InputError(f"{where}{bad[1]} at {bad[0]}",
                             hint="records hold finite numbers and integers below 2**53 "
                                  "only") from None
        raise InputError(f"{source + ': ' if source else ''}cannot write canonical JSON: "
                         f"{exc}") from exc


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
    return cast(T, _convert(cls, data))


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
    if dataclasses.is_dataclass(tp) and isinstance(tp, type):
        hints = typing.get_type_hints(tp)
        kwargs = {f.name: _convert(hints[f.name], data[f.name])
                  for f in dataclasses.fields(tp) if f.name in data}
        return tp(**kwargs)
    if tp is float and isinstance(data, int):
        return float(data)
    return data


def parse_json(raw: bytes, *, source: str, int64: bool = True) -> Any:
    """Parse UTF-8 JSON bytes; errors name ``source`` and the line and column.

    NaN, Infinity, numbers that overflow to infinity (``1e999``) and integers outside int64
    are refused, naming their JSON path, and so is nesting deeper than ``MAX_DEPTH``: hostile
    input is an ``InputError``, never a crash. ``int64=False`` (a file llm360 only copies and
    hashes, never interprets) accepts any integer of at most 4300 digits.
    """
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"{source}: not UTF-8 text (byte {exc.start} is {raw[exc.start]:#04x})",
                         hint="llm360 reads JSON and YAML as UTF-8 only") from exc
    try:
        data = json.loads(text, parse_constant=_reject_constant, parse_float=_finite_float)
    except _NotFinite:
        data = _ABSENT  # found again below, with its JSON path
    except json.JSONDecodeError as exc:
        raise _decode_error(exc, text, source) from exc
    except RecursionError:
        raise InputError(f"{source}: malformed JSON: nested more than {MAX_DEPTH} levels deep"
                         ) from None
    except ValueError as exc:
        if _LONG_DIGITS.search(text):  # an integer of more than 4300 digits: named below
            _check_numbers_of(text, source, int64)
        raise InputError(f"{source}: malformed JSON: {exc}") from exc
    if data is _ABSENT or (int64 and _LONG_DIGITS.search(text)):  # rare: the exact check
        _check_numbers_of(text, source, int64)
        if data is _ABSENT:  # pragma: no cover - the check above names the number
            raise InputError(f"{source}: malformed JSON: a number is not finite")
    check_depth(data, source=source)
    return data


def _decode_error(exc: json.JSONDecodeError, text: str, source: str) -> InputError:
    what = "truncated JSON" if exc.pos >= len(text.rstrip()) else "malformed JSON"
    return InputError(f"{source}: {what}: {exc.msg} at line {exc.lineno} column {exc.colno}")


def _check_numbers_of(text: str, source: str, int64: bool) -> None:
    """Parse ``text`` again keeping refused numbers as their text, and name the first."""
    try:
        marked = json.loads(text, parse_constant=_Number, parse_float=_marked_float,
                            parse_int=_marked_int if int64 else _marked_long_int)
    except json.JSONDecodeError as exc:  # a refused number before a syntax error
        raise _decode_error(exc, text, source) from exc
    except RecursionError:
        raise InputError(f"{source}: malformed JSON: nested more than {MAX_DEPTH} levels deep"
                         ) from None
    check_depth(marked, source=source)
    bad = _bad_number(marked, max_int=INT64_MAX if int64 else None)
    if bad is not None:
        raise InputError(f"{source}: malformed JSON: {bad[1]} at {bad[0]}",
                         hint=_NUMBERS_HINT if int64 else _FINITE_HINT)


_ABSENT = object()
#: an integer of 19 digits or more may be outside int64, shorter ones never are; a JSON number
#: starts after '[', ':', ',' or blank (a digest's digits follow a letter or a quote)
_LONG_DIGITS = re.compile(r"(?:^|[\[:,\s])-?\d{19}")


class _NotFinite(ValueError):
    pass


class _Number(str):
    """A number ``parse_json`` refuses, kept as its text so its JSON path can be named."""


def _reject_constant(name: str) -> Any:
    raise _NotFinite(f"{name} is not valid JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if value in (math.inf, -math.inf):
        raise _NotFinite(f"{text[:40]} is out of range (not a finite number)")
    return value


def _marked_float(text: str) -> Any:
    value = float(text)
    return _Number(text) if value in (math.inf, -math.inf) else value


def _marked_int(text: str) -> Any:
    value = int(text) if len(text) < 400 else None
    return value if value is not None and INT64_MIN <= value <= INT64_MAX else _Number(text)


def _marked_long_int(text: str) -> Any:
    try:
        return int(text)
    except ValueError:  # more digits than Python converts (4300)
        return _Number(text)


def _bad_number(data: Any, *, max_int: int | None = INT64_MAX) -> tuple[str, str] | None:
    """The JSON path of the first number of ``data`` that is not finite or not an integer
    within ``-max_int - 1 .. max_int`` (any integer when None), and why; None when every
    number is fine. Iterative: callers check the depth first."""
    stack: list[tuple[Any, str]] = [(data, "$")]
    while stack:
        node, path = stack.pop()
        if isinstance(node, dict):
            stack.extend((v, f"{path}.{k}") for k, v in reversed(list(node.items())))
        elif isinstance(node, (list, tuple)):
            stack.extend((v, f"{path}[{i}]") for i, v in reversed(list(enumerate(node))))
        elif isinstance(node, _Number):
            return path, _why(node, int64=max_int is not None)
        elif isinstance(node, float) and not math.isfinite(node):
            return path, f"{node} is not a finite number"
        elif isinstance(node, int) and not isinstance(node, bool) and max_int is not None \
                and not -max_int - 1 <= node <= max_int:
            bits = node.bit_length()
            text = str(node) if bits < 128 else f"an integer of {bits} bits"
            return path, f"{text} is out of range (integers are at most {max_int})"
    return None


def _why(text: str, *, int64: bool = True) -> str:
    shown = text if len(text) <= 40 else text[:20] + "..." + text[-8:]
    if text.lstrip("-").isdigit():
        if not int64:
            return f"{shown} is out of range (an integer of {len(text.lstrip('-'))} digits)"
        return f"{shown} is out of range (integers are int64: at most {INT64_MAX})"
    if text in ("NaN", "Infinity", "-Infinity"):
        return f"{shown} is not valid JSON (not a finite number)"
    return f"{shown} is out of range (not a finite number)"


_NUMBERS_HINT = "llm360 records hold finite numbers and int64 integers only"
_FINITE_HINT = "JSON numbers are finite, and integers at most 4300 digits long"


def check_numbers(data: Any, *, source: str, int64: bool = True) -> None:
    """Refuse a document holding a number that is not finite (NaN, an infinity) or an integer
    outside int64 (unless ``int64=False``), naming ``source`` and its JSON path (exit 2)."""
    bad = _bad_number(data, max_int=INT64_MAX if int64 else None)
    if bad is not None:
        raise InputError(f"{source}: {bad[1]} at {bad[0]}",
                         hint=_NUMBERS_HINT if int64 else _FINITE_HINT)


def check_depth(data: Any, *, source: str, limit: int = MAX_DEPTH) -> None:
    """Refuse documents nested deeper than ``limit`` (checked without recursion)."""
    stack = [(data, 1)]
    while stack:
        node, depth = stack.pop()
        children: Iterable[Any]
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


def read_json(path: Path, *, source: str | None = None, limit: int | None = None) -> Any:
    """Read and parse one JSON file (of at most ``limit`` bytes, when given); a missing,
    unreadable or larger file is an ``InputError``."""
    return parse_json(read_bytes(path, source, limit=limit), source=source or str(path))


def read_yaml(path: Path, *, source: str | None = None, int64: bool = True) -> Any:
    """Read one YAML file with the safe loader."""
    source = source or str(path)
    return parse_yaml(read_bytes(path, source), source=source, int64=int64)


def parse_yaml(raw: bytes, *, source: str, int64: bool = True) -> Any:
    """Parse UTF-8 YAML bytes with the safe loader; errors name ``source``. Numbers are
    bounded as ``parse_json`` bounds them."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"{source}: not UTF-8 text (byte {exc.start})") from exc
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        _refuse_aliases(text, loader, source)
        data = yaml.load(text, Loader=loader)  # noqa: S506 - a safe loader
    except yaml.YAMLError as exc:
        raise InputError(f"{source}: malformed YAML: {_yaml_problem(exc)}") from exc
    except RecursionError:
        raise InputError(f"{source}: malformed YAML: nested more than {MAX_DEPTH} levels deep"
                         ) from None
    check_depth(data, source=source)
    check_numbers(data, source=source, int64=int64)
    return data


def _refuse_aliases(text: str, loader: Any, source: str) -> None:
    """An alias (``*name``) repeats a node without copying it: a few lines of them grow into
    billions of nodes when walked (a "billion laughs"). llm360's YAML has none."""
    if "*" not in text:
        return
    for event in yaml.parse(text, Loader=loader):
        if isinstance(event, yaml.AliasEvent):
            mark = event.start_mark
            where = f" at line {mark.line + 1} column {mark.column + 1}" if mark else ""
            raise InputError(f"{source}: YAML alias *{event.anchor}{where}: aliases are not "
                             "accepted", hint="write the value out where it is used")


def _yaml_problem(exc: Exception) -> str:
    problem, context = getattr(exc, "problem", None), getattr(exc, "context", None)
    text = problem or (str(exc).splitlines() or [type(exc).__name__])[0]
    if context:
        text = f"{context}: {text}"
    mark = getattr(exc, "problem_mark", None)
    if mark is not None:
        text += f" at line {mark.line + 1} column {mark.column + 1}"
    return text


def read_bytes(path: Path, source: str | None = None, *, limit: int | None = None) -> bytes:
    """A file's bytes; a missing or unreadable file is an ``InputError`` naming it, and so is
    one of more than ``limit`` bytes (refused before it is read: a 1 GiB file, ``/dev/zero``
    or a pipe that never ends)."""
    try:
        if limit is None:
            return Path(path).read_bytes()
        with open(path, "rb") as fh:
            st = os.fstat(fh.fileno())
            raw = b"" if stat.S_ISREG(st.st_mode) and st.st_size > limit else fh.read(limit + 1)
        if len(raw) > limit or (stat.S_ISREG(st.st_mode) and st.st_size > limit):
            raise InputError(f"{source or path}: larger than {limit:,} bytes, the most llm360 "
                             "reads of such a file")
        return raw
    except FileNotFoundError as exc:
        raise InputError(f"{source or path}: file not found") from exc
    except IsADirectoryError as exc:
        raise InputError(f"{source or path}: is a directory, expected a file") from exc
    except OSError as exc:
        raise InputError(f"{source or path}: cannot read: {exc.strerror}") from exc


def manifest_to_bytes(manifest: Manifest) -> bytes:
    """The manifest as canonical JSON bytes (what is hashed and signed)."""
    return canonical_json(to_data(manifest), source=layout.MANIFEST)


def manifest_from_bytes(raw: bytes, *, source: str = layout.MANIFEST) -> Manifest:
    """Parse, check the schema version, validate and build a ``Manifest``."""
    from llm360.registry.manifest.schema import validate

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
    """Read (at most ``MAX_RELEASE_FILE`` bytes), validate and build the manifest at
    ``path``."""
    from llm360.registry.verify.sources import MAX_RELEASE_FILE

    raw = read_bytes(path, str(path), limit=MAX_RELEASE_FILE)
    return manifest_from_bytes(raw, source=str(path))
