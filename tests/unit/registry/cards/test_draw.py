"""The plots' drawing: nice ticks and short tick labels, long series thinned to what each pixel
column shows, dashes, the legend only where there is more than one line, and the same bytes for
the same spec."""

from __future__ import annotations

import io
import math
from dataclasses import asdict

import pytest
from PIL import Image

from llm360.registry.cards import _draw
from llm360.registry.cards._plots import PlotSpec, Series, render_plots

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
BLUE, ORANGE = (0x1f, 0x77, 0xb4), (0xff, 0x7f, 0x0e)


def _spec(*series: Series, markers: bool = False, integer_x: bool = False) -> PlotSpec:
    return PlotSpec(key="k", path="plots/k.png", title="Training loss", xlabel="tokens seen",
                    ylabel="loss", series=series, markers=markers, section="training",
                    integer_x=integer_x)


def _curve(n: int = 50, *, color: str = "C0", dashed: bool = False, label: str = "main",
           start: int = 0) -> Series:
    xs = tuple(float(i * 128) for i in range(start, n))
    return Series(label=label, x=xs, y=tuple(10.0 / (1 + x / 1000) for x in xs), color=color,
                  dashed=dashed)


def _image(spec: PlotSpec) -> Image.Image:
    data = render_plots([spec])[spec.path]
    assert data.startswith(PNG_MAGIC)
    return Image.open(io.BytesIO(data)).convert("RGB")


def _count(image: Image.Image, rgb: tuple[int, int, int], tolerance: int = 40) -> int:
    raw = image.tobytes()
    return sum(1 for i in range(0, len(raw), 3)
               if abs(raw[i] - rgb[0]) + abs(raw[i + 1] - rgb[1]) + abs(raw[i + 2] - rgb[2])
               <= tolerance)


@pytest.mark.parametrize("lo,hi,integer,labels", [
    (256, 41000, False, ["0", "10k", "20k", "30k", "40k"]),
    (0, 5e6, False, ["0", "1M", "2M", "3M", "4M", "5M"]),
    (0, 3e-4, False, ["0", "0.5e-4", "1.0e-4", "1.5e-4", "2.0e-4", "2.5e-4", "3.0e-4"]),
    (0.5, 0.9, False, ["0.5", "0.6", "0.7", "0.8", "0.9"]),
    (1, 5, True, ["1", "2", "3", "4", "5"]),
    (1, 3, True, ["1", "2", "3"]),
    (2.0, 2.0, False, None),          # a flat line still gets an axis around it
    (1.0, 1.0, True, ["1"]),
])
def test_ticks_are_nice_and_labels_short(lo, hi, integer, labels) -> None:
    low, high, ticks = _draw.nice_ticks(lo, hi, integer=integer)
    assert low < min(lo, hi) <= max(lo, hi) < high
    assert ticks and all(low <= t <= high for t in ticks)
    steps = {round(b - a, 12) for a, b in zip(ticks, ticks[1:])}
    assert len(steps) <= 1  # evenly spaced
    if integer:
        assert all(t == int(t) for t in ticks)
    text = _draw.tick_labels(ticks)
    assert len(set(text)) == len(text) and all(len(t) <= 8 for t in text)
    if labels is not None:
        assert text == labels


@pytest.mark.parametrize("lo,hi", [(-1e308, 1e308), (1e20, 1e20 * (1 + 1e-15)), (0.0, 5e-324),
                                   (1e300, 3e300)])
def test_extreme_ranges_still_get_an_axis(lo, hi) -> None:
    low, high, ticks = _draw.nice_ticks(lo, hi)
    assert 2 <= len(ticks) <= 24 and low <= min(ticks) and max(ticks) <= high
    assert all(len(t) <= 16 for t in _draw.tick_labels(ticks))
    spec = _spec(Series(label="x", x=(0.0, 1.0), y=(lo, hi)))
    assert render_plots([spec])[spec.path].startswith(PNG_MAGIC)


def test_the_same_spec_gives_the_same_bytes() -> None:
    spec = _spec(_curve(), _curve(color="C1", dashed=True, label="fork1", start=10), markers=True)
    assert render_plots([spec]) == render_plots([spec])
    assert render_plots([spec]) != render_plots([_spec(_curve())])


def test_a_line_is_drawn_in_its_colour_and_a_legend_only_for_several(monkeypatch) -> None:
    legends = []
    real = _draw._draw_legend
    monkeypatch.setattr(_draw, "_draw_legend", lambda pen, legend, *rest: (
        legends.append([item.label for item in legend.items]), real(pen, legend, *rest)))
    one = _image(_spec(_curve()))
    assert _count(one, BLUE) > 300 and _count(one, ORANGE) == 0
    assert one.size == _draw.SIZE and legends == []
    two = _image(_spec(_curve(), _curve(color="C1", label="fork1", start=10)))
    assert _count(two, ORANGE) > 300 and legends == [["main", "fork1"]]


def test_a_dashed_line_has_gaps() -> None:
    solid = _count(_image(_spec(_curve(color="C1"))), ORANGE)
    dashed = _count(_image(_spec(_curve(color="C1", dashed=True))), ORANGE)
    assert 0.45 * solid < dashed < 0.8 * solid


def test_points_that_are_not_finite_are_left_out() -> None:
    base = _curve()
    holes = Series(label="main", x=base.x + (math.inf, 1e3), y=base.y + (1.0, math.nan))
    assert render_plots([_spec(holes)]) == render_plots([_spec(base)])


def test_a_long_series_is_thinned_to_its_envelope() -> None:
    points = [(i / 100, math.sin(i / 50.0) + (5.0 if i == 50_017 else 0.0))
              for i in range(100_000)]
    thin = _draw._thin(points, columns=1000)
    assert len(thin) <= 4 * 1000 + 4
    assert max(p[1] for p in thin) == max(p[1] for p in points)  # the spike survives
    assert min(p[1] for p in thin) == min(p[1] for p in points)
    assert thin[0] == points[0] and thin[-1] == points[-1]
    assert [p[0] for p in thin] == sorted(p[0] for p in thin)


def test_dashes_cover_the_line_in_turns() -> None:
    pieces = _draw._dashes([(0.0, 0.0), (100.0, 0.0)], 7.0, 4.0)
    drawn = sum(p[-1][0] - p[0][0] for p in pieces)
    assert len(pieces) == 10 and drawn == pytest.approx(7 * 9 + 1)


def test_a_colour_that_is_not_one_raises_its_own_error() -> None:
    with pytest.raises(ValueError, match="notacolour"):
        _draw.draw([_spec(_curve(color="notacolour"))])


def test_a_pillow_without_freetype_is_a_clear_input_error(monkeypatch) -> None:
    from PIL import features

    from llm360.errors import InputError

    monkeypatch.setattr(features, "check", lambda name: name != "freetype2")
    _draw._font.cache_clear()
    try:
        with pytest.raises(InputError, match="without FreeType"):
            _draw.draw([_spec(_curve())])
    finally:
        _draw._font.cache_clear()


def test_texts_too_wide_are_cut_short_to_fit() -> None:
    font = _draw._font(12)
    assert _draw._fit("short", font, 10_000) == "short"
    cut = _draw._fit("a very long fork label " * 20, font, 300)
    assert cut.endswith("...") and font.getlength(cut) <= 300 < font.getlength("a very " * 60)
    long = "x" * 400
    spec = PlotSpec(key="k", path="plots/k.png", title=long, xlabel=long, ylabel=long,
                    series=(_curve(label=long), _curve(color="C1", label=long, start=10)),
                    markers=False, section="training")
    assert render_plots([spec])[spec.path].startswith(PNG_MAGIC)


def test_the_png_writer_gives_what_a_decoder_reads_back() -> None:
    image = Image.new("RGB", (37, 11), (255, 255, 255))
    for x in range(37):  # every byte value somewhere, rows that differ
        image.putpixel((x, x % 11), (x * 7 % 256, 255 - x, x * 3))
    data = _draw.encode_png(image, {"Title": "Loss – Amber"})
    back = Image.open(io.BytesIO(data))
    back.load()
    assert back.mode == "RGB" and back.size == (37, 11)
    assert back.tobytes() == image.tobytes()
    assert back.text == {"Title": "Loss ? Amber"}  # tEXt is Latin-1
    titled = Image.open(io.BytesIO(_draw.encode_png(image, {"Title": "a\0b"})))
    assert titled.text == {"Title": "a?b"}  # a NUL would end the text early
    Image.open(io.BytesIO(data)).verify()  # every chunk's CRC
    with pytest.raises(ValueError, match="RGBA"):
        _draw.encode_png(Image.new("RGBA", (2, 2)))


def test_a_plot_carries_its_title_and_is_a_valid_png() -> None:
    data = render_plots([_spec(_curve())])["plots/k.png"]
    Image.open(io.BytesIO(data)).verify()
    image = Image.open(io.BytesIO(data))
    assert image.size == _draw.SIZE
    assert image.text == {"Title": "Training loss", "Software": "llm360"}


def test_a_spec_as_data_is_what_asdict_gives_without_copies() -> None:
    spec = _spec(_curve(), _curve(label="fork1", color="C1", start=20, dashed=True))
    data = spec.as_data()
    assert data == asdict(spec)
    assert data["series"][0]["x"] is spec.series[0].x  # the points are shared, not copied


def test_only_a_plot_drawn_here_is_recognised_as_ours():
    """``drawn_here`` finds the mark among the tEXt chunks before the image data; a PNG
    without it, with it after the data, or cut short is not ours."""
    from PIL import Image

    image = Image.new("RGB", (4, 3), (255, 255, 255))
    ours = _draw.encode_png(image, {"Title": "t", **_draw._DRAWN_HERE})
    assert _draw.drawn_here(ours)
    assert not _draw.drawn_here(_draw.encode_png(image, {"Title": "t"}))
    assert not _draw.drawn_here(_draw.encode_png(image, {"Software": "llm360 2"}))
    assert not _draw.drawn_here(ours[:20])
    assert not _draw.drawn_here(b"GIF89a" + ours[8:])
