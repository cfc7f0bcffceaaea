"""Benchmark rows (``evals/benchmarks/rows.json``) as the cards show them: a table of every
benchmark for every checkpoint, one curve per benchmark against tokens seen (a limited run
drawn dashed and labelled with its ``--limit``), and each checkpoint's ``model-index`` results
in the Open LLM Leaderboard style (dataset type, config and split, ``args.num_few_shot``, the
headline metric, values in percent). A limited run is never a model-index result.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TypeAlias

from llm360.registry import layout
from llm360.registry.cards import _plots
from llm360.registry.cards._lines import Line
from llm360.registry.manifest.benchmark_catalog import by_task, metric_label
from llm360.registry.run.benchmarks import BenchmarkRow, BenchmarkRows

#: a table column: benchmark, task, shots (-1: none), metric, filter, limit (-1: none)
_Column: TypeAlias = tuple[str, str, int, str, str, float]

__all__ = ["BenchmarkColumn", "BenchmarkLine", "IndexResult", "BenchmarkSection",
           "benchmark_section", "benchmark_plots"]

#: metrics reported as fractions, shown (and put in the model-index) in percent
_FRACTIONS = re.compile(r"^(acc|acc_norm|exact_match|em|f1|mc1|mc2|pass@\d+|pass_at_\d+)$")


@dataclass(frozen=True, kw_only=True)
class BenchmarkColumn:
    title: str            # e.g. "AI2 Reasoning Challenge (25-Shot) normalized accuracy (%)"
    limited: str | None   # "--limit 8" for a limited run


@dataclass(frozen=True, kw_only=True)
class BenchmarkLine:
    """One checkpoint's row of the benchmark table."""

    checkpoint: str
    tokens_seen: str
    cells: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class IndexResult:
    """One ``model-index`` result."""

    dataset_type: str
    dataset_name: str
    dataset_config: str | None
    dataset_split: str | None
    num_few_shot: int | None
    metric_type: str
    metric_name: str
    value: float


@dataclass(frozen=True, kw_only=True)
class BenchmarkSection:
    columns: tuple[BenchmarkColumn, ...]
    lines: tuple[BenchmarkLine, ...]
    index: Mapping[str, tuple[IndexResult, ...]]   # checkpoint -> its model-index results
    rows_path: str = layout.BENCHMARK_ROWS

    @property
    def limited(self) -> bool:
        return any(c.limited for c in self.columns)


def _percent(row: BenchmarkRow) -> bool:
    return _FRACTIONS.match(row.metric) is not None


def _shown(value: float, row: BenchmarkRow) -> float:
    return round(value * 100, 2) if _percent(row) else value


def _column_key(row: BenchmarkRow) -> _Column:
    return (row.benchmark, row.task, row.n_shot if row.n_shot is not None else -1, row.metric,
            row.filter, row.limit if row.limit is not None else -1)


def _hub_metric(row: BenchmarkRow) -> str:
    bench = by_task(row.benchmark)
    return bench.hub_metric if bench is not None and row.metric == bench.metric else row.metric


def _title(row: BenchmarkRow) -> str:
    unit = " (%)" if _percent(row) else ""
    return f"{row.dataset.name} {metric_label(row.metric)}{unit}"


def benchmark_section(rows: BenchmarkRows | None, checkpoints: Sequence[tuple[str, str]]
                      ) -> BenchmarkSection | None:
    """The table and model-index results of the headline rows; ``checkpoints``: (name, tokens
    seen as shown) in the cards' order. None without rows."""
    primary = [r for r in rows.rows if r.primary] if rows is not None else []
    if not primary:
        return None
    keys = sorted({_column_key(r) for r in primary})
    first: dict[_Column, BenchmarkRow] = {}
    for r in primary:
        first.setdefault(_column_key(r), r)
    columns = tuple(BenchmarkColumn(title=_title(first[k]), limited=(
        f"--limit {first[k].limit:g}" if first[k].limit is not None else None)) for k in keys)
    cell = {(r.checkpoint, _column_key(r)): r for r in primary}
    lines = []
    for name, tokens in checkpoints:
        cells = []
        for k in keys:
            row = cell.get((name, k))
            if row is None:
                cells.append("–")
                continue
            err = f" ± {_shown(row.stderr, row):g}" if row.stderr is not None else ""
            cells.append(f"{_shown(row.value, row):g}{err}")
        if any(c != "–" for c in cells):
            lines.append(BenchmarkLine(checkpoint=name, tokens_seen=tokens, cells=tuple(cells)))
    index: dict[str, list[IndexResult]] = {}
    for r in primary:
        if r.limit is None:
            index.setdefault(r.checkpoint, []).append(IndexResult(
                dataset_type=r.dataset.type, dataset_name=r.dataset.name,
                dataset_config=r.dataset.config, dataset_split=r.dataset.split,
                num_few_shot=r.n_shot, metric_type=_hub_metric(r),
                metric_name=metric_label(r.metric), value=_shown(r.value, r)))
    return BenchmarkSection(columns=columns, lines=tuple(lines),
                            index={k: tuple(v) for k, v in index.items()})


def benchmark_plots(rows: BenchmarkRows | None, lines: Sequence[Line],
                    tokens: Mapping[str, int]) -> list[_plots.PlotSpec]:
    """One plot per benchmark: its headline metric per checkpoint against tokens seen, one
    series per line of training, a limited run's dashed and labelled with its limit."""
    primary = [r for r in rows.rows if r.primary] if rows is not None else []
    groups: dict[tuple[str, str, str, str], list[BenchmarkRow]] = {}
    for r in primary:
        groups.setdefault((r.task, str(r.n_shot), r.metric, r.filter), []).append(r)
    color = _plots.line_colors(lines)
    specs = []
    for (task, n_shot, metric, _filter), found in sorted(groups.items()):
        series = []
        for limit in sorted({r.limit for r in found}, key=lambda x: (x is not None, x or 0)):
            at = {r.checkpoint: r for r in found if r.limit == limit}
            for line in lines:
                if not any(n in at for n in line.checkpoints):
                    continue
                names = ((line.fork_point,) if line.fork_point else ()) + line.checkpoints
                points = [(float(tokens[n]), _shown(at[n].value, at[n])) for n in names
                          if n in at and n in tokens]
                series.append(_plots.Series(
                    label=line.label if limit is None else f"{line.label} (--limit {limit:g})",
                    x=tuple(p[0] for p in points), y=tuple(p[1] for p in points),
                    color=color(line.name), dashed=limit is not None))
        key = "benchmark_" + re.sub(r"[^a-z0-9]+", "_", f"{task}_{n_shot}shot_{metric}".lower()
                                    ).strip("_")
        unit = " (%)" if _percent(found[0]) else ""
        specs.append(_plots.PlotSpec(
            key=key, path=layout.plot_path(key),
            title=f"{found[0].dataset.name}: {metric_label(metric)} per checkpoint",
            xlabel="tokens seen", ylabel=f"{metric_label(metric)}{unit}", series=tuple(series),
            markers=True, section="benchmark"))
    return specs
