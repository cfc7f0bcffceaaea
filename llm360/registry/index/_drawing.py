"""Geometry for the web view's inline SVG: the lineage graph of a release (its checkpoints in
lanes, with the checkpoints of other releases it derives from or that derive from it) and its
evaluation curves. Numbers only; the templates draw them (and escape every label)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from llm360.registry.index.records import CheckpointInfo, CrossEdge

__all__ = ["Node", "Edge", "Graph", "Curve", "Chart", "lineage_graph", "eval_charts"]

_MARGIN, _LANE, _TOP = 24, 36, 28


@dataclass(frozen=True, kw_only=True)
class Node:
    x: float
    y: float
    label: str
    title: str
    href: str | None
    external: bool
    show_label: bool


@dataclass(frozen=True, kw_only=True)
class Edge:
    x1: float
    y1: float
    x2: float
    y2: float
    external: bool


@dataclass(frozen=True, kw_only=True)
class Graph:
    width: int
    height: int
    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]


def _lanes(infos: tuple[CheckpointInfo, ...]) -> dict[str, int]:
    """A lane per line of descent: a checkpoint continues its first parent's lane when it is
    that lane's newest node, else opens a new lane."""
    lane_of: dict[str, int] = {}
    tail: list[str] = []
    for info in sorted(infos, key=lambda i: i.checkpoint.step):
        name = info.checkpoint.name
        parent = next((p for p in info.parents if p in lane_of), None)
        if parent is not None and tail[lane_of[parent]] == parent:
            lane_of[name] = lane_of[parent]
            tail[lane_of[name]] = name
        else:
            lane_of[name] = len(tail)
            tail.append(name)
    return lane_of


def _other(edge: CrossEdge, release_id: int) -> str:
    """The other release of an edge between releases (its manifest sha256, or the label of a
    parent that is not indexed)."""
    if edge.child.release.id != release_id:
        return edge.child.release.manifest_sha256
    return edge.parent.release.manifest_sha256 if edge.parent is not None else edge.parent_label


def lineage_graph(release_id: int, infos: tuple[CheckpointInfo, ...],
                  cross: tuple[CrossEdge, ...]) -> Graph:
    """Lanes of this release's checkpoints below one lane of the other releases' checkpoints
    it is linked to; x grows with the step."""
    lane_of = _lanes(infos)
    inbound = [e for e in cross if e.child.release.id == release_id]
    outbound = [e for e in cross if e.child.release.id != release_id]
    # one lane above this release's for each other release it is linked to
    others_order: dict[str, int] = {}
    for e in cross:
        others_order.setdefault(_other(e, release_id), len(others_order))
    external_lane = len(others_order)
    steps = sorted({i.checkpoint.step for i in infos} | {e.child.step for e in outbound}
                   | {e.parent.step for e in inbound if e.parent is not None})
    rank = {s: k for k, s in enumerate(steps)}
    dx = 60.0 if len(steps) <= 12 else max(8.0, 720.0 / max(1, len(steps) - 1))
    own = {i.checkpoint.name: i.checkpoint for i in infos}
    by_digest = {i.checkpoint.root_digest: i.checkpoint.name for i in infos}

    def at(step: int, lane: int) -> tuple[float, float]:
        return _MARGIN + rank.get(step, 0) * dx, _TOP + (lane + external_lane) * _LANE

    pos = {name: at(own[name].step, lane) for name, lane in lane_of.items()}
    forks = {p for i in infos for p in i.parents if sum(p in j.parents for j in infos) > 1}
    ordered = sorted(own.values(), key=lambda c: (c.step, c.name))
    ends = {ordered[0].name, ordered[-1].name} if ordered else set()
    nodes = [Node(x=pos[n][0], y=pos[n][1], label=n,
                  title=f"{n}: step {own[n].step}, {own[n].tokens_seen} tokens",
                  href=f"/checkpoint/{own[n].id}", external=False,
                  show_label=dx >= 40 or n in ends or n in forks) for n in lane_of]
    edges = [Edge(x1=pos[p][0], y1=pos[p][1], x2=pos[i.checkpoint.name][0],
                  y2=pos[i.checkpoint.name][1], external=False)
             for i in infos for p in i.parents if p in pos]
    others: dict[str, Node] = {}
    for e in inbound:
        lane = others_order[_other(e, release_id)] - external_lane
        x, y = at(e.parent.step if e.parent is not None else steps[0], lane)
        mine = pos[e.child.name]
        edges.append(Edge(x1=x, y1=y, x2=mine[0], y2=mine[1], external=True))
        others.setdefault(e.parent_digest, Node(
            x=x, y=y, label=e.parent_label, title=e.parent_label, external=True, show_label=True,
            href=f"/checkpoint/{e.parent.id}" if e.parent is not None else None))
    for e in outbound:
        x, y = at(e.child.step, others_order[_other(e, release_id)] - external_lane)
        mine = pos[by_digest[e.parent_digest]]
        edges.append(Edge(x1=mine[0], y1=mine[1], x2=x, y2=y, external=True))
        others.setdefault(str(e.child.id), Node(
            x=x, y=y, label=e.child.label, title=e.child.label, external=True, show_label=True,
            href=f"/checkpoint/{e.child.id}"))
    nodes += others.values()
    width = int(_MARGIN * 2 + max(1, len(steps) - 1) * dx + 200)
    height = int(_TOP + (max(lane_of.values(), default=0) + 1 + external_lane) * _LANE + 8)
    return Graph(width=width, height=height, nodes=tuple(nodes), edges=tuple(edges))


@dataclass(frozen=True, kw_only=True)
class Curve:
    points: str
    dots: tuple[tuple[float, float, str], ...]


@dataclass(frozen=True, kw_only=True)
class Chart:
    metric: str
    width: int
    height: int
    curves: tuple[Curve, ...]
    y_min: str
    y_max: str
    x_max: str


def eval_charts(infos: tuple[CheckpointInfo, ...], *, width: int = 360, height: int = 160
                ) -> tuple[Chart, ...]:
    """One chart per metric: the value against tokens seen, a line per lane."""
    lane_of = _lanes(infos)
    metrics = sorted({m for i in infos for m, v in i.metrics if math.isfinite(v)})
    x_hi = max((i.checkpoint.tokens_seen for i in infos), default=0) or 1
    charts = []
    pad = 28
    for metric in metrics:
        series: dict[int, list[tuple[int, float, str]]] = {}
        for i in infos:
            for m, v in i.metrics:
                if m == metric and math.isfinite(v):
                    series.setdefault(lane_of[i.checkpoint.name], []).append(
                        (i.checkpoint.tokens_seen, v, i.checkpoint.name))
        values = [v for pts in series.values() for _, v, _ in pts]
        lo, hi = min(values), max(values)
        span = (hi - lo) or 1.0
        curves = []
        for lane in sorted(series):
            pts = sorted(series[lane])
            coords = [(round(pad + (width - 2 * pad) * tok / x_hi, 1),
                       round(height - pad - (height - 2 * pad) * (v - lo) / span, 1))
                      for tok, v, _ in pts]
            curves.append(Curve(points=" ".join(f"{x},{y}" for x, y in coords),
                                dots=tuple((x, y, f"{name}: {v:g}")
                                           for (x, y), (_, v, name) in zip(coords, pts))))
        charts.append(Chart(metric=metric, width=width, height=height, curves=tuple(curves),
                            y_min=f"{lo:g}", y_max=f"{hi:g}", x_max=f"{x_hi:,} tokens"))
    return tuple(charts)
