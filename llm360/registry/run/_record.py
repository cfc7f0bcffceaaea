"""The base of the run's typed records: a frozen, keyword-only dataclass to and from JSON data.

Fields are converted by their type hints (a record, a tuple of records, a mapping of name ->
record); a key the record does not name is kept in ``extra``, so a record read and written
again gives the same data. A ``LENIENT`` record stands for a part of a document its schema
leaves open (``config/data.json``'s ``heldout``, a corpus source): a value of another type
than its field's stays in ``extra`` under its own key, so every field holds what it says.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from dataclasses import field
from functools import cache
from typing import Any, ClassVar, TypeVar

from llm360.errors import InputError
from llm360.registry.manifest.schema import validate
from llm360.registry.manifest.serialize import canonical_json, parse_json

__all__ = ["Record", "extra_field"]

R = TypeVar("R", bound="Record")


def extra_field() -> Any:
    """The ``extra`` field of a record: the keys it does not name, as read."""
    return field(default_factory=dict)


def _plain(value: Any) -> Any:
    if isinstance(value, Record):
        return value.to_data()
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _is_record(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, Record)


def _convert(tp: Any, value: Any) -> Any:
    """``value`` (validated JSON data) as the type ``tp`` names: records built, arrays as
    tuples; anything else as it is."""
    if value is None:
        return None
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        records = [a for a in args if _is_record(a)]
        if records and isinstance(value, Mapping):
            return _convert(records[0], value)
        return _convert(args[0], value) if len(args) == 1 else value
    if _is_record(tp) and isinstance(value, Mapping):
        return tp.from_data(value)
    if origin is tuple and isinstance(value, list):
        item = typing.get_args(tp)[0]
        return tuple(_convert(item, v) for v in value)
    if origin in (Mapping, dict) and isinstance(value, Mapping):
        item = typing.get_args(tp)[1]
        if _is_record(item):
            return {k: item.from_data(v) for k, v in value.items()}
        return value
    if isinstance(value, list):
        return tuple(value)
    return value


def _fits(tp: Any, value: Any) -> bool:
    """Whether ``value`` (not None) is of the type ``tp`` names, for a lenient record."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        return any(_fits(a, value) for a in typing.get_args(tp) if a is not type(None))
    if tp is Any:
        return True
    if isinstance(value, bool):
        return tp is bool
    if tp is float:
        return isinstance(value, (int, float))
    if _is_record(tp) or origin in (Mapping, dict):
        return isinstance(value, Mapping)
    if origin is tuple:
        item = typing.get_args(tp)[0]
        return isinstance(value, list) and all(_fits(item, v) for v in value)
    return isinstance(tp, type) and isinstance(value, tp)


@cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _plain_type(tp: Any) -> bool:
    """Whether a value of type ``tp`` is kept as read (no record, no tuple inside)."""
    if _is_record(tp) or typing.get_origin(tp) is tuple:
        return False
    return all(_plain_type(a) for a in typing.get_args(tp) if a is not Ellipsis)


@cache
def _fields(cls: type) -> dict[str, Any]:
    """field name -> its type where a value must be converted, None where it is kept as read
    (``extra`` left out)."""
    hints = _hints(cls)
    return {f.name: None if _plain_type(hints[f.name]) else hints[f.name]
            for f in dataclasses.fields(cls) if f.name != "extra"}


class Record:
    """Conversion to and from JSON data; subclasses are frozen keyword-only dataclasses."""

    #: the schema the whole document is checked against (None: a part of a document)
    SCHEMA: ClassVar[str | None] = None
    #: the ``schema_version`` the document carries (None: it carries none)
    VERSION: ClassVar[str | None] = None
    #: fields written as ``null`` when None (the others are left out)
    NULLABLE: ClassVar[frozenset[str]] = frozenset()
    #: a part of a document its schema leaves open: values of another type go to ``extra``
    LENIENT: ClassVar[bool] = False

    def to_data(self) -> dict[str, Any]:
        """The record as plain JSON data (what its file holds)."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            if f.name == "extra":
                continue
            value = getattr(self, f.name)
            if value is None and f.name not in self.NULLABLE:
                continue
            out[f.name] = _plain(value)
        extra = getattr(self, "extra", {})
        clash = sorted(set(extra) & (set(out) | {"schema_version"}))
        if clash:
            raise InputError(f"{type(self).__name__}: extra repeats the field(s) "
                             f"{', '.join(clash)}")
        out.update(_plain(extra))
        if self.VERSION is not None:
            out["schema_version"] = self.VERSION
        return out

    @classmethod
    def from_data(cls: type[R], data: Mapping[str, Any]) -> R:
        """The record of already validated JSON data (unknown keys go to ``extra``)."""
        plain: type = cls  # the caches' key (mypy takes a type[R] for unhashable)
        fields, hints = _fields(plain), _hints(plain)
        kwargs: dict[str, Any] = {}
        extra: dict[str, Any] = {}
        for key, value in data.items():
            if key == "schema_version" and cls.VERSION is not None:
                continue
            if key not in fields or (
                    cls.LENIENT and (value is None or not _fits(hints[key], value))):
                extra[key] = value
                continue
            tp = fields[key]
            kwargs[key] = value if tp is None and not isinstance(value, list) \
                else _convert(hints[key], value)
        if "extra" in hints:
            kwargs["extra"] = extra
        return cls(**kwargs)

    def to_json(self, *, source: str) -> bytes:
        """Canonical JSON bytes, checked against the record's schema first."""
        data = self.to_data()
        if self.SCHEMA is not None:
            validate(data, self.SCHEMA, source=source)
        return canonical_json(data, source=source)

    @classmethod
    def from_json(cls: type[R], raw: bytes, *, source: str) -> R:
        """Parse and check ``raw`` against the record's schema; ``SchemaError`` names the
        file and JSON path of the most relevant problem."""
        data = parse_json(raw, source=source)
        if cls.SCHEMA is not None:
            validate(data, cls.SCHEMA, source=source)
        if not isinstance(data, Mapping):
            raise InputError(f"{source}: expected a JSON object")
        return cls.from_data(data)
