"""The run records the cards are rendered from, and the digests that identify them.

Two ways in: ``inputs_from_records`` takes what ``release build`` has just validated and hashed
(nothing is hashed again); ``read_inputs`` reads the run files a manifest lists and checks each
against the manifest's sha256 before it is used (``llm360 card``). A record that is absent is
``None`` or empty, and the cards leave its facts out.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from llm360.registry import layout
from llm360.errors import InputError, VerificationError
from llm360.registry._files import resolve_inside
from llm360.registry.benchmarks import BenchmarkRows
from llm360.registry.models import Manifest
from llm360.registry.serialize import parse_json

__all__ = ["LogFile", "RunInputs", "inputs_from_records", "read_inputs", "input_paths",
           "METADATA_FILE"]

METADATA_FILE = layout.RUN_METADATA


@dataclass(frozen=True, kw_only=True)
class LogFile:
    """One ``logs/*.jsonl`` file: its path and its records in file order."""

    path: str
    records: tuple[Mapping, ...]


@dataclass(frozen=True, kw_only=True)
class RunInputs:
    """Validated run records; ``trainer_states`` and ``evals`` are keyed by checkpoint name."""

    metadata: Mapping | None = None
    train_config: Mapping | None = None
    data_config: Mapping | None = None
    data_index: Mapping | None = None
    trainer_states: Mapping[str, Mapping] = field(default_factory=dict)
    evals: Mapping[str, Mapping] = field(default_factory=dict)
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


def _log_records(raw: bytes, source: str) -> tuple[Mapping, ...]:
    return tuple(parse_json(line, source=f"{source}:{i}")
                 for i, line in enumerate(raw.splitlines(), 1) if line.strip())


def inputs_from_records(records, logs: Mapping[str, bytes] | None = None) -> RunInputs:
    """``RunInputs`` from a build's ``RunRecords`` (validated and hashed by the build).

    The log files are read from the run here (the build validated them line by line)."""
    root = Path(records.root)
    if logs is None:
        logs = {rel: resolve_inside(root, rel).read_bytes() for rel in records.logs}
    evals = {rec["checkpoint"]: rec for rec in records.evals.values()}
    return RunInputs(metadata=records.metadata, train_config=records.train_config,
                     data_config=records.data_config, data_index=records.data_index,
                     trainer_states=dict(records.trainer_states), evals=evals,
                     logs=tuple(LogFile(path=rel, records=_log_records(raw, rel))
                                for rel, raw in sorted(logs.items())),
                     benchmarks=BenchmarkRows.from_data(records.benchmarks)
                     if records.benchmarks is not None else None)


def _read_listed(arts: Mapping, root: Path | None, rel: str | None) -> bytes | None:
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


def read_inputs(manifest: Manifest, root: Path | None) -> RunInputs:
    """The run files ``manifest`` lists under ``root``, each checked against its sha256."""
    arts = {a.path: a for a in manifest.artifacts}

    def load(rel: str | None):
        raw = _read_listed(arts, root, rel)
        return parse_json(raw, source=rel or "") if raw is not None else None

    meta_raw = _read_listed(arts, root, METADATA_FILE)
    metadata = None
    if meta_raw is not None:
        import yaml

        try:
            metadata = yaml.safe_load(meta_raw.decode("utf-8"))
        except (UnicodeDecodeError, yaml.YAMLError) as exc:
            raise InputError(f"{METADATA_FILE}: not valid YAML ({exc})") from None
    states = {}
    for ckpt in manifest.checkpoints:
        state = load(layout.checkpoint_file(ckpt.name, layout.TRAINER_STATE))
        if state is not None:
            states[ckpt.name] = state
    evals = {}
    for ckpt in manifest.checkpoints:
        record = load(ckpt.eval)
        if isinstance(record, Mapping):
            evals[ckpt.name] = record
    logs = []
    for rel in manifest.logs:
        raw = _read_listed(arts, root, rel)
        if raw is not None:
            logs.append(LogFile(path=rel, records=_log_records(raw, rel)))
    rows = _read_listed(arts, root, layout.BENCHMARK_ROWS)
    return RunInputs(metadata=metadata if isinstance(metadata, Mapping) else None,
                     train_config=load(manifest.training.config),
                     data_config=load(manifest.training.data_config),
                     data_index=load(manifest.data.index), trainer_states=states, evals=evals,
                     logs=tuple(logs),
                     benchmarks=BenchmarkRows.from_json(rows, source=layout.BENCHMARK_ROWS)
                     if rows is not None else None)


def canonical_key(data) -> str:
    """sha256 of ``data`` as sorted-key JSON (a render cache key)."""
    return hashlib.sha256(json.dumps(data, sort_keys=True, separators=(",", ":"),
                                     default=str).encode("utf-8")).hexdigest()
