"""The plot worker process draws the same bytes as drawing in this process, falls back to it
where no process starts, reports a failure, and is stopped by ``close``."""

from __future__ import annotations

import subprocess
import sys

import pytest

from llm360.registry.cards._plots import PlotSpec, PlotWorker, Series, render_plots

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _spec(key: str, *, color: str = "C0", n: int = 50) -> PlotSpec:
    xs = tuple(float(i * 128) for i in range(n))
    return PlotSpec(key=key, path=f"plots/{key}.png", title=f"Title {key}", xlabel="tokens seen",
                    ylabel="loss", markers=key.endswith("1"), section="training",
                    series=(Series(label="main", x=xs, y=tuple(10.0 / (1 + x) for x in xs),
                                   color=color),
                            Series(label="fork1", x=xs[5:], y=tuple(0.1 + x for x in xs[5:]),
                                   color="C1", dashed=True)))


def _drawn(specs: list[PlotSpec]) -> dict[str, bytes]:
    worker = PlotWorker()
    try:
        worker.draw(specs)
        return worker.result()
    finally:
        worker.close()


def test_the_worker_draws_what_this_process_draws() -> None:
    specs = [_spec("a0"), _spec("b1")]
    drawn = _drawn(specs)
    assert drawn == render_plots(specs)
    assert sorted(drawn) == ["plots/a0.png", "plots/b1.png"]
    assert all(data.startswith(PNG_MAGIC) for data in drawn.values())


def test_without_a_worker_process_the_plots_are_drawn_here(monkeypatch) -> None:
    def no_process(*args, **kwargs):
        raise OSError("no interpreter")

    monkeypatch.setattr(subprocess, "Popen", no_process)
    specs = [_spec("a0")]
    assert _drawn(specs) == render_plots(specs)


def test_a_failed_worker_is_replaced_by_drawing_here(monkeypatch) -> None:
    real = subprocess.Popen

    def dying(*args, **kwargs):  # a worker that exits at once, with an error
        return real([sys.executable, "-c", "import sys; sys.exit(1)"], **kwargs)

    monkeypatch.setattr(subprocess, "Popen", dying)
    specs = [_spec("a0")]
    assert _drawn(specs) == render_plots(specs)


def test_a_plot_that_cannot_be_drawn_raises_its_own_error() -> None:
    with pytest.raises(ValueError, match="notacolour"):
        _drawn([_spec("a0", color="notacolour")])


def test_close_stops_a_running_worker(monkeypatch) -> None:
    started = []
    real = subprocess.Popen

    def popen(*args, **kwargs):  # a worker that would never finish on its own
        proc = real(["sleep", "60"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE)
        started.append(proc)
        return proc

    monkeypatch.setattr(subprocess, "Popen", popen)
    worker = PlotWorker()
    worker.draw([_spec("a0")])
    worker.close()
    assert started and started[0].poll() is not None


def test_a_worker_given_nothing_exits_when_closed() -> None:
    worker = PlotWorker()
    proc = worker._proc
    worker.close()
    assert proc is not None and proc.poll() is not None


@pytest.mark.parametrize("answer", ["not json", '{"plots/other.png": "AAAA"}',
                                    '{"plots/a0.png": "***"}', "[1, 2]"])
def test_an_answer_that_is_not_the_plots_is_replaced_by_drawing_here(monkeypatch,
                                                                      answer) -> None:
    real = subprocess.Popen

    def wrong(*args, **kwargs):  # a worker that exits 0 with something else on stdout
        return real([sys.executable, "-c", f"import sys; sys.stdout.write({answer!r})"],
                    **kwargs)

    monkeypatch.setattr(subprocess, "Popen", wrong)
    specs = [_spec("a0")]
    assert _drawn(specs) == render_plots(specs)
