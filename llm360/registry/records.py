"""The records of a run directory (v1) as typed, frozen dataclasses.

Each record serializes to exactly the JSON (or YAML) the project has always written: canonical
JSON with sorted keys, optional fields left out when ``None``, and any key the schema allows but
the record does not name kept in ``extra`` (so a record read and written again gives the same
bytes). Writing and reading both check the record's JSON Schema and name the file and the JSON
path of a problem.

    state = TrainerState(checkpoint="ckpt_000", step=4, tokens_seen=512, data_chunks=(0,),
                         position=Position(chunk=1, row=0))
    raw = state.to_json(source="checkpoints/ckpt_000/trainer_state.json")
    assert TrainerState.from_json(raw, source="...") == state
"""

from __future__ import annotations

import dataclasses
import os
import platform
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar

from llm360.errors import InputError
from llm360.registry.schema import validate
from llm360.registry.serialize import canonical_json, parse_json, parse_yaml

__all__ = [
    "Licenses", "RunMetadata", "DataChunkRecord", "DataIndex", "Position", "ParentRef",
    "TrainerState", "EvalRecord", "LogLine", "CodeInfo", "EnvironmentInfo", "Provenance",
    "DATA_INDEX_VERSION", "TRAINER_STATE_VERSION", "EVAL_VERSION", "PROVENANCE_VERSION",
]

DATA_INDEX_VERSION = "llm360.data_index/v1"
TRAINER_STATE_VERSION = "llm360.trainer_state/v1"
EVAL_VERSION = "llm360.eval/v1"
PROVENANCE_VERSION = "llm360.provenance/v1"

R = TypeVar("R", bound="_Record")
_PACKAGES = ("llm360", "numpy", "safetensors", "torch", "transformers")


def _plain(value: Any) -> Any:
    if isinstance(value, _Record):
        return value.to_data()
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


class _Record:
    """Conversion to and from JSON data; subclasses are frozen keyword-only dataclasses."""

    #: the schema the whole document is checked against (None: a part of a document)
    SCHEMA: ClassVar[str | None] = None
    #: the ``schema_version`` the document carries (None: it carries none)
    VERSION: ClassVar[str | None] = None
    #: fields written as ``null`` when None (the others are left out)
    NULLABLE: ClassVar[frozenset[str]] = frozenset()
    #: fields holding a record, or a sequence of records
    NESTED: ClassVar[Mapping[str, type]] = {}

    def to_data(self) -> dict:
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
        names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
        kwargs: dict[str, Any] = {}
        extra: dict[str, Any] = {}
        for key, value in data.items():
            if key == "schema_version" and cls.VERSION is not None:
                continue
            if key not in names or key == "extra":
                extra[key] = value
                continue
            nested = cls.NESTED.get(key)
            if nested is not None and isinstance(value, list):
                value = tuple(nested.from_data(v) for v in value)
            elif nested is not None and isinstance(value, Mapping):
                value = nested.from_data(value)
            elif isinstance(value, list):
                value = tuple(value)
            kwargs[key] = value
        if "extra" in names:
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


def _extra() -> Any:
    return field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class Licenses(_Record):
    weights: str
    code: str
    data: str
    documentation: str
    extra: Mapping[str, Any] = _extra()    # e.g. ``components`` (per-artifact licenses)


@dataclass(frozen=True, kw_only=True)
class RunMetadata(_Record):
    """``llm360.yaml``: what the release says about itself (YAML, sorted keys)."""

    SCHEMA = "run_metadata"
    NESTED = {"licenses": Licenses}

    name: str
    version: str
    licenses: Licenses
    description: str | None = None
    authors: tuple[str, ...] | None = None
    language: tuple[str, ...] | None = None
    links: Mapping[str, str] | None = None
    tags: tuple[str, ...] | None = None
    extra: Mapping[str, Any] = _extra()    # other keys the schema allows

    def to_yaml(self, *, source: str) -> bytes:
        import yaml

        data = self.to_data()
        validate(data, "run_metadata", source=source)
        return yaml.safe_dump(data, sort_keys=True, allow_unicode=True).encode("utf-8")

    @classmethod
    def from_yaml(cls, raw: bytes, *, source: str) -> RunMetadata:
        data = parse_yaml(raw, source=source)
        validate(data, "run_metadata", source=source)
        return cls.from_data(data)


@dataclass(frozen=True, kw_only=True)
class DataChunkRecord(_Record):
    """One entry of ``data/index.json``: a chunk file and the digests of its rows."""

    index: int
    path: str
    sha256: str
    sequences: int
    tokens: int
    merkle_root: str
    sources: tuple[str, ...] | None = None
    extra: Mapping[str, Any] = _extra()


@dataclass(frozen=True, kw_only=True)
class DataIndex(_Record):
    """``data/index.json``: the data chunks in training order."""

    SCHEMA = "data_index"
    VERSION = DATA_INDEX_VERSION
    NESTED = {"chunks": DataChunkRecord}

    seq_len: int
    chunks: tuple[DataChunkRecord, ...]
    dtype: str = "int32"
    merkle: str | None = None    # the chunks' Merkle format (llm360.registry.merkle); None: legacy
    extra: Mapping[str, Any] = _extra()


@dataclass(frozen=True, kw_only=True)
class Position(_Record):
    """The next row to train on: a chunk index and a row within it."""

    chunk: int
    row: int


@dataclass(frozen=True, kw_only=True)
class ParentRef(_Record):
    """A parent checkpoint by name and OMS root digest."""

    name: str
    root_digest: str


@dataclass(frozen=True, kw_only=True)
class TrainerState(_Record):
    """``checkpoints/NAME/trainer_state.json``: where training stood at a checkpoint."""

    SCHEMA = "trainer_state"
    VERSION = TRAINER_STATE_VERSION
    NESTED = {"position": Position, "parents": ParentRef}

    checkpoint: str
    step: int
    tokens_seen: int
    data_chunks: tuple[int, ...]
    position: Position
    parents: tuple[ParentRef, ...] = ()
    schedule: Mapping[str, Any] | None = None
    metrics: Mapping[str, float] | None = None
    extra: Mapping[str, Any] = _extra()


@dataclass(frozen=True, kw_only=True)
class EvalRecord(_Record):
    """``evals/NAME.json``: the evaluation of one checkpoint."""

    SCHEMA = "eval"
    VERSION = EVAL_VERSION

    checkpoint: str
    step: int
    tokens_seen: int
    metrics: Mapping[str, float]
    details: Mapping[str, Any] | None = None
    extra: Mapping[str, Any] = _extra()


@dataclass(frozen=True, kw_only=True)
class LogLine(_Record):
    """One line of ``logs/train.jsonl``: one optimizer step."""

    SCHEMA = "train_log"

    step: int
    loss: float
    lr: float
    tokens_seen: int
    grad_norm: float | None = None
    tokens_per_s: float | None = None
    peak_memory_bytes: int | None = None
    extra: Mapping[str, Any] = _extra()


@dataclass(frozen=True, kw_only=True)
class CodeInfo(_Record):
    """The code that trained: repository, commit, dirty state (``null`` when unknown)."""

    NULLABLE = frozenset({"repository", "commit", "dirty"})

    repository: str | None = None
    commit: str | None = None
    dirty: bool | None = None
    extra: Mapping[str, Any] = _extra()


@dataclass(frozen=True, kw_only=True)
class EnvironmentInfo(_Record):
    python: str
    platform: str
    hardware: str
    extra: Mapping[str, Any] = _extra()


@dataclass(frozen=True, kw_only=True)
class Provenance(_Record):
    """``code/provenance.json``: the code and machine that trained the run."""

    SCHEMA = "provenance"
    VERSION = PROVENANCE_VERSION
    NESTED = {"code": CodeInfo, "environment": EnvironmentInfo}

    code: CodeInfo
    packages: Mapping[str, str]
    environment: EnvironmentInfo
    extra: Mapping[str, Any] = _extra()

    @classmethod
    def of_this_machine(cls, *, packages: Iterable[str] = _PACKAGES,
                        repository: str | None = None, commit: str | None = None,
                        dirty: bool | None = None) -> Provenance:
        """A provenance record of this machine: package versions, Python, platform, CPU count
        (and the GPUs, when torch is already imported); the code fields are what you pass."""
        from importlib import metadata

        versions = {}
        for name in packages:
            try:
                versions[name] = metadata.version(name)
            except metadata.PackageNotFoundError:
                continue
        hardware = [f"{os.cpu_count()} CPU"]
        torch = sys.modules.get("torch")
        if torch is not None and torch.cuda.is_available():
            hardware += [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
        return cls(
            code=CodeInfo(repository=repository, commit=commit, dirty=dirty), packages=versions,
            environment=EnvironmentInfo(
                python=platform.python_version(),
                platform=f"{platform.system().lower()}-{platform.machine()}",
                hardware=", ".join(hardware)))
