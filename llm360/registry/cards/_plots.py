"""Deterministic PNG plots for the cards: training curves from the logs, evaluations per
checkpoint, one line (and one colour) per line of training, the main line first.

``plan_plots`` decides which plots exist from the data alone (nothing is drawn empty);
``render_plots`` draws them with ``_draw`` (Pillow, imported only there): the same inputs give
the same bytes.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import TypeGuard

from llm360.registry import layout
from llm360.registry.cards import _draw
from llm360.registry.cards._inputs import LogFile
from llm360.registry.cards._lines import MAIN, Line
from llm360.registry.cards._metrics import MEMORIZATION_EXACT, MEMORIZATION_SCORE
from llm360.registry.manifest.models import Manifest

__all__ = ["Series", "PlotSpec", "PLOT_DIR", "log_line", "log_series",
           "checkpoint_series", "plan_plots", "render_plots"]

PLOT_DIR = "plots"
#: log key -> (file stem, title, y label); values below ``_FLOOR`` are "not measured" markers
_LOG_PLOTS = (("loss", "train_loss", "Training loss per step (mean over its batch)", "loss"),
              ("lr", "learning_rate", "Learning rate", "learning rate"),
              ("grad_norm", "grad_norm", "Gradient norm (before clipping)", "gradient norm"),
              ("tokens_per_s", "throughput", "Training throughput", "tokens / s"))
_FLOOR = {"grad_norm": 0.0, "tokens_per_s": 0.0}
_LOG_NAME = re.compile(r"^logs/train-(.+)\.jsonl$")


@dataclass(frozen=True, kw_only=True)
class Series:
    """One line of a plot."""

    label: str
    x: tuple[float, ...]
    y: tuple[float, ...]
    color: str = "C0"
    dashed: bool = False


@dataclass(frozen=True, kw_only=True)
class PlotSpec:
    key: str
    path: str
    title: str
    xlabel: str
    ylabel: str
    series: tuple[Series, ...]
    markers: bool
    section: str  # "training" or "evaluation"
    integer_x: bool = False

    def as_data(self) -> dict[str, object]:
        """The spec as plain data, as ``dataclasses.asdict`` gives it but without copying
        the (immutable) point tuples: what the render cache keys."""
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        data["series"] = tuple({f.name: getattr(item, f.name) for f in fields(item)}
                               for item in self.series)
        return data


def _number(value: object) -> TypeGuard[int | float]:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def log_line(path: str) -> str:
    """The line of training a log file records: logs/train.jsonl is the main line,
    logs/train-fork1.jsonl is fork1, any other file is named by its stem."""
    if path == layout.TRAIN_LOG:
        return MAIN
    m = _LOG_NAME.match(path)
    return m.group(1) if m else path.rsplit("/", 1)[-1].removesuffix(".jsonl")


def line_colors(lines: Sequence[Line]) -> Callable[[str], str]:
    """A line of training's colour (``C0`` for the first), the same in every plot."""
    order = {line.name: i for i, line in enumerate(lines)}

    def color(name: str) -> str:
        return f"C{order.get(name, len(order)) % 10}"
    return color


def log_series(logs: Sequence[LogFile], key: str, lines: Sequence[Line]) -> list[Series]:
    """(tokens seen, ``key``) per log file, labelled by its line, the main line first; a file
    whose steps go back (a restart) is cut there. Records without both values are skipped."""
    labels = {line.name: line.label for line in lines}
    color = line_colors(lines)
    order = {line.name: i for i, line in enumerate(lines)}
    floor = _FLOOR.get(key)
    out = []
    for log in sorted(logs, key=lambda f: (order.get(log_line(f.path), len(order)), f.path)):
        name = log_line(log.path)
        pieces: list[tuple[list[float], list[float], int]] = []
        last = None
        for rec in log.records:
            x, y, step = rec.tokens_seen, getattr(rec, key), rec.step
            if not _number(x) or not _number(y) or (floor is not None and y < floor):
                continue
            if not pieces or (_number(step) and _number(last) and step <= last):
                pieces.append(([], [], step if _number(step) else 0))
            pieces[-1][0].append(float(x))
            pieces[-1][1].append(float(y))
            last = step
        base = labels.get(name, name)
        for i, (xs, ys, first) in enumerate(pieces):
            label = base if i == 0 else f"{base}, restart at step {first}"
            out.append(Series(label=label, x=tuple(xs), y=tuple(ys), color=color(name),
                              dashed=i > 0))
    return out


def checkpoint_series(manifest: Manifest, lines: Sequence[Line], metric: str, *,
                      x: Callable[[str], float], suffix: str = "",
                      dashed: bool = False) -> list[Series]:
    """(x(checkpoint), metric) along each line, starting at its fork point so lines join;
    lines without the metric are left out."""
    color = line_colors(lines)
    by_name = {c.name: c for c in manifest.checkpoints}
    out = []
    for line in lines:
        names = ((line.fork_point,) if line.fork_point else ()) + line.checkpoints
        points, own = [], 0
        for name in names:
            ckpt = by_name.get(name)
            if ckpt is not None and _number(ckpt.metrics.get(metric)):
                points.append((x(name), float(ckpt.metrics[metric])))
                own += name != line.fork_point
        if own:
            out.append(Series(label=line.label + suffix, x=tuple(p[0] for p in points),
                              y=tuple(p[1] for p in points), color=color(line.name),
                              dashed=dashed))
    return out


def plan_plots(manifest: Manifest, lines: Sequence[Line], logs: Sequence[LogFile], *,
               chunks_seen: Mapping[str, int], labels: Mapping[str, str]) -> list[PlotSpec]:
    """Every plot whose data exists: training curves from the logs, held-out perplexity and the
    memorization score per checkpoint, and one plot per other evaluation metric."""
    specs: list[PlotSpec] = []

    def add(key: str, title: str, xlabel: str, ylabel: str, series: Sequence[Series], *,
            markers: bool, section: str, integer_x: bool = False) -> None:
        if series:
            specs.append(PlotSpec(key=key, path=f"{PLOT_DIR}/{key}.png", title=title,
                                  xlabel=xlabel, ylabel=ylabel, series=tuple(series),
                                  markers=markers, section=section, integer_x=integer_x))

    for log_key, stem, title, ylabel in _LOG_PLOTS:
        add(stem, title, "tokens seen", ylabel, log_series(logs, log_key, lines),
            markers=False, section="training")
    tokens = {c.name: float(c.tokens_seen) for c in manifest.checkpoints}
    add("heldout_perplexity", "Held-out perplexity per checkpoint", "tokens seen", "perplexity",
        checkpoint_series(manifest, lines, "heldout_perplexity", x=tokens.__getitem__),
        markers=True, section="evaluation")
    seen = lambda name: float(chunks_seen[name])  # noqa: E731
    mem = checkpoint_series(manifest, lines, MEMORIZATION_SCORE, x=seen)
    if mem:
        mem += checkpoint_series(manifest, lines, MEMORIZATION_EXACT, x=seen,
                                 suffix=": exact match", dashed=True)
    add("memorization_score", f"{labels.get(MEMORIZATION_SCORE, MEMORIZATION_SCORE)}",
        "data chunks seen", "memorization score", mem, markers=True, section="evaluation",
        integer_x=True)
    done = {"heldout_perplexity", MEMORIZATION_SCORE, MEMORIZATION_EXACT}
    extra = sorted({k for c in manifest.checkpoints for k in c.metrics
                    if not k.startswith("train_") and k not in done})
    for key in extra:
        label = labels.get(key, key)
        add(f"eval_{key}", f"{label} per checkpoint", "tokens seen", label,
            checkpoint_series(manifest, lines, key, x=tokens.__getitem__),
            markers=True, section="evaluation")
    return specs


def render_plots(specs: Sequence[PlotSpec]) -> dict[str, bytes]:
    """Relative path -> PNG bytes of each planned plot, drawn in this process."""
    return _draw.draw(specs)
