"""The run records the cards are rendered from: a view over the run's typed records.

Two ways in: ``inputs_from_records`` takes the ``RunRecords`` ``release build`` has just
validated and hashed (nothing is read or hashed again but the log lines); ``read_inputs`` reads
the run files a manifest lists, checks each against the manifest's sha256 and reads it into
its record type (``llm360 card``). A record that is absent is ``None`` or empty, and the cards
leave its facts out.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from llm360.errors import VerificationError
from llm360.registry import layout
from llm360.registry._files import resolve_inside
from llm360.registry.manifest.models import Artifact, Manifest
from llm360.registry.manifest.serialize import parse_json
from llm360.registry.run.benchmarks import BenchmarkRows
from llm360.registry.run.records import (
    DataConfig,
    DataIndex,
    EvalRecord,
    LogLine,
    Record,
    RunMetadata,
    TrainConfig,
    TrainerState,
)
from llm360.registry.verify.open import OpenedRelease

if TYPE_CHECKING:
    from llm360.registry.run.reader import RunRecords

__all__ = ["LogFile", "RunInputs", "inputs_from_records", "read_inputs", "input_paths",
           "METADATA_FILE"]

METADATA_FILE = layout.RUN_METADATA

_R = TypeVar("_R", bound=Record)


@dataclass(frozen=True, kw_only=True)
class LogFile:
    """One ``logs/*.jsonl`` file: its path and its lines in file order."""

    path: str
    records: tuple[LogLine, ...]


@dataclass(frozen=True, kw_only=True)
class RunInputs:
    """The run's records the cards read; ``trainer_states`` and ``evals`` are keyed by
    checkpoint name."""

    metadata: RunMetadata | None = None
    train_config: TrainConfig | None = None
    data_config: DataConfig | None = None
    data_index: DataIndex | None = None
    trainer_states: Mapping[str, TrainerState] = field(default_factory=dict)
    evals: Mapping[str, EvalRecord] = field(default_factory=dict)
    logs: tuple[LogFile, ...] = ()
    benchmarks: BenchmarkRows | None = None   # evals/benchmarks/rows.json


def input_paths(manifest: Manifest) -> list[str]:
    """Every artifact the cards and plots read, sorted (their digests key the render cache)."""
    paths = {METADATA_FILE, manifest.training.config, manifest.data.index,
             *(p for p in (manifest.training.data_config,) if p),
             *manifest.logs, *manifest.evals, layout.BENCHMARK_ROWS}
    for ckpt in manifest.checkpoints:
        paths.add(layout.checkpoint_file(ckpt.name, layout.TRAINER_STATE))
    listed = {a.path for a in manifest.artifacts}
    return sorted(p for p in paths if p in listed)


def _log_records(raw: bytes, source: str) -> tuple[LogLine, ...]:
    """The lines of a log whose bytes a build validated line by line (read as they are)."""
    return tuple(LogLine.from_data(parse_json(line, source=f"{source}:{i}"))
                 for i, line in enumerate(raw.splitlines(), 1) if line.strip())


def inputs_from_records(records: RunRecords,
                        logs: Mapping[str, bytes] | None = None) -> RunInputs:
    """``RunInputs`` from a build's ``RunRecords`` (validated and hashed by the build).

    The log files are read from the run here (the build validated them line by line)."""
    root = Path(records.root)
    if logs is None:
        logs = {rel: resolve_inside(root, rel).read_bytes() for rel in records.logs}
    return RunInputs(metadata=records.metadata, train_config=records.train_config,
                     data_config=records.data_config, data_index=records.data_index,
                     trainer_states=records.trainer_states,
                     evals={rec.checkpoint: rec for rec in records.evals.values()},
                     logs=tuple(LogFile(path=rel, records=_log_records(raw, rel))
                                for rel, raw in sorted(logs.items())),
                     benchmarks=records.benchmarks)


def _read_listed(arts: Mapping[str, Artifact], root: Path | None, rel: str | None
                 ) -> bytes | None:
    """The bytes of a run file the manifest lists (``arts``: path -> artifact), checked against
    its sha256; None if absent."""
    if root is None or rel is None:
        return None
    art = arts.get(rel)
    if art is None:
        return None
    path = resolve_inside(root, rel, where=rel)
    if not path.is_file():
        return None
    data = path.read_bytes()
    if hashlib.sha256(data).hexdigest() != art.sha256:
        raise VerificationError(f"{path}: sha256 differs from the manifest; refusing to render "
                                "cards from it", artifact=rel,
                                hint="run `llm360 verify` on the release, or pass the right --root")
    return data


def read_inputs(manifest: Manifest, source: Path | OpenedRelease | None) -> RunInputs:
    """The run files ``manifest`` lists, each checked against its sha256 and read into its
    record (schema-checked): from an opened release (``verify.open``), or under a folder
    (None: none)."""
    if isinstance(source, OpenedRelease):
        read = source.read_listed
    else:
        arts = {a.path: a for a in manifest.artifacts}

        def read(rel: str | None) -> bytes | None:
            return _read_listed(arts, source, rel)

    def load(rel: str | None, cls: type[_R]) -> _R | None:
        raw = read(rel)
        return cls.from_json(raw, source=rel or "") if raw is not None else None

    meta_raw = read(METADATA_FILE)
    states: dict[str, TrainerState] = {}
    evals: dict[str, EvalRecord] = {}
    for ckpt in manifest.checkpoints:
        state = load(layout.checkpoint_file(ckpt.name, layout.TRAINER_STATE), TrainerState)
        if state is not None:
            states[ckpt.name] = state
        record = load(ckpt.eval, EvalRecord)
        if record is not None:
            evals[ckpt.name] = record
    logs = []
    for rel in manifest.logs:
        raw = read(rel)
        if raw is not None:
            logs.append(LogFile(path=rel, records=_log_records(raw, rel)))
    return RunInputs(metadata=RunMetadata.from_yaml(meta_raw, source=METADATA_FILE)
                     if meta_raw is not None else None,
                     train_config=load(manifest.training.config, TrainConfig),
                     data_config=load(manifest.training.data_config, DataConfig),
                     data_index=load(manifest.data.index, DataIndex), trainer_states=states,
                     evals=evals, logs=tuple(logs),
                     benchmarks=load(layout.BENCHMARK_ROWS, BenchmarkRows))


def canonical_key(data: object) -> str:
    """sha256 of ``data`` as sorted-key JSON (a render cache key)."""
    return hashlib.sha256(json.dumps(data, sort_keys=True, separators=(",", ":"),
                                     default=str).encode("utf-8")).hexdigest()
