"""One plot as PNG bytes: a line chart drawn with Pillow.

A spec is a ``_plots.PlotSpec``: a title, axis labels, and series of (x, y) points, each with a
colour (``C0``..``C9``, matplotlib's default cycle), solid or dashed, with or without markers.
The chart has nice ticks (1, 2, 2.5 or 5 times a power of ten; integers only where
``integer_x``), a light grid, tick labels that stay short (``1.5M`` tokens, ``3e-4`` for a
learning rate) and a legend, where there is more than one series, in a corner of the frame that
covers no data, else in a band above the frame.

Everything is drawn at ``SCALE`` times the size and reduced, so lines and text are smooth; the
font is the one Pillow embeds (``ImageFont.load_default``), so nothing is read from the system.
The PNG is written here (``encode_png``): 8-bit RGB, every row unfiltered, one zlib stream at
level 3, and a ``tEXt`` title; no time or software name, so the same spec gives the same bytes
with the same Pillow and zlib. (Pillow's own PNG writer tries five filters on every row, which
costs three times the compression itself on a chart that is mostly white.) Points that are not
finite are left out; a series of thousands of points is reduced to what each pixel column shows
(first, lowest, highest and last point), so a long run's log draws as fast as a short one's.

Pillow is imported by ``draw`` only (the ``[cards]`` extra), and must have FreeType (its wheels
do); a Pillow without it is refused with a clear error.
"""

from __future__ import annotations

import math
import struct
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

from llm360.errors import InputError

if TYPE_CHECKING:  # Pillow is imported by ``draw`` only; _plots imports this module
    from PIL import Image, ImageDraw, ImageFont

    from llm360.registry.cards._plots import PlotSpec, Series

    _Font = ImageFont.FreeTypeFont | ImageFont.ImageFont

#: the PNG's size in pixels, and how much larger it is drawn before it is reduced
SIZE = (800, 500)
SCALE = 2
#: matplotlib's default colour cycle (tab10), which the specs name as C0..C9
COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
          "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf")
_FONT = {"title": 17, "label": 14, "tick": 12, "legend": 12}
_INK, _GRID, _FRAME, _WHITE = (34, 34, 34), (225, 225, 225), (60, 60, 60), (255, 255, 255)
_LINE_WIDTH, _MARKER_RADIUS = 1.5, 3.5
_DASH = (7.0, 4.0)           # on, off (pixels along the line)
_PAD = 10                    # pixels between the frame and the figure's edge or a label
_SI = ((1e15, "P"), (1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k"))


# ---- ticks ----------------------------------------------------------------------------------

def nice_ticks(lo: float, hi: float, *, target: int = 6,
               integer: bool = False) -> tuple[float, float, list[float]]:
    """(axis low, axis high, ticks) for data from ``lo`` to ``hi``: the range padded by 4 % on
    each side, with ticks at multiples of a 1-2-2.5-5 step inside it."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        lo, hi = 0.0, 1.0
    if hi < lo:
        lo, hi = hi, lo
    if hi * 0.5 - lo * 0.5 <= max(abs(lo), abs(hi)) * 1e-12 or hi * 0.5 - lo * 0.5 < 1e-290:
        middle = lo * 0.5 + hi * 0.5  # flat (or flatter than a float can tick): 5 % around it
        pad = abs(middle) * 0.05 or 1.0
        lo, hi = middle - pad, middle + pad
    pad = hi * 0.04 - lo * 0.04  # (hi - lo) * 0.04, without overflowing at the float's ends
    lo, hi = lo - pad, hi + pad
    if not math.isfinite(hi - lo):
        return lo, hi, [lo, hi]  # wider than a float can hold: the two ends
    power = 10.0 ** math.floor(math.log10((hi - lo) / max(target - 1, 1)))
    steps = [m * power for m in (0.5, 1, 2, 2.5, 5, 10)]
    if integer:
        steps = sorted({max(1.0, float(math.ceil(st))) for st in steps})

    def count(st: float) -> int:
        return math.floor(hi / st + 1e-9) - math.ceil(lo / st - 1e-9) + 1

    step = min(steps, key=lambda st: (abs(count(st) - target), -st))
    first = math.ceil(lo / step - 1e-9)
    ticks: list[float] = []
    k = first
    while k * step <= hi + step * 1e-9 and len(ticks) <= 4 * target:
        ticks.append(0.0 if abs(k * step) < step * 1e-9 else k * step)
        k += 1
    return lo, hi, ticks


def _decimals(values: Sequence[float], step: float) -> int:
    """The fewest decimals that tell ``values`` (multiples of ``step``) apart exactly."""
    for d in range(0, 8):
        if all(abs(round(v, d) - v) <= abs(step) * 1e-6 for v in values):
            return d
    return 8


def tick_labels(ticks: Sequence[float]) -> list[str]:
    """Short labels for ``ticks``: SI suffixes from 10 000 up (``250k``, ``1.5M``), a shared
    power of ten below 0.001 and from 10^18 up (``2.5e-4``), plain decimals otherwise."""
    if not ticks:
        return []
    step = (ticks[1] - ticks[0]) if len(ticks) > 1 else (abs(ticks[0]) or 1.0)
    top = max(abs(t) for t in ticks)
    scale, suffix = 1.0, ""
    if 1e4 <= top < 1e18:
        scale, suffix = next((v, n) for v, n in _SI if top >= v * 0.999)
    elif top >= 1e18 or 0 < top < 1e-3:
        exponent = min(max(math.floor(math.log10(top)), -300), 300)  # 10**e stays a normal float
        scale, suffix = 10.0 ** exponent, f"e{exponent}"
    values = [t / scale for t in ticks]
    d = _decimals(values, step / scale)
    out: list[str] = []
    for v in values:
        text = f"{v:.{d}f}"
        if float(text) == 0:
            out.append("0")
        else:
            out.append(text + suffix)
    return out


# ---- drawing --------------------------------------------------------------------------------

@cache
def _font(size: int) -> _Font:
    from PIL import ImageFont, features

    if not features.check("freetype2"):
        raise InputError("this Pillow was built without FreeType, which the plots need for "
                         "their text", hint="pip install --force-reinstall Pillow (its wheels "
                                            "include FreeType), or pass --no-cards")
    return ImageFont.load_default(size=size * SCALE)


def load_fonts() -> None:
    """Import what drawing uses and load the fonts of every plot (``draw`` would on its first
    plot)."""
    from PIL import ImageDraw  # noqa: F401

    for size in _FONT.values():
        _font(size)


def _color(name: str) -> str:
    if len(name) == 2 and name[0] == "C" and name[1].isdigit():
        return COLORS[int(name[1])]
    return name


def _finite(xs: Sequence[float], ys: Sequence[float]) -> list[tuple[float, float]]:
    return [(float(x), float(y)) for x, y in zip(xs, ys)
            if math.isfinite(x) and math.isfinite(y)]


def _thin(points: list[tuple[float, float]], columns: int) -> list[tuple[float, float]]:
    """At most four points per pixel column (first, lowest, highest, last, in order): what a
    line through all of them draws, for a series much longer than the plot is wide."""
    if len(points) <= columns * 4:
        return points
    out: list[tuple[float, float]] = []
    bucket: list[tuple[float, float]] = []
    current: int | None = None
    for p in points:
        column = int(p[0])
        if column != current and bucket:
            out.extend(_keep(bucket))
            bucket = []
        current = column
        bucket.append(p)
    out.extend(_keep(bucket))
    return out


def _keep(bucket: list[tuple[float, float]]) -> list[tuple[float, float]]:
    if len(bucket) <= 4:
        return bucket
    low = min(range(len(bucket)), key=lambda i: bucket[i][1])
    high = max(range(len(bucket)), key=lambda i: bucket[i][1])
    return [bucket[i] for i in sorted({0, low, high, len(bucket) - 1})]


def _dashes(points: list[tuple[float, float]], on: float, off: float
            ) -> list[list[tuple[float, float]]]:
    """The pieces of the polyline ``points`` that a dash pattern draws."""
    pieces: list[list[tuple[float, float]]] = []
    current, left, drawing = [points[0]], on, True
    for (x0, y0), (x1, y1) in zip(points, points[1:]):
        length = math.hypot(x1 - x0, y1 - y0)
        done = 0.0
        while length - done > left:
            done += left
            t = done / length
            point = (x0 + (x1 - x0) * t, y0 + (y1 - y0) * t)
            if drawing:
                current.append(point)
                pieces.append(current)
            else:
                current = [point]
            drawing = not drawing
            left = on if drawing else off
        left -= length - done
        if drawing:
            current.append((x1, y1))
        else:
            current = [(x1, y1)]
    if drawing and len(current) > 1:
        pieces.append(current)
    return pieces


def _fit(text: str, font: _Font, width: float) -> str:
    """``text``, cut short with "..." where it is wider than ``width``."""
    if font.getlength(text) <= width:
        return text
    lo, hi = 0, len(text)  # the longest prefix that fits with its "..."
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if font.getlength(text[:mid].rstrip() + "...") <= width:
            lo = mid
        else:
            hi = mid - 1
    return text[:lo].rstrip() + "..."


def _text_size(text: str, font: _Font) -> tuple[int, int]:
    left, top, right, bottom = font.getbbox(text)  # whole pixels (typed float)
    return int(right - left), int(bottom - top)


@dataclass(frozen=True)
class Layout:
    """Where everything of a chart goes, in pixels of the drawing (``SCALE`` times the PNG)."""

    frame: tuple[float, float, float, float]     # left, top, right, bottom
    x_axis: tuple[float, float, tuple[float, ...], list[str]]  # lo, hi, ticks, labels
    y_axis: tuple[float, float, tuple[float, ...], list[str]]
    lines: tuple[tuple[tuple[float, float], ...], ...]  # each series' points
    legend: _Legend | None
    legend_at: tuple[float, float] | None       # the legend's top left

    def px(self, x: float) -> float:
        left, _, right, _ = self.frame
        return left + _share(x, self.x_axis[0], self.x_axis[1]) * (right - left)

    def py(self, y: float) -> float:
        _, top, _, bottom = self.frame
        return bottom - _share(y, self.y_axis[0], self.y_axis[1]) * (bottom - top)


def _share(v: float, lo: float, hi: float) -> float:  # halves: no overflow at the ends
    return (v * 0.5 - lo * 0.5) / (hi * 0.5 - lo * 0.5)


def layout(spec: PlotSpec) -> Layout:
    """The chart's frame, axes, data in pixels and legend: the legend (more than one series)
    in a corner of the frame that covers no data, else in a band of its own between the
    title and the frame."""
    s = SCALE
    width, height = SIZE[0] * s, SIZE[1] * s
    f_title, f_label = _font(_FONT["title"]), _font(_FONT["label"])
    f_tick, f_legend = _font(_FONT["tick"]), _font(_FONT["legend"])
    series = [_finite(item.x, item.y) for item in spec.series]
    xs = [p[0] for pts in series for p in pts] or [0.0, 1.0]
    ys = [p[1] for pts in series for p in pts] or [0.0, 1.0]
    x_lo, x_hi, x_ticks = nice_ticks(min(xs), max(xs), integer=spec.integer_x)
    y_lo, y_hi, y_ticks = nice_ticks(min(ys), max(ys))
    y_text = tick_labels(y_ticks)

    # the frame: room on the left for the widest y tick label and the rotated y label
    tick_h = _text_size("0123456789", f_tick)[1]
    label_h = _text_size("Ag", f_label)[1]
    title_h = _text_size("Ag", f_title)[1]
    y_tick_w = max((_text_size(t, f_tick)[0] for t in y_text), default=0)
    left = _PAD * s + label_h + _PAD * s + y_tick_w + 6 * s
    right = width - 24 * s
    top: float = _PAD * s + title_h + _PAD * s
    bottom = height - (_PAD * s + label_h + _PAD * s + tick_h + 6 * s)

    def lines_at(top: float) -> tuple[tuple[tuple[float, float], ...], ...]:
        return tuple(tuple(_thin([(left + _share(x, x_lo, x_hi) * (right - left),
                                   bottom - _share(y, y_lo, y_hi) * (bottom - top))
                                  for x, y in pts], right - left)) for pts in series)

    legend = _legend_box(spec.series, right - left, f_legend) \
        if len(series) > 1 else None
    lines = lines_at(top)
    spot: tuple[float, float] | None = None
    if legend is not None:
        spot = _free_corner(legend, lines, (left, top, right, bottom))
        if spot is None:
            spot = (right - legend.width, top)
            top += legend.height + _PAD * s
            lines = lines_at(top)
    return Layout(frame=(left, top, right, bottom),
                  x_axis=(x_lo, x_hi, tuple(x_ticks), tick_labels(x_ticks)),
                  y_axis=(y_lo, y_hi, tuple(y_ticks), y_text), lines=lines, legend=legend,
                  legend_at=spot)


def _png(spec: PlotSpec) -> bytes:
    from PIL import Image, ImageDraw

    s = SCALE
    width, height = SIZE[0] * s, SIZE[1] * s
    image = Image.new("RGB", (width, height), _WHITE)
    pen = ImageDraw.Draw(image)
    f_title, f_label = _font(_FONT["title"]), _font(_FONT["label"])
    f_tick, f_legend = _font(_FONT["tick"]), _font(_FONT["legend"])
    chart = layout(spec)
    left, top, right, bottom = chart.frame
    px, py = chart.px, chart.py
    x_ticks, x_text = chart.x_axis[2], chart.x_axis[3]
    y_ticks, y_text = chart.y_axis[2], chart.y_axis[3]

    for x, text in zip(x_ticks, x_text):
        pen.line([(px(x), top), (px(x), bottom)], fill=_GRID, width=s)
        pen.line([(px(x), bottom), (px(x), bottom + 4 * s)], fill=_FRAME, width=s)
        pen.text((px(x), bottom + 6 * s), text, font=f_tick, fill=_INK, anchor="mt")
    for y, text in zip(y_ticks, y_text):
        pen.line([(left, py(y)), (right, py(y))], fill=_GRID, width=s)
        pen.line([(left - 4 * s, py(y)), (left, py(y))], fill=_FRAME, width=s)
        pen.text((left - 6 * s, py(y)), text, font=f_tick, fill=_INK, anchor="rm")

    # the data: inside the frame by construction (the axes span every point, with padding
    # wider than a marker)
    line_w = round(_LINE_WIDTH * s)
    radius = _MARKER_RADIUS * s
    for item, points in zip(spec.series, chart.lines):
        color = _color(item.color)
        if len(points) > 1:
            pieces = _dashes(list(points), _DASH[0] * s, _DASH[1] * s) if item.dashed \
                else [points]
            for piece in pieces:
                pen.line(piece, fill=color, width=line_w, joint="curve")
        if spec.markers or len(points) == 1:
            for x, y in points:
                pen.ellipse((x - radius, y - radius, x + radius, y + radius), fill=color)
    pen.rectangle((left, top, right, bottom), outline=_FRAME, width=s)

    # the texts around the frame
    middle = (left + right) / 2  # the title is centred over the frame, inside the figure
    title = _fit(spec.title, f_title, 2 * (min(middle, width - middle) - _PAD * s))
    pen.text((middle, _PAD * s), title, font=f_title, fill=_INK, anchor="mt")
    pen.text(((left + right) / 2, height - _PAD * s), _fit(spec.xlabel, f_label, right - left),
             font=f_label, fill=_INK, anchor="md")
    ylabel = _fit(spec.ylabel, f_label, bottom - top)
    label_w, label_box = _text_size(ylabel, f_label)[0], f_label.getbbox(ylabel)
    strip = Image.new("L", (max(label_w, 1) + 2 * s, int(label_box[3]) + 2 * s), 0)
    ImageDraw.Draw(strip).text((s - label_box[0], s), ylabel, font=f_label, fill=255)
    strip = strip.rotate(90, expand=True)
    image.paste(_INK, (_PAD * s - s, int((top + bottom - strip.height) / 2)), strip)

    if chart.legend is not None and chart.legend_at is not None:
        _draw_legend(pen, chart.legend, chart.legend_at, f_legend)

    return encode_png(image.reduce(s), {"Title": spec.title, **_DRAWN_HERE})


#: the tEXt entry that marks a plot as drawn by llm360 (``llm360 card --out`` replaces only those)
_DRAWN_HERE = {"Software": "llm360"}


def drawn_here(head: bytes) -> bool:
    """Whether ``head`` (the first bytes of a file) is a PNG that ``_png`` drew: its tEXt
    chunks, before the image data, include ``_DRAWN_HERE``."""
    mark = b"".join(k.encode() + b"\0" + v.encode() for k, v in _DRAWN_HERE.items())
    if not head.startswith(b"\x89PNG\r\n\x1a\n"):
        return False
    at = 8
    while at + 8 <= len(head):
        length, kind = struct.unpack(">I4s", head[at:at + 8])
        if kind == b"IDAT":
            return False
        if kind == b"tEXt" and head[at + 8:at + 8 + length] == mark:
            return True
        at += 12 + length
    return False


def encode_png(image: Image.Image, text: Mapping[str, str] | None = None) -> bytes:
    """``image`` (Pillow, mode RGB) as PNG bytes: unfiltered rows in one zlib stream (level 3),
    with a ``tEXt`` chunk per entry of ``text`` (Latin-1; other characters, and NUL, become
    ``?``)."""
    if image.mode != "RGB":
        raise ValueError(f"encode_png: mode {image.mode!r}, not RGB")
    width, height = image.size
    raw, stride = image.tobytes(), width * 3
    rows = b"".join(b"\0" + raw[i:i + stride] for i in range(0, len(raw), stride))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(data, zlib.crc32(kind))))

    def latin1(value: str) -> bytes:  # tEXt holds Latin-1 and no NUL (it ends the keyword)
        return value.replace("\0", "?").encode("latin-1", "replace")

    texts = b"".join(chunk(b"tEXt", latin1(key)[:79] + b"\0" + latin1(value))
                     for key, value in (text or {}).items())
    return (b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + texts + chunk(b"IDAT", zlib.compress(rows, 3)) + chunk(b"IEND", b""))


@dataclass(frozen=True)
class _Legend:
    items: tuple[Series, ...]
    labels: tuple[str, ...]
    width: float
    height: float
    row: float


def _legend_box(items: Sequence[Series], frame_width: float, font: _Font) -> _Legend:
    """The legend's labels (cut to fit) and size."""
    s = SCALE
    row = _text_size("Ag", font)[1] + 6 * s
    room = frame_width * 0.9 - 26 * s - 24 * s  # for the longest label
    labels = tuple(_fit(item.label, font, room) for item in items)
    width = 26 * s + 8 * s + max(font.getlength(label) for label in labels) + 16 * s
    return _Legend(items=tuple(items), labels=labels, width=width,
                   height=row * len(items) + 8 * s, row=row)


def _free_corner(legend: _Legend, lines: Sequence[Sequence[tuple[float, float]]],
                 frame: tuple[float, float, float, float]) -> tuple[float, float] | None:
    """The top-left of the first corner of the frame (top right, top left, bottom left,
    bottom right) where the legend covers no point, marker or line of the data; None if
    every corner does."""
    s = SCALE
    left, top, right, bottom = frame
    inset = 8 * s
    corners = ((right - inset - legend.width, top + inset), (left + inset, top + inset),
               (left + inset, bottom - inset - legend.height),
               (right - inset - legend.width, bottom - inset - legend.height))
    margin = _MARKER_RADIUS * s + _LINE_WIDTH * s
    for x0, y0 in corners:
        box = (x0 - margin, y0 - margin, x0 + legend.width + margin,
               y0 + legend.height + margin)
        if not any(covers(box, points) for points in lines):
            return x0, y0
    return None


def covers(box: tuple[float, float, float, float],
           points: Sequence[tuple[float, float]]) -> bool:
    """Whether the rectangle ``box`` (x0, y0, x1, y1) holds a point of the polyline
    ``points`` or is crossed by one of its segments."""
    x0, y0, x1, y1 = box

    def inside(p: tuple[float, float]) -> bool:
        return x0 <= p[0] <= x1 and y0 <= p[1] <= y1

    if any(inside(p) for p in points):
        return True
    for (ax, ay), (bx, by) in zip(points, points[1:]):  # Liang-Barsky clipping
        lo, hi = 0.0, 1.0
        dx, dy = bx - ax, by - ay
        for p, q in ((-dx, ax - x0), (dx, x1 - ax), (-dy, ay - y0), (dy, y1 - ay)):
            if p == 0:
                if q < 0:
                    break
                continue
            t = q / p
            if p < 0:
                lo = max(lo, t)
            else:
                hi = min(hi, t)
            if lo > hi:
                break
        else:
            return True
    return False


def _draw_legend(pen: ImageDraw.ImageDraw, legend: _Legend, spot: tuple[float, float],
                 font: _Font) -> None:
    """A box naming each series, its top left at ``spot``."""
    s = SCALE
    x0, y0 = spot
    sample = 26 * s
    pen.rounded_rectangle((x0, y0, x0 + legend.width, y0 + legend.height), radius=3 * s,
                          fill=_WHITE, outline=(200, 200, 200), width=s)
    for i, (item, label) in enumerate(zip(legend.items, legend.labels)):
        cy = y0 + 4 * s + legend.row * i + legend.row / 2
        color = _color(item.color)
        start, end = x0 + 8 * s, x0 + 8 * s + sample
        pieces = _dashes([(start, cy), (end, cy)], _DASH[0] * s, _DASH[1] * s) \
            if item.dashed else [[(start, cy), (end, cy)]]
        for piece in pieces:
            pen.line(piece, fill=color, width=round(_LINE_WIDTH * s))
        pen.text((end + 8 * s, cy), label, font=font, fill=_INK, anchor="lm")


def draw(specs: Sequence[PlotSpec]) -> dict[str, bytes]:
    """Relative path -> PNG bytes of each spec."""
    return {spec.path: _png(spec) for spec in specs}
