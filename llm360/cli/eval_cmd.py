"""``llm360 eval``: benchmarks per checkpoint (lm-evaluation-harness), and results imported."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from llm360.cli._render import echo, echo_json
from llm360.errors import InputError
from llm360.registry import layout

__all__ = ["eval_group"]


class _DefaultRun(click.Group):
    """``llm360 eval RUN ...`` is ``llm360 eval run RUN ...``; ``import`` is a subcommand."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ctx.help_option_names:
            args = ["run", *args]
        return super().parse_args(ctx, args)


@click.group(cls=_DefaultRun)
def eval_group() -> None:
    """Benchmarks per checkpoint: run lm-evaluation-harness on RUN, or import results.

    \b
    llm360 eval RUN --tasks T1,T2 [--checkpoints all|ckpt_000,...] [--num-fewshot N]
                    [--limit N] [--batch-size N] [--device auto|cpu|cuda]
    llm360 eval import FILE... [--checkpoint NAME] [--run RUN]
    """


def _names(text: str, option: str) -> tuple[str, ...]:
    names = tuple(dict.fromkeys(n.strip() for n in text.split(",") if n.strip()))
    if not names:
        raise InputError(f"{option}: expected comma-separated names")
    return names


def _counter(enabled: bool):
    """A bar over checkpoints on a terminal (nothing when piped)."""
    if not (enabled and sys.stderr.isatty()):
        return None
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    return Progress(TextColumn("evaluating checkpoints"), BarColumn(), MofNCompleteColumn(),
                    transient=True, console=Console(file=sys.stderr))


def _limited(limit: float | None) -> str:
    return "" if limit is None else f"  [LIMITED: --limit {limit:g}]"


@eval_group.command("run")
@click.argument("run_dir", metavar="RUN", type=click.Path(path_type=Path))
@click.option("--tasks", required=True,
              help="Harness task names, comma-separated (llm360_next_segment: the benchmark "
                   "built from RUN's held-out set; arc_challenge, hellaswag, ... need their "
                   "datasets).")
@click.option("--checkpoints", default="all", show_default=True,
              help="all, or checkpoint names, comma-separated.")
@click.option("--num-fewshot", type=click.IntRange(min=0),
              help="Few-shot examples (default: each task's own).")
@click.option("--limit", type=click.FloatRange(min=0, min_open=True),
              help="Documents per task (a fraction below 1); a limited run is marked as such "
                   "wherever it is shown.")
@click.option("--batch-size", type=click.IntRange(min=1), default=8, show_default=True)
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto",
              show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def run_eval(run_dir: Path, tasks: str, checkpoints: str, num_fewshot: int | None,
             limit: float | None, batch_size: int, device: str, as_json: bool) -> int:
    """Evaluate the checkpoints of RUN with lm-evaluation-harness.

    Each checkpoint not yet evaluated with these settings runs through the harness's Python
    API (its Hugging Face model class on the checkpoint folder). The harness's results file is
    kept per checkpoint in RUN/evals/benchmarks/raw/ and its rows (checkpoint, step, tokens,
    task, metric, filter, n-shot, value, stderr, samples, harness version, task hash, limit,
    raw file sha256) in RUN/evals/benchmarks/rows.json; `release build` signs both. Needs the
    eval extra: pip install 'llm360[eval]'.
    """
    from llm360.eval.runner import EvalOptions, evaluate_run

    options = EvalOptions(
        tasks=_names(tasks, "--tasks"),
        checkpoints=None if checkpoints.strip() == "all" else _names(checkpoints,
                                                                      "--checkpoints"),
        num_fewshot=num_fewshot, limit=limit, batch_size=batch_size, device=device)
    bar = _counter(not as_json)
    if bar is None:
        result = evaluate_run(run_dir, options)
    else:
        with bar:
            task = bar.add_task("eval", total=None)
            result = evaluate_run(run_dir, options,
                                  progress=lambda n: bar.advance(task, n),
                                  set_total=lambda n: bar.update(task, total=n))
    if as_json:
        echo_json({"run": str(result.run), "harness_version": result.harness_version,
                   "checkpoints": [{"checkpoint": o.checkpoint, "step": o.step,
                                    "tokens_seen": o.tokens_seen, "status": o.status,
                                    "raw": o.raw, "rows": [r.to_data() for r in o.rows]}
                                   for o in result.outcomes]})
        return 0
    for o in result.outcomes:
        head = f"{o.checkpoint} (step {o.step}, {o.tokens_seen} tokens)"
        if o.status == "skipped":
            echo(f"{head}: already evaluated with these settings (skipped)")
            continue
        for r in (r for r in o.rows if r.primary):
            err = f" ± {r.stderr:.4f}" if r.stderr is not None else ""
            echo(f"{head}: {r.task} {r.n_shot}-shot {r.metric} {r.value:.4f}{err}"
                 f"{_limited(r.limit)}")
    echo(f"rows: {result.run}/{layout.BENCHMARK_ROWS} (lm-eval "
         f"{result.harness_version or 'unknown'})")
    return 0


@eval_group.command("import")
@click.argument("files", metavar="FILE...", nargs=-1, required=True,
                type=click.Path(path_type=Path))
@click.option("--checkpoint", help="The checkpoint the results are for, where the file does "
                                   "not say (its model revision).")
@click.option("--run", "run_dir", default=".", show_default=True,
              type=click.Path(path_type=Path), help="The run directory to attach them to.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def import_cmd(files: tuple[Path, ...], checkpoint: str | None, run_dir: Path,
               as_json: bool) -> int:
    """Attach results computed elsewhere to the checkpoints of RUN.

    Reads lm-evaluation-harness 0.4 results (lm_eval --output_path), the 0.3 format (Pythia,
    Amber's eval_*.json) and Open LLM Leaderboard v1 details (harness|arc:challenge|25). The
    checkpoint comes from the file (model_revision, revision= in model_args) or --checkpoint;
    step and tokens from the checkpoint's trainer state. A rerun of the same evaluation
    replaces the older rows, which are kept as superseded.
    """
    from llm360.eval.importer import import_results

    result = import_results(run_dir, list(files), checkpoint=checkpoint)
    if as_json:
        echo_json({"run": str(result.run), "rows": result.rows,
                   "superseded": result.superseded,
                   "files": [{"source": f.source, "checkpoint": f.checkpoint, "raw": f.raw,
                              "format": f.format, "rows": f.rows, "limit": f.limit}
                             for f in result.files]})
        return 0
    for f in result.files:
        echo(f"{f.source} -> {f.checkpoint}: {f.rows} rows ({f.format}){_limited(f.limit)}")
    echo(f"{result.rows} rows in {result.run}/{layout.BENCHMARK_ROWS}"
         + (f"; {result.superseded} superseded by newer runs" if result.superseded else ""))
    return 0
