"""One plot as PNG bytes, and the worker process that draws a build's plots.

matplotlib is driven through ``Figure`` + the Agg canvas, with the default style, a fixed size,
DPI and margins, and no Software/date metadata, so the same spec gives the same bytes. A spec
is a plain mapping (``dataclasses.asdict`` of ``_plots.PlotSpec``).

This module imports nothing from llm360, so that ``python -I _draw.py`` loads only matplotlib:
``release build`` starts it as a worker process when it begins, so matplotlib loads and the
plots are drawn on another core while the build goes on (validating, hashing, rendering the
cards). The worker reads a JSON list of specs on stdin and writes one JSON object
``{path: base64 PNG}`` on stdout; no pickle.
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import sys
from collections.abc import Mapping, Sequence

SIZE = (6.4, 4.0)
DPI = 100
#: the axes' place in the figure: room for tick labels up to 8 characters and the axis labels
MARGINS = dict(left=0.14, right=0.97, bottom=0.12, top=0.92)


def _style() -> contextlib.ExitStack:
    """matplotlib's default style with fixed settings, entered once for all the plots."""
    import matplotlib
    from matplotlib import style

    stack = contextlib.ExitStack()
    stack.enter_context(style.context("default"))
    stack.enter_context(matplotlib.rc_context({"svg.hashsalt": "llm360", "path.simplify": True}))
    return stack


def _png(spec: Mapping) -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=SIZE, dpi=DPI)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    for s in spec["series"]:
        ax.plot(s["x"], s["y"], marker="o" if spec["markers"] else None, markersize=4,
                linewidth=1.5, label=s["label"], color=s["color"],
                linestyle="--" if s["dashed"] else "-")
    ax.set_title(spec["title"], fontsize="medium")
    ax.set_xlabel(spec["xlabel"])
    ax.set_ylabel(spec["ylabel"])
    if spec["integer_x"]:
        from matplotlib.ticker import MaxNLocator

        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(True, alpha=0.3)
    if len(spec["series"]) > 1:
        ax.legend(fontsize="small")
    fig.subplots_adjust(**MARGINS)  # fixed: tight_layout would draw the figure once more
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI,
                metadata={"Software": None, "Creation Time": None, "Author": None,
                          "Title": spec["title"]})
    return buf.getvalue()


def draw(specs: Sequence[Mapping]) -> dict[str, bytes]:
    """Relative path -> PNG bytes of each spec, in this process."""
    if not specs:
        return {}
    with _style():
        return {spec["path"]: _png(spec) for spec in specs}


def main() -> int:
    """The worker: load matplotlib at once (the build starts it before it knows the plots),
    then draw what arrives on stdin; nothing (stdin closed empty) means nothing to draw."""
    from matplotlib.backends import backend_agg  # noqa: F401
    from matplotlib import figure  # noqa: F401

    raw = sys.stdin.buffer.read()
    if not raw:
        return 0
    drawn = draw(json.loads(raw))
    sys.stdout.write(json.dumps({path: base64.b64encode(data).decode("ascii")
                                 for path, data in drawn.items()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
