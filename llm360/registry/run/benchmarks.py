"""Benchmark results per checkpoint: ``evals/benchmarks/rows.json`` as typed records.

``llm360 eval`` (the lm-evaluation-harness runner) and ``llm360 eval import`` write the rows;
the build lists them, the raw results files they come from and the embedded task definitions as
artifacts (kinds ``benchmark_rows``, ``benchmark_results``, ``benchmark_task``), so the
signature covers them; the cards read them. Nothing here imports the harness or torch.

Each row is traceable: ``raw`` is the harness's results file in the run and ``raw_sha256`` its
digest (``benchmark_problems`` checks both, and that the row's step and tokens are its
checkpoint's).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from llm360.registry import layout
from llm360.registry.manifest.problems import Problem
from llm360.registry.run._record import Record

__all__ = ["BENCHMARKS_VERSION", "BenchmarkDataset", "Harness", "BenchmarkRow",
           "BenchmarkRows", "read_rows", "benchmark_problems"]

BENCHMARKS_VERSION = "llm360.benchmarks/v1"


def _extra() -> Any:
    return field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class BenchmarkDataset(Record):
    """The benchmark's dataset as the Hub's ``model-index`` names it."""

    type: str                    # the Hub dataset id, e.g. allenai/ai2_arc
    name: str                    # e.g. "AI2 Reasoning Challenge (25-Shot)"
    config: str | None = None
    split: str | None = None
    extra: Mapping[str, Any] = _extra()


@dataclass(frozen=True, kw_only=True)
class Harness(Record):
    """The harness that computed a row: its name, version and commit (None where unknown)."""

    NULLABLE = frozenset({"version", "commit"})

    name: str
    version: str | None
    commit: str | None
    extra: Mapping[str, Any] = _extra()


@dataclass(frozen=True, kw_only=True)
class BenchmarkRow(Record):
    """One (checkpoint, task, metric, filter, n-shot) result."""

    NULLABLE = frozenset({"n_shot", "stderr", "samples", "limit", "task_version", "task_hash",
                          "date"})

    checkpoint: str
    step: int
    tokens_seen: int
    task: str
    benchmark: str
    metric: str
    filter: str
    n_shot: int | None
    value: float
    stderr: float | None
    samples: int | None
    primary: bool
    limit: float | None
    dataset: BenchmarkDataset
    harness: Harness
    task_version: str | None
    task_hash: str | None
    date: str | None
    raw: str
    raw_sha256: str
    format: str
    origin: str
    superseded_by: str | None = None
    extra: Mapping[str, Any] = _extra()

    @property
    def key(self) -> tuple[str, str, str, str, int | None, float | None]:
        """What a rerun of the same evaluation shares (the newest run's row is kept); a limited
        run is another evaluation than the full one."""
        return (self.checkpoint, self.task, self.metric, self.filter, self.n_shot, self.limit)

    @property
    def limited(self) -> bool:
        return self.limit is not None


@dataclass(frozen=True, kw_only=True)
class BenchmarkRows(Record):
    """``evals/benchmarks/rows.json``: every row kept, and the rows reruns replaced."""

    SCHEMA = "benchmarks"
    VERSION = BENCHMARKS_VERSION

    rows: tuple[BenchmarkRow, ...] = ()
    superseded: tuple[BenchmarkRow, ...] = ()
    extra: Mapping[str, Any] = _extra()

    def primary(self) -> tuple[BenchmarkRow, ...]:
        """The headline row of each (benchmark, n-shot) per checkpoint."""
        return tuple(r for r in self.rows if r.primary)


def read_rows(root: Path) -> BenchmarkRows | None:
    """The run's (or release's) rows, checked against their schema; None without the file."""
    from llm360.registry._files import resolve_inside
    from llm360.registry.manifest.serialize import read_bytes

    path = resolve_inside(Path(root), layout.BENCHMARK_ROWS)
    if not path.is_file():
        return None
    source = str(Path(root) / layout.BENCHMARK_ROWS)
    return BenchmarkRows.from_json(read_bytes(path, source), source=source)


def benchmark_problems(rows: BenchmarkRows, *, digests: Mapping[str, str],
                       checkpoints: Mapping[str, tuple[int, int]]) -> list[Problem]:
    """Each row that does not trace to its raw file (``digests``: path -> sha256 of the
    run's files) or to its checkpoint (``checkpoints``: name -> (step, tokens seen))."""
    problems = []
    where = layout.BENCHMARK_ROWS

    def add(code: str, json_path: str, message: str) -> None:
        problems.append(Problem(code=code, file=where, json_path=json_path, message=message))

    for part, items in (("rows", rows.rows), ("superseded", rows.superseded)):
        for i, row in enumerate(items):
            at = f"$.{part}[{i}]"
            have = digests.get(row.raw)
            if have is None:
                add("reference", f"{at}.raw", f"{row.raw} is not in the run")
            elif have != row.raw_sha256:
                add("digest", f"{at}.raw_sha256",
                    f"is not the sha256 of {row.raw} ({have[:12]}...)")
            ckpt = checkpoints.get(row.checkpoint)
            if ckpt is None:
                add("reference", f"{at}.checkpoint",
                    f"{row.checkpoint} is not a checkpoint of the run")
            elif ckpt != (row.step, row.tokens_seen):
                add("data", at, f"step {row.step} and {row.tokens_seen} tokens differ from "
                    f"checkpoint {row.checkpoint}'s trainer state (step {ckpt[0]}, "
                    f"{ckpt[1]} tokens)")
    return problems
