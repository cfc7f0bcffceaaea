"""The legend of a plot never covers its data: a corner of the frame that is free of every
point, marker and line, else a band of its own above the frame."""

from __future__ import annotations

import pytest

pytest.importorskip("PIL")

from llm360.registry.cards import _draw  # noqa: E402
from llm360.registry.cards._plots import PlotSpec, Series  # noqa: E402


def _spec(*series, markers=True) -> PlotSpec:
    return PlotSpec(key="k", path="plots/k.png", title="t", xlabel="x", ylabel="y",
                    markers=markers, section="evaluation",
                    series=tuple(Series(label=label, x=tuple(p[0] for p in pts),
                                        y=tuple(p[1] for p in pts), color=f"C{i}")
                                 for i, (label, pts) in enumerate(series)))


def _legend_rect(chart: _draw.Layout) -> tuple[float, float, float, float]:
    x0, y0 = chart.legend_at
    return x0, y0, x0 + chart.legend.width, y0 + chart.legend.height


def _covered(chart: _draw.Layout) -> bool:
    return any(_draw.covers(_legend_rect(chart), line) for line in chart.lines)


def test_data_in_every_corner_puts_the_legend_above_the_frame():
    # a main line and a fork crossing: a data point sits in each corner of the frame
    spec = _spec(("main line", [(0.0, 0.0), (1.0, 0.5), (2.0, 1.0)]),
                 ("fork1 (from ckpt_001)", [(0.0, 1.0), (1.0, 0.5), (2.0, 0.0)]))
    chart = _draw.layout(spec)
    assert not _covered(chart)
    assert chart.legend_at[1] + chart.legend.height < chart.frame[1]  # above the frame
    assert _draw.draw([spec])["plots/k.png"].startswith(b"\x89PNG")


def test_a_free_corner_is_used_and_the_frame_keeps_its_size():
    spec = _spec(("main line", [(0.0, 1.0), (1.0, 0.5), (2.0, 0.0)]),
                 ("fork1", [(1.0, 0.5), (2.0, 0.1)]))
    chart = _draw.layout(spec)
    single = _draw.layout(_spec(("main line", [(0.0, 1.0), (1.0, 0.5), (2.0, 0.0)])))
    assert not _covered(chart) and chart.frame == single.frame


def test_a_line_crossing_a_corner_between_its_points_counts():
    box = (10.0, 10.0, 20.0, 20.0)
    assert _draw.covers(box, [(0.0, 0.0), (30.0, 30.0)])      # through, no point inside
    assert not _draw.covers(box, [(0.0, 25.0), (30.0, 25.0)])  # passes below
    assert _draw.covers(box, [(15.0, 15.0)])


def test_no_legend_of_the_fork_run_covers_its_data(fork_run):
    from llm360.registry.build.release import build_manifest
    from llm360.registry.cards._assemble import plot_specs
    from llm360.registry.cards._inputs import read_inputs

    manifest, _ = build_manifest(fork_run, created="2026-11-27T00:00:00Z", use_cache=False)
    specs = plot_specs(manifest, read_inputs(manifest, fork_run))
    multi = [s for s in specs if len(s.series) > 1]
    assert multi
    for spec in multi:
        assert not _covered(_draw.layout(spec)), spec.key
