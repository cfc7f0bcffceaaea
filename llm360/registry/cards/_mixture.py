"""The data card's mixture: a table per stage (target and realised share of every source and
category, tokens, repeated rows, epochs) and the plot of category shares across chunks."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from llm360.registry import layout
from llm360.registry.cards._plots import PlotSpec, Series
from llm360.registry.manifest.models import Manifest

__all__ = ["StageRow", "StageView", "mixture_stages", "mixture_plots", "MIXTURE_PLOT"]

MIXTURE_PLOT = "data_mixture"


@dataclass(frozen=True, kw_only=True)
class StageRow:
    name: str
    category: str
    license: str
    target: str
    realised: str
    sequences: str
    tokens: str
    repeated: str
    epochs: str


@dataclass(frozen=True, kw_only=True)
class StageView:
    name: str
    chunks: str            # "0-2"
    sequences: str
    tokens: str
    schedule: str | None   # its own learning-rate schedule, if any
    sources: tuple[StageRow, ...]
    categories: tuple[StageRow, ...]


def _share(value: float) -> str:
    return f"{100 * value:.2f}%"


def mixture_stages(manifest: Manifest, num: Callable[[object], str]) -> tuple[StageView, ...]:
    """One table per stage of the manifest's mixture (none without one)."""
    mixture = manifest.data.mixture
    if mixture is None:
        return ()
    licenses = {s.name: s.license for s in mixture.sources}
    out = []
    for st in mixture.stages:
        first, last = (st.chunks[0], st.chunks[-1]) if st.chunks else (None, None)
        out.append(StageView(
            name=st.name, chunks=f"{first}" if first == last else f"{first}-{last}",
            sequences=num(st.sequences), tokens=num(st.tokens),
            schedule=", ".join(f"`{k}` {num(v)}" for k, v in sorted(st.schedule.items()))
            if st.schedule else None,
            sources=tuple(StageRow(
                name=s.name, category=s.category, license=licenses.get(s.name, "–"),
                target=_share(s.target_ratio), realised=_share(s.realised_ratio),
                sequences=num(s.sequences), tokens=num(s.tokens),
                repeated=num(s.repeated_sequences), epochs=f"{s.epochs:.3g}")
                for s in st.sources),
            categories=tuple(StageRow(
                name=c.name, category=c.name, license="", target=_share(c.target_ratio),
                realised=_share(c.realised_ratio), sequences=num(c.sequences),
                tokens=num(c.tokens), repeated=num(c.repeated_sequences), epochs="")
                for c in st.categories)))
    return tuple(out)


def mixture_plots(manifest: Manifest) -> list[PlotSpec]:
    """Each category's share of every chunk's tokens against the tokens seen (chunks in
    training order; a step per chunk), one line per category."""
    mixture = manifest.data.mixture
    if mixture is None or not manifest.data.chunks:
        return []
    category = {s.name: s.category for s in mixture.sources}
    order: list[str] = []
    for s in mixture.sources:
        if s.category not in order:
            order.append(s.category)
    xs: list[float] = []
    shares: dict[str, list[float]] = {c: [] for c in order}
    seen = 0
    for chunk in sorted(manifest.data.chunks, key=lambda c: c.index):
        tokens: dict[str, int] = {}
        for name, count in (chunk.sources or {}).items():
            cat = category.get(name, name)
            tokens[cat] = tokens.get(cat, 0) + count.tokens
        total = sum(tokens.values())
        xs += [float(seen), float(seen + chunk.tokens)]
        for cat in order:
            value = tokens.get(cat, 0) / total if total else 0.0
            shares[cat] += [value, value]
        seen += chunk.tokens
    stages = ", ".join(st.name for st in mixture.stages)
    series = tuple(Series(label=cat, x=tuple(xs), y=tuple(shares[cat]), color=f"C{i % 10}")
                   for i, cat in enumerate(order))
    return [PlotSpec(key=MIXTURE_PLOT, path=layout.plot_path(MIXTURE_PLOT),
                     title=f"Category share of each chunk's tokens (stages {stages})",
                     xlabel="tokens seen", ylabel="share of the chunk's tokens",
                     series=series, markers=False, section="data")]
