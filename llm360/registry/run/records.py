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

import os
import platform
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

#: config/derived_from.json holds the manifest's own ``DerivedFrom`` (one type in the run and
#: the release); ``llm360.registry.run.derived`` reads and writes it
from llm360.registry.manifest.models import (
    DerivedFrom,
    ParentCheckpoint,
    ParentRelease,
    ParentSigner,
)
from llm360.registry.manifest.schema import validate
from llm360.registry.manifest.serialize import parse_yaml
from llm360.registry.run._record import Record, extra_field
from llm360.registry.run.data_records import (
    DATA_INDEX_VERSION,
    ChunkCounts,
    CorpusInfo,
    DataChunkRecord,
    DataConfig,
    DataIndex,
    DataSource,
    HeldOut,
    MixtureRecord,
    MixtureSourceRecord,
    RowCount,
    StageRecord,
    StageSourceRecord,
    TokenizerInfo,
)

__all__ = [
    "Record", "Licenses", "RunMetadata", "ModelConfig", "TrainConfig", "Position", "ParentRef",
    "TrainerState", "Memorization", "EvalDetails", "EvalBenchmark", "EvalRecord", "LogLine",
    "ArchiveInfo", "CodeInfo", "EnvironmentInfo", "Provenance",
    "DataChunkRecord", "DataIndex", "ChunkCounts", "RowCount", "MixtureRecord",
    "MixtureSourceRecord", "StageRecord", "StageSourceRecord", "DataConfig", "DataSource",
    "TokenizerInfo", "CorpusInfo", "HeldOut",
    "DerivedFrom", "ParentRelease", "ParentSigner", "ParentCheckpoint",
    "DATA_INDEX_VERSION", "TRAINER_STATE_VERSION", "EVAL_VERSION", "PROVENANCE_VERSION",
]

TRAINER_STATE_VERSION = "llm360.trainer_state/v1"
EVAL_VERSION = "llm360.eval/v1"
PROVENANCE_VERSION = "llm360.provenance/v1"

_PACKAGES = ("llm360", "numpy", "safetensors", "torch", "transformers")


@dataclass(frozen=True, kw_only=True)
class Licenses(Record):
    weights: str
    code: str
    data: str
    documentation: str
    components: Mapping[str, str] | None = None    # a license per MOF component
    extra: Mapping[str, Any] = extra_field()

    @property
    def four(self) -> dict[str, str]:
        """weights, code, data and documentation: the licenses every release names"""
        return {"weights": self.weights, "code": self.code, "data": self.data,
                "documentation": self.documentation}


@dataclass(frozen=True, kw_only=True)
class RunMetadata(Record):
    """``llm360.yaml``: what the release says about itself (YAML, sorted keys)."""

    SCHEMA = "run_metadata"

    name: str
    version: str
    licenses: Licenses
    description: str | None = None
    authors: tuple[str, ...] | None = None
    language: tuple[str, ...] | None = None
    links: Mapping[str, str] | None = None
    tags: tuple[str, ...] | None = None
    final_checkpoint: str | None = None    # default: the last checkpoint of the main line
    extra: Mapping[str, Any] = extra_field()    # other keys the schema allows

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
class ModelConfig(Record):
    """``config/model.json``: a Hugging Face model config; the keys llm360 reads, and the rest
    as the file holds them."""

    SCHEMA = "model_config"

    architectures: tuple[str, ...]
    model_type: str
    vocab_size: int
    hidden_size: int
    num_hidden_layers: int
    num_attention_heads: int
    extra: Mapping[str, Any] = extra_field()


@dataclass(frozen=True, kw_only=True)
class TrainConfig(Record):
    """``config/train.json``: every training hyperparameter (the rest in ``extra``)."""

    SCHEMA = "train_config"

    backend: str
    precision: str
    world_size: int
    seed: int
    extra: Mapping[str, Any] = extra_field()


@dataclass(frozen=True, kw_only=True)
class Position(Record):
    """The next row to train on: a chunk index and a row within it."""

    chunk: int
    row: int


@dataclass(frozen=True, kw_only=True)
class ParentRef(Record):
    """A parent checkpoint by name and OMS root digest."""

    name: str
    root_digest: str


@dataclass(frozen=True, kw_only=True)
class TrainerState(Record):
    """``checkpoints/NAME/trainer_state.json``: where training stood at a checkpoint."""

    SCHEMA = "trainer_state"
    LENIENT = True    # lineage and train_config are open in its schema
    VERSION = TRAINER_STATE_VERSION

    checkpoint: str
    step: int
    tokens_seen: int
    data_chunks: tuple[int, ...]
    position: Position
    parents: tuple[ParentRef, ...] = ()
    schedule: Mapping[str, Any] | None = None
    metrics: Mapping[str, float] | None = None
    stage: str | None = None          # the data mixture stage this checkpoint ends
    lineage: str | None = None        # the line it is on (main, or a fork's name)
    train_config: Mapping[str, Any] | None = None    # the configuration that produced it
    imported_from: str | None = None  # the folder an imported checkpoint came from
    missing: tuple[str, ...] | None = None    # what an import could not recover
    extra: Mapping[str, Any] = extra_field()


@dataclass(frozen=True, kw_only=True)
class Memorization(Record):
    """How an eval's memorization score was measured: its prefix (k) and continuation (l)
    lengths, under any of the names recorders use."""

    LENIENT = True

    k: int | None = None
    l: int | None = None  # noqa: E741 (the paper's name)
    prefix_tokens: int | None = None
    continuation_tokens: int | None = None
    suffix_tokens: int | None = None
    extra: Mapping[str, Any] = extra_field()

    @property
    def prefix(self) -> int | None:
        return self.k if self.k is not None else self.prefix_tokens

    @property
    def continuation(self) -> int | None:
        return next((v for v in (self.l, self.continuation_tokens, self.suffix_tokens)
                     if v is not None), None)


@dataclass(frozen=True, kw_only=True)
class EvalDetails(Record):
    """``details`` of an eval record: how it was measured (any key may be absent)."""

    LENIENT = True

    heldout_sequences: int | None = None
    heldout_tokens: int | None = None
    memorization: Memorization | None = None
    extra: Mapping[str, Any] = extra_field()


@dataclass(frozen=True, kw_only=True)
class EvalBenchmark(Record):
    """A benchmark some of an eval's metrics were measured on (its Hub dataset id)."""

    dataset: str
    metrics: Mapping[str, str]    # metric key -> its Hub metric type
    name: str | None = None
    config: str | None = None
    split: str | None = None
    extra: Mapping[str, Any] = extra_field()


@dataclass(frozen=True, kw_only=True)
class EvalRecord(Record):
    """``evals/NAME.json``: the evaluation of one checkpoint."""

    SCHEMA = "eval"
    VERSION = EVAL_VERSION

    checkpoint: str
    step: int
    tokens_seen: int
    metrics: Mapping[str, float]
    details: EvalDetails | None = None
    benchmarks: tuple[EvalBenchmark, ...] | None = None
    extra: Mapping[str, Any] = extra_field()


@dataclass(frozen=True, kw_only=True)
class LogLine(Record):
    """One line of ``logs/train.jsonl``: one optimizer step."""

    SCHEMA = "train_log"

    step: int
    loss: float
    lr: float
    tokens_seen: int
    grad_norm: float | None = None
    tokens_per_s: float | None = None
    peak_memory_bytes: int | None = None
    extra: Mapping[str, Any] = extra_field()


@dataclass(frozen=True, kw_only=True)
class ArchiveInfo(Record):
    """The trainer's source code as it ran: a reproducible archive in the run."""

    path: str
    sha256: str
    package: str
    version: str
    components: Mapping[str, str]    # MOF component -> the file of the archive that is it
    files: tuple[str, ...] | None = None
    extra: Mapping[str, Any] = extra_field()


@dataclass(frozen=True, kw_only=True)
class CodeInfo(Record):
    """The code that trained: repository, commit, dirty state (``null`` when unknown)."""

    NULLABLE = frozenset({"repository", "commit", "dirty"})

    repository: str | None = None
    commit: str | None = None
    dirty: bool | None = None
    archive: ArchiveInfo | None = None
    extra: Mapping[str, Any] = extra_field()


@dataclass(frozen=True, kw_only=True)
class EnvironmentInfo(Record):
    python: str
    platform: str
    hardware: str
    extra: Mapping[str, Any] = extra_field()


@dataclass(frozen=True, kw_only=True)
class Provenance(Record):
    """``code/provenance.json``: the code and machine that trained the run."""

    SCHEMA = "provenance"
    VERSION = PROVENANCE_VERSION

    code: CodeInfo
    packages: Mapping[str, str]
    environment: EnvironmentInfo
    extra: Mapping[str, Any] = extra_field()

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
