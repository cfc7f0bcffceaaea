"""Read a run directory (v1): every JSON/YAML record parsed and validated against its schema.

``scan_run`` collects every problem it finds (``llm360 run check`` lists them all);
``read_run`` raises the first (``release build`` and ``verify`` stop there).
"""

from __future__ import annotations

import io
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from llm360.errors import InputError, Llm360Error, SchemaError
from llm360.registry import layout
from llm360.registry._files import resolve_inside
from llm360.registry.layout import artifact_kind
from llm360.registry.manifest.models import DerivedFrom
from llm360.registry.manifest.problems import Problem
from llm360.registry.manifest.schema import Validated, describe, validator
from llm360.registry.manifest.serialize import parse_json, parse_yaml, read_bytes
from llm360.registry.run.benchmarks import BenchmarkRows
from llm360.registry.run.derived import derived_from_of
from llm360.registry.run.formats import check_file_format
from llm360.registry.run.listing import RunListing, list_run
from llm360.registry.run.records import (
    DataConfig,
    DataIndex,
    EvalRecord,
    ModelConfig,
    Provenance,
    Record,
    RunMetadata,
    TrainConfig,
    TrainerState,
)

__all__ = ["RunRecords", "Problem", "RunScan", "RunListing", "list_run", "read_run",
           "scan_run", "artifact_kind",
           "REQUIRED", "MAX_LOG_LINE"]

R = TypeVar("R", bound=Record)

REQUIRED = layout.REQUIRED
#: a training log line longer than this is refused (a step's record is a few hundred bytes)
MAX_LOG_LINE = 64 * 1024
#: at most this many problems are listed per log file
MAX_LOG_PROBLEMS = 10
#: a log up to this size is read whole and remembered as valid by its bytes (``Validated``)
MAX_REMEMBERED_LOG = 64 << 20


@dataclass(frozen=True, kw_only=True)
class RunRecords:
    """What a run directory says about itself: each record validated against its schema and
    read into its typed record (``records``), the same types the writer writes."""

    root: Path
    files: tuple[str, ...]
    metadata: RunMetadata
    model_config: ModelConfig
    train_config: TrainConfig
    data_config: DataConfig | None
    data_index: DataIndex
    trainer_states: Mapping[str, TrainerState]  # checkpoint name -> trainer_state.json
    evals: Mapping[str, EvalRecord]             # path -> eval record
    logs: tuple[str, ...]
    provenance: Provenance
    tokenizer: str | None
    logged_steps: frozenset[int] = frozenset()  # every step that has a log line
    benchmarks: BenchmarkRows | None = None     # evals/benchmarks/rows.json, when present
    derived_from: DerivedFrom | None = None     # config/derived_from.json, when present
    #: the run's copy of the parent checkpoint ``derived_from`` names (``checkpoints/NAME/``,
    #: pulled): referenced by the release, never one of its artifacts (not in ``files``)
    parent_files: tuple[str, ...] = ()

    def eval_of(self, checkpoint: str) -> EvalRecord | None:
        """The eval record of ``checkpoint``, if the run has one."""
        return next((r for r in self.evals.values() if r.checkpoint == checkpoint), None)


@dataclass(frozen=True, kw_only=True)
class RunScan:
    """Every record that validated, every problem found, and the files listed."""

    root: Path
    files: tuple[str, ...]           # regular files, pickles left out
    problems: list[Problem]
    records: RunRecords | None        # None when a required record is missing or invalid
    trainer_states: Mapping[str, TrainerState]
    data_index: DataIndex | None


class _Collector:
    def __init__(self, root: Path, validated: Validated | None = None) -> None:
        self.root = root
        self.problems: list[Problem] = []
        self.validated = validated if validated is not None else Validated(None)

    def add(self, code: str, rel: str, message: str, *, json_path: str | None = None,
            error: Llm360Error | None = None) -> None:
        if error is None:
            error = InputError(f"{self.root / rel}: {message}" if rel else message)
        self.problems.append(Problem(code=code, file=rel, json_path=json_path,
                                     message=message, error=error))

    def schema(self, rel: str, data: Any, name: str, *, source: str | None = None) -> bool:
        """Add every schema error of ``data`` (the most relevant first); True when valid."""
        errors = list(validator(name).iter_errors(data))
        if not errors:
            return True
        from jsonschema.exceptions import best_match  # imported by validator(), lazily

        source = source or str(self.root / rel)
        first = best_match(errors)
        for err in [first] + [e for e in errors if e is not first]:
            exc = SchemaError(describe(err), file=source, json_path=err.json_path)
            self.add("schema", rel, describe(err), json_path=err.json_path, error=exc)
        return False

    def load(self, rel: str, cls: type[R], *, yaml: bool = False) -> R | None:
        """The record at ``rel`` parsed, valid against the schema of ``cls`` and read into
        it, else None (with its problems added); bytes found valid by an earlier build are
        not validated again."""
        data = self.load_data(rel, cls.SCHEMA or "", yaml=yaml)
        return cls.from_data(data) if data is not None else None

    def load_data(self, rel: str, name: str, *, yaml: bool = False) -> Any:
        """The JSON data at ``rel`` parsed and valid against schema ``name``, else None."""
        source = str(self.root / rel)
        try:
            raw = read_bytes(resolve_inside(self.root, rel), source)
            data = (parse_yaml if yaml else parse_json)(raw, source=source)
        except Llm360Error as exc:
            self.add("json", rel, _strip(exc.message, self.root / rel), error=exc)
            return None
        key = self.validated.key(name, raw)
        if self.validated.has(key):
            return data
        if not self.schema(rel, data, name):
            return None
        self.validated.put(key)
        return data


def _strip(message: str, path: Path) -> str:
    prefix = f"{path}: "
    return message[len(prefix):] if message.startswith(prefix) else message


def scan_run(root: Path, *, only: set[str] | None = None, listing: RunListing | None = None,
             validated: Validated | None = None) -> RunScan:
    """Validate every record of the run at ``root``, collecting every problem.

    ``only`` limits the scan to those files (verify rebuilds from the manifest's artifacts);
    ``listing`` is ``list_run(root)`` when the caller has it already; ``validated`` skips
    records whose exact bytes an earlier build found valid (and remembers the new ones). A
    missing or non-directory ``root`` raises ``InputError`` at once.
    """
    listing = listing if listing is not None else list_run(root)
    root = listing.root
    col = _Collector(root, validated)
    col.problems.extend(listing.problems)
    files = list(listing.files)
    if only is not None:
        files = [f for f in files if f in only]
    present = set(files)
    for rel in REQUIRED:
        if rel not in present:
            col.add("missing", rel, f"not a run directory: {rel} is missing",
                    error=InputError(f"{root}: not a run directory: {rel} is missing",
                                     hint="see 'The run directory (v1)' in the README"))
    kept = []
    for rel in files:  # by content, whatever the name: pickles, zips, .npy never pass
        try:
            check_file_format(root, rel)
        except Llm360Error as exc:
            code = "pickle" if "pickle" in exc.message else "format"
            col.add(code, rel, _strip(exc.message, root / rel), error=exc)
        else:
            kept.append(rel)
    files = kept
    present = set(files)

    metadata = (col.load(layout.RUN_METADATA, RunMetadata, yaml=True)
                if layout.RUN_METADATA in present else None)

    def load(rel: str, cls: type[R]) -> R | None:
        return col.load(rel, cls) if rel in present else None

    listed = tuple(files)
    derived = (col.load_data(layout.DERIVED_FROM, "derived_from")
               if layout.DERIVED_FROM in present else None)
    derived_from = derived_from_of(derived) if derived is not None else None
    parent_files: tuple[str, ...] = ()
    if derived_from is not None:  # the pulled parent checkpoint: referenced, not the run's
        prefix = layout.checkpoint_dir(derived_from.checkpoint.name) + "/"
        parent_files = tuple(rel for rel in files if rel.startswith(prefix))
        files = [rel for rel in files if not rel.startswith(prefix)]
    trainer_states: dict[str, TrainerState] = {}
    ckpt_dirs: set[str] = set()
    for rel in files:
        name = layout.checkpoint_of(rel)
        if name is None:
            continue
        ckpt_dirs.add(name)
        if rel != layout.checkpoint_file(name, layout.TRAINER_STATE):
            continue
        state = col.load(rel, TrainerState)
        if state is None:
            continue
        if state.checkpoint != name:
            msg = (f"names checkpoint {state.checkpoint!r} but sits in "
                   f"{layout.checkpoint_dir(name)}/")
            col.add("record", rel, msg, json_path="$.checkpoint",
                    error=SchemaError(msg, file=str(root / rel), json_path="$.checkpoint"))
            continue
        trainer_states[name] = state
    for name in sorted(ckpt_dirs):
        why = layout.checkpoint_name_problem(name)
        if why is not None:  # its branch on the Hub would be another ref, or none
            folder = layout.checkpoint_dir(name)
            col.add("name", folder, f"the checkpoint name {name!r} {why}", error=InputError(
                f"{root / folder}: the checkpoint name {name!r} {why}",
                hint="a checkpoint is a branch on the Hub: rename its folder and its "
                     "trainer_state.json 'checkpoint' (e.g. ckpt_NNN)"))
        rel = layout.checkpoint_file(name, layout.TRAINER_STATE)
        if rel not in present:
            col.add("missing", rel, f"checkpoint {name} has no {layout.TRAINER_STATE}",
                    error=InputError(f"{root}/{layout.checkpoint_dir(name)}: checkpoint without "
                                     f"{layout.TRAINER_STATE}"))
    logs = tuple(rel for rel in files
                 if rel.startswith(f"{layout.LOGS_DIR}/") and rel.endswith(".jsonl"))
    logged_steps: set[int] = set()
    for rel in logs:
        logged_steps |= _check_log(root, rel, col)
    evals: dict[str, EvalRecord] = {}
    for rel in files:
        if layout.is_eval_record(rel):
            record = col.load(rel, EvalRecord)
            if record is not None:
                evals[rel] = record
    model_config = load(layout.MODEL_CONFIG, ModelConfig)
    train_config = load(layout.TRAIN_CONFIG, TrainConfig)
    data_config = load(layout.DATA_CONFIG, DataConfig)
    data_index = load(layout.DATA_INDEX, DataIndex)
    provenance = load(layout.PROVENANCE, Provenance)
    benchmarks = load(layout.BENCHMARK_ROWS, BenchmarkRows)
    records = None
    if (metadata is not None and model_config is not None and train_config is not None
            and data_index is not None and provenance is not None
            and (data_config is not None or layout.DATA_CONFIG not in present)):
        records = RunRecords(
            root=root, files=tuple(files), metadata=metadata, model_config=model_config,
            train_config=train_config, data_config=data_config, data_index=data_index,
            trainer_states=trainer_states, evals=evals, logs=logs, provenance=provenance,
            tokenizer=layout.TOKENIZER if layout.TOKENIZER in present else None,
            logged_steps=frozenset(logged_steps), benchmarks=benchmarks,
            derived_from=derived_from, parent_files=parent_files)
    return RunScan(root=root, files=listed, problems=col.problems, records=records,
                   trainer_states=trainer_states, data_index=data_index)


def read_run(root: Path, *, only: set[str] | None = None, listing: RunListing | None = None,
             validated: Validated | None = None) -> RunRecords:
    """Parse and validate every record of the run directory at ``root``; raise the first
    problem (``InputError`` or ``SchemaError`` naming the file and JSON path)."""
    scan = scan_run(root, only=only, listing=listing, validated=validated)
    if scan.problems:
        raise scan.problems[0].as_error(scan.root)
    assert scan.records is not None
    return scan.records


def _check_log(root: Path, rel: str, col: _Collector) -> set[int]:
    """Validate every line of a log (each problem collected); the steps it records.

    A log up to ``MAX_REMEMBERED_LOG`` bytes is read whole, so that bytes an earlier build
    found valid are only parsed (``Validated``); a larger one is streamed and validated."""
    path = resolve_inside(root, rel)
    source = str(root / rel)
    whole = None
    if col.validated.active and os.stat(path).st_size <= MAX_REMEMBERED_LOG:
        whole = read_bytes(path, source)
    key = col.validated.key("train_log", whole) if whole is not None else ""
    trusted = col.validated.has(key)
    checker = None if trusted else validator("train_log")
    steps: set[int] = set()
    found = 0
    with (io.BytesIO(whole) if whole is not None else open(path, "rb")) as fh:
        for lineno, raw in enumerate(iter(lambda: fh.readline(MAX_LOG_LINE + 1), b""), 1):
            where = f"{rel}:{lineno}"
            if len(raw.rstrip(b"\r\n")) > MAX_LOG_LINE:
                msg = f"line longer than {MAX_LOG_LINE} bytes"
                col.add("json", where, msg, error=InputError(
                    f"{source}:{lineno}: {msg}",
                    hint="a log line is one step's record of a few numbers"))
                found += 1
                break
            if not raw.strip():
                continue
            try:
                record = parse_json(raw, source=f"{source}:{lineno}")
            except Llm360Error as exc:
                col.add("json", where, _strip(exc.message, Path(f"{source}:{lineno}")),
                        error=exc)
                found += 1
            else:
                if checker is None or checker.is_valid(record):
                    steps.add(record["step"])
                else:
                    col.schema(where, record, "train_log", source=f"{source}:{lineno}")
                    found += 1
            if found >= MAX_LOG_PROBLEMS:
                col.add("json", rel, f"more problems after line {lineno} are not listed")
                break
    if not trusted and not found:
        col.validated.put(key)
    return steps
