"""``llm360 train``: train (or resume) a run directory, one checkpoint per data chunk."""

from __future__ import annotations

import json
import os
import socket
import sys
from pathlib import Path

import click

from llm360.cli._render import echo, echo_json
from llm360.errors import InputError

__all__ = ["train"]


def _deepspeed_env() -> bool:
    """Environment DeepSpeed needs when not started by a launcher; True: skip the shm op."""
    if "RANK" not in os.environ:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        for key, value in (("RANK", "0"), ("LOCAL_RANK", "0"), ("WORLD_SIZE", "1"),
                           ("MASTER_ADDR", "127.0.0.1"), ("MASTER_PORT", str(port))):
            os.environ.setdefault(key, value)
    return os.environ.get("LLM360_DS_SKIP_SHM_OP", "") not in ("", "0")


def _progress(enabled: bool):
    if not (enabled and sys.stderr.isatty()):
        return None, None
    from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                               TimeRemainingColumn)

    bar = Progress(TextColumn("train"), BarColumn(), MofNCompleteColumn(),
                   TextColumn("loss {task.fields[loss]:.3f}"), TimeRemainingColumn(),
                   transient=True)
    task = bar.add_task("train", total=None, loss=float("nan"))

    def update(done: int, total: int, loss: float) -> None:
        bar.update(task, completed=done, total=total, loss=loss)

    return bar, update


@click.command("train")
@click.option("--run", "run_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Run directory (prepared with `llm360 data prepare`).")
@click.option("--preset", type=click.Choice(["tiny", "small", "amber-7b"]), default=None,
              help="Model and hyperparameter preset [default: tiny; on a resume: the parent's].")
@click.option("--config", "config_file", type=click.Path(dir_okay=False, path_type=Path),
              help="JSON file with 'model' and/or 'train' fields overriding the preset.")
@click.option("--resume-from", type=click.Path(file_okay=False, path_type=Path),
              help="Checkpoint folder to continue from (bit-exact with the same config; a fork "
                   "otherwise).")
@click.option("--backend", type=click.Choice(["torch", "deepspeed"]), default="torch",
              show_default=True)
@click.option("--deepspeed-config", type=click.Path(dir_okay=False, path_type=Path),
              help="DeepSpeed JSON config (ZeRO stage 1 or 2).")
@click.option("--precision", type=click.Choice(["fp32", "bf16"]), default=None,
              help="fp32, or bf16 autocast with fp32 weights [default: the preset's].")
@click.option("--max-checkpoints", type=click.IntRange(1), default=None,
              help="Stop after writing this many checkpoints.")
@click.option("--threads", type=click.IntRange(1), default=None, help="torch CPU threads.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def train(run_dir: Path, preset: str | None, config_file: Path | None, resume_from: Path | None,
          backend: str, deepspeed_config: Path | None, precision: str | None,
          max_checkpoints: int | None, threads: int | None, as_json: bool) -> int:
    """Train a LLaMA on the run's data chunks, writing checkpoints/, evals/, logs/, config/."""

    def body() -> int:
        ds_cfg, skip_shm = None, False
        if deepspeed_config is not None and backend != "deepspeed":
            raise InputError("--deepspeed-config needs --backend deepspeed")
        if backend == "deepspeed":
            skip_shm = _deepspeed_env()
            if deepspeed_config is not None:
                try:
                    ds_cfg = json.loads(deepspeed_config.read_text(encoding="utf-8"))
                except (OSError, ValueError) as exc:
                    raise InputError(f"{deepspeed_config}: cannot read the DeepSpeed config: "
                                     f"{exc}") from exc
        import torch

        from llm360.train.loop import TrainOptions, train as train_run

        if threads is not None:
            torch.set_num_threads(threads)
        opts = TrainOptions(preset=preset, config_file=config_file, resume_from=resume_from,
                            backend=backend, deepspeed_config=ds_cfg, precision=precision,
                            max_checkpoints=max_checkpoints, skip_shm_op=skip_shm)
        bar, update = _progress(not as_json)
        if bar is not None:
            with bar:
                result = train_run(run_dir, opts, progress=update)
        else:
            result = train_run(run_dir, opts)
        if result.rank != 0:
            return 0
        if as_json:
            echo_json({"run": str(result.run_dir), "checkpoints": result.checkpoints,
                       "steps": result.steps, "tokens": result.tokens,
                       "seconds": result.seconds, "tokens_per_s": result.tokens_per_s,
                       "forked": result.forked})
            return 0
        for c in result.checkpoints:
            mem = f" memorization {c['memorization']:.3f}" if "memorization" in c else ""
            echo(f"{c['name']}: step {c['step']}, {c['tokens_seen']} tokens, train loss "
                 f"{c['train_loss']:.4f}, held-out loss {c['heldout_loss']:.4f}{mem}"
                 + (" (identical to the existing checkpoint)"
                          if c["status"] == "identical" else ""))
        echo(f"{result.steps} steps, {result.tokens_per_s:,.0f} tokens/s"
             + (" (a fork: the configuration differs from the parent's)"
                      if result.forked else ""))
        return 0

    return body()
