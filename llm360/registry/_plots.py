"""Deterministic PNG plots for the cards: training curves from the logs, evals per checkpoint.

matplotlib is imported inside the functions (never at ``import llm360.registry``) and driven
through ``Figure`` + the Agg canvas, with the default style, a fixed size and DPI, and no
Software/date metadata, so the same inputs give the same bytes.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from llm360.registry.models import Checkpoint, Manifest

__all__ = ["Series", "branches", "log_segments", "render_plots", "PLOT_FILES"]

#: every plot file this module may write, relative to the release folder
PLOT_FILES = {
    "train_loss": "plots/train_loss.png",
    "learning_rate": "plots/learning_rate.png",
    "heldout_perplexity": "plots/heldout_perplexity.png",
    "memorization": "plots/memorization.png",
}

_SIZE = (6.4, 4.0)
_DPI = 100


@dataclass(frozen=True, kw_only=True)
class Series:
    """One line of a plot."""

    label: str
    x: tuple[float, ...]
    y: tuple[float, ...]


def branches(manifest: Manifest) -> list[list[Checkpoint]]:
    """The checkpoint graph cut into lines: the first child continues a line, every other child
    of a fork starts its own line beginning at the fork point (so the lines join)."""
    ckpts = {c.name: c for c in manifest.checkpoints}
    order = {c.name: i for i, c in enumerate(manifest.checkpoints)}
    kids: dict[str, list[str]] = {name: [] for name in ckpts}
    for c in manifest.checkpoints:
        for p in c.parents:
            if p in kids:
                kids[p].append(c.name)
    starts = [(None, c.name) for c in manifest.checkpoints
              if not [p for p in c.parents if p in ckpts]]
    assigned: set[str] = set()
    lines: list[list[Checkpoint]] = []
    while starts:
        fork, name = starts.pop(0)
        line = [ckpts[fork]] if fork else []
        current: str | None = name
        while current is not None:
            if current in assigned:  # a merge already drawn: join it and stop
                line.append(ckpts[current])
                break
            assigned.add(current)
            line.append(ckpts[current])
            nxt = sorted(kids[current], key=order.__getitem__)
            starts.extend((current, k) for k in nxt[1:] if k not in assigned)
            current = nxt[0] if nxt else None
        lines.append(line)
    return lines


def branch_label(line: Sequence[Checkpoint], index: int) -> str:
    if index == 0 or len(line) < 2:
        return f"{line[0].name} to {line[-1].name}" if len(line) > 1 else line[0].name
    return f"fork at {line[0].name} to {line[-1].name}"


def log_segments(records: Sequence[Mapping], key: str) -> list[Series]:
    """(tokens seen, ``key``) from log records, cut wherever the step goes back (a restart from
    an earlier checkpoint: a fork), each piece its own line. Records without both are skipped."""
    pieces: list[tuple[list[float], list[float], int]] = []
    last_step = None
    for rec in records:
        x, y, step = rec.get("tokens_seen"), rec.get(key), rec.get("step")
        if not _number(x) or not _number(y):
            continue
        if not pieces or (step is not None and last_step is not None and step <= last_step):
            pieces.append(([], [], step if step is not None else 0))
        pieces[-1][0].append(float(x))
        pieces[-1][1].append(float(y))
        last_step = step
    out = []
    for i, (xs, ys, first) in enumerate(pieces):
        label = "training run" if i == 0 else f"restart at step {first}"
        out.append(Series(label=label, x=tuple(xs), y=tuple(ys)))
    return out


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def checkpoint_series(manifest: Manifest, metric: str) -> list[Series]:
    """(tokens seen, metric) along each branch; branches without the metric are left out."""
    out = []
    for i, line in enumerate(branches(manifest)):
        points = [(c.tokens_seen, c.metrics[metric]) for c in line
                  if _number(c.metrics.get(metric))]
        if points:
            out.append(Series(label=branch_label(line, i), x=tuple(float(p[0]) for p in points),
                              y=tuple(float(p[1]) for p in points)))
    return out


def _png(series: Sequence[Series], *, title: str, ylabel: str, markers: bool) -> bytes:
    import matplotlib

    from matplotlib import style
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    with style.context("default"), matplotlib.rc_context({"svg.hashsalt": "llm360",
                                                          "path.simplify": True}):
        fig = Figure(figsize=_SIZE, dpi=_DPI)
        FigureCanvasAgg(fig)
        ax = fig.add_subplot()
        for s in series:
            ax.plot(s.x, s.y, marker="o" if markers else None, markersize=4, linewidth=1.5,
                    label=s.label)
        ax.set_title(title)
        ax.set_xlabel("tokens seen")
        ax.set_ylabel(ylabel)
        ax.grid(True, alpha=0.3)
        if len(series) > 1:
            ax.legend(fontsize="small")
        fig.tight_layout()
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=_DPI,
                    metadata={"Software": None, "Creation Time": None, "Author": None,
                              "Title": title})
    return buf.getvalue()


def render_plots(manifest: Manifest, log_records: Sequence[Mapping]) -> dict[str, bytes]:
    """Relative path -> PNG bytes for every plot whose data exists; nothing is drawn empty."""
    out: dict[str, bytes] = {}
    loss = log_segments(log_records, "loss")
    if loss:
        out[PLOT_FILES["train_loss"]] = _png(loss, title="Training loss", ylabel="loss",
                                             markers=False)
    lr = log_segments(log_records, "lr")
    if lr:
        out[PLOT_FILES["learning_rate"]] = _png(lr, title="Learning rate",
                                                ylabel="learning rate", markers=False)
    ppl = checkpoint_series(manifest, "heldout_perplexity")
    if ppl:
        out[PLOT_FILES["heldout_perplexity"]] = _png(
            ppl, title="Held-out perplexity per checkpoint", ylabel="perplexity", markers=True)
    mem = checkpoint_series(manifest, "memorization")
    if mem:
        out[PLOT_FILES["memorization"]] = _png(
            mem, title="Memorization per checkpoint", ylabel="memorization score", markers=True)
    return out
