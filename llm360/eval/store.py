"""Benchmark results into a run: the raw results file kept as sorted-key JSON, its rows merged
into ``evals/benchmarks/rows.json`` (reruns of the same evaluation de-duplicated: the newest
kept, the others recorded under ``superseded``).

A row's step and tokens are its checkpoint's, read from its ``trainer_state.json``, never
interpolated. Writers hold the run's lock.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from llm360.errors import InputError
from llm360.eval.formats import ParsedFile
from llm360.registry import layout
from llm360.registry._files import resolve_inside
from llm360.registry.build.hashing import write_recorded
from llm360.registry.manifest.serialize import canonical_json, check_depth, read_bytes
from llm360.registry.run.benchmarks import BenchmarkRow, BenchmarkRows, read_rows
from llm360.registry.run.records import TrainerState

__all__ = ["CheckpointFacts", "run_checkpoints", "raw_bytes", "rows_for", "store_raw",
           "merge_rows", "write_rows", "load_rows", "evaluated"]


@dataclass(frozen=True, kw_only=True)
class CheckpointFacts:
    name: str
    step: int
    tokens_seen: int
    folder: Path


def run_checkpoints(run: Path) -> dict[str, CheckpointFacts]:
    """Every checkpoint of ``run`` with its step and tokens seen (its trainer state), by step."""
    folder = resolve_inside(run, layout.CHECKPOINTS_DIR)
    if not resolve_inside(run, layout.RUN_METADATA).is_file():
        raise InputError(f"{run}: not a run directory ({layout.RUN_METADATA} is missing)")
    found = []
    for sub in sorted(folder.iterdir()) if folder.is_dir() else ():
        rel = layout.checkpoint_file(sub.name, layout.TRAINER_STATE)
        path = resolve_inside(run, rel)
        if path.is_file():
            state = TrainerState.from_json(read_bytes(path), source=str(path))
            found.append(CheckpointFacts(name=sub.name, step=state.step,
                                         tokens_seen=state.tokens_seen,
                                         folder=resolve_inside(run, layout.checkpoint_dir(
                                             sub.name))))
    if not found:
        raise InputError(f"{run}: the run has no checkpoints")
    found.sort(key=lambda c: (c.step, c.tokens_seen, c.name))
    return {c.name: c for c in found}


def raw_bytes(data: Any, *, source: str) -> bytes:
    """A results document as the run keeps it: sorted-key canonical JSON."""
    check_depth(data, source=source)
    return canonical_json(data, source=source)


def rows_for(parsed: ParsedFile, ckpt: CheckpointFacts, *, raw: str, raw_sha256: str,
             origin: str) -> list[BenchmarkRow]:
    return [BenchmarkRow(
        checkpoint=ckpt.name, step=ckpt.step, tokens_seen=ckpt.tokens_seen, task=r.task,
        benchmark=r.benchmark, metric=r.metric, filter=r.filter, n_shot=r.n_shot,
        value=r.value, stderr=r.stderr, samples=r.samples, primary=r.primary,
        limit=parsed.limit, dataset=r.dataset, harness=parsed.harness,
        task_version=r.task_version, task_hash=r.task_hash, date=parsed.date, raw=raw,
        raw_sha256=raw_sha256, format=parsed.format, origin=origin) for r in parsed.results]


def store_raw(run: Path, checkpoint: str, data: bytes) -> tuple[str, str]:
    """Write a raw results file for ``checkpoint`` (named by its digest: the same file stored
    twice is one file); (its path in the run, its sha256)."""
    digest = hashlib.sha256(data).hexdigest()
    rel = layout.benchmark_raw_path(checkpoint, digest)
    path = resolve_inside(run, rel)
    if not (path.is_file() and path.read_bytes() == data):
        write_recorded(run, rel, data)
    return rel, digest


def load_rows(run: Path) -> BenchmarkRows:
    return read_rows(run) or BenchmarkRows()


def _order(row: BenchmarkRow) -> tuple:
    return (row.step, row.tokens_seen, row.checkpoint, row.benchmark, row.task, row.metric,
            row.filter, -1 if row.n_shot is None else row.n_shot)


def merge_rows(current: BenchmarkRows, new: Iterable[BenchmarkRow]) -> BenchmarkRows:
    """``current`` with ``new`` rows added: per evaluation (``BenchmarkRow.key``) the row of
    the newest run (its date; the later one on a tie) is kept, the others are superseded. A
    row already there from the same raw file is not added twice."""
    ranked = [(i, r) for i, r in enumerate([*current.rows, *new])]
    best: dict[tuple, tuple[int, BenchmarkRow]] = {}
    seen = {(r.key, r.raw) for r in current.superseded}
    superseded = list(current.superseded)
    for i, row in ranked:
        held = best.get(row.key)
        if held is not None and held[1].raw == row.raw:
            continue
        if held is None or (row.date or "", i) >= (held[1].date or "", held[0]):
            best[row.key], loser = (i, row), held[1] if held else None
        else:
            loser = row
        if loser is not None and (loser.key, loser.raw) not in seen:
            seen.add((loser.key, loser.raw))
            superseded.append(loser)
    kept = sorted((r for _, r in best.values()), key=_order)
    winners = {r.key: r.raw for r in kept}
    superseded = sorted((replace(r, superseded_by=winners[r.key]) for r in superseded),
                        key=lambda r: (*_order(r), r.raw))
    return BenchmarkRows(rows=tuple(kept), superseded=tuple(superseded))


def write_rows(run: Path, rows: BenchmarkRows) -> None:
    write_recorded(run, layout.BENCHMARK_ROWS, rows.to_json(source=layout.BENCHMARK_ROWS))


def evaluated(rows: BenchmarkRows, checkpoint: str, tasks: Iterable[str], *,
              num_fewshot: int | None, limit: float | None) -> bool:
    """True when ``rows`` hold every one of ``tasks`` for ``checkpoint`` with these settings."""
    have: dict[str, list[BenchmarkRow]] = {}
    for r in rows.rows:
        if r.checkpoint == checkpoint and r.limit == limit and (
                num_fewshot is None or r.n_shot == num_fewshot):
            have.setdefault(r.task, []).append(r)
    return all(t in have for t in tasks)
