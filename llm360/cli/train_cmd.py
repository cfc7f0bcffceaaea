"""``llm360 train``: train (or resume) a run directory, one checkpoint per data chunk."""

from __future__ import annotations

import contextlib
import json
import os
import re
import socket
import sys
from pathlib import Path

import click

from llm360.cli._render import echo, echo_json, require_extra
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
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    bar = Progress(TextColumn("train"), BarColumn(), MofNCompleteColumn(),
                   TextColumn("{task.fields[loss]}"), TimeRemainingColumn(), transient=True)
    task = bar.add_task("train", total=None, loss="loss (after the first step)")

    def update(done: int, total: int, loss: float) -> None:
        bar.update(task, completed=done, total=total, loss=f"loss {loss:.3f}")

    return bar, update


_UNITS = {"": 1, "B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12,
          "KIB": 2**10, "MIB": 2**20, "GIB": 2**30, "TIB": 2**40}


def parse_size(text: str) -> int:
    """``5GB`` (Hugging Face's units: GB = 10^9 bytes), ``512MiB``, or a number of bytes."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMGT]?I?B?)\s*", text.upper())
    if m is None or m.group(2) not in _UNITS or float(m.group(1)) <= 0:
        raise InputError(f"--max-shard-size {text!r}: expected a size such as 5GB, 500MB or "
                         "a number of bytes")
    return max(1, int(float(m.group(1)) * _UNITS[m.group(2)]))


#: what `train` needs of the [train] extra, module -> distribution
TRAIN_EXTRA = {"torch": "torch", "tokenizers": "tokenizers"}


def _import_training():
    """The training extra, or bad input saying how to install it (exit 2)."""
    try:
        import tokenizers  # noqa: F401
        import torch  # noqa: F401

        from llm360.train.loop import TrainOptions
        from llm360.train.loop import train as train_run
    except ImportError as exc:
        raise InputError(f"`llm360 train` needs the training extra ({exc.name or exc} is not "
                         "installed)", hint="pip install 'llm360[train]'") from exc
    return TrainOptions, train_run


def _checkpoint_line(c: dict) -> str:
    mem = (f", memorization score {c['memorization_score']:.3f}"
           if "memorization_score" in c else "")
    return (f"{c['name']}: step {c['step']}, {c['tokens_seen']} tokens, train loss "
            f"{c['train_loss']:.4f}, held-out loss {c['heldout_loss']:.4f}{mem}"
            + (" (identical to the existing checkpoint)" if c["status"] == "identical" else ""))


@click.command("train")
@click.option("--run", "run_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Run directory (prepared with `llm360 data prepare`).")
@click.option("--preset", type=click.Choice(["tiny", "small", "amber-7b"]), default=None,
              help="Model and hyperparameter preset [default: tiny; on a resume: the parent's]. "
                   "amber-7b (LLaMA-7B as LLM360 Amber) needs CUDA GPUs: 8 x 80 GB with "
                   "--backend deepspeed (ZeRO 2); it refuses a machine that cannot hold it.")
@click.option("--config", "config_file", type=click.Path(dir_okay=False, path_type=Path),
              help="JSON file with 'model' and/or 'train' fields overriding the preset.")
@click.option("--resume-from", type=click.Path(file_okay=False, path_type=Path),
              help="Checkpoint folder to continue from (bit-exact with the same config; a fork "
                   "otherwise).")
@click.option("--backend", type=click.Choice(["torch", "deepspeed"]), default="torch",
              show_default=True, help="torch (one process) or deepspeed (ZeRO 1/2; NCCL on "
                                      "CUDA, gloo on the CPU; start it with torchrun or "
                                      "deepspeed for several processes).")
@click.option("--deepspeed-config", type=click.Path(dir_okay=False, path_type=Path),
              help="DeepSpeed JSON config (ZeRO stage 1 or 2).")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto",
              show_default=True, help="auto: CUDA when torch sees a GPU, else the CPU.")
@click.option("--precision", type=click.Choice(["fp32", "bf16"]), default=None,
              help="fp32, or bf16 autocast with fp32 weights [default: the preset's; bf16 for "
                   "a new run on CUDA].")
@click.option("--micro-batch-size", type=click.IntRange(1), default=None,
              help="Rows per forward/backward pass and process; the batch is accumulated "
                   "from micro-batches (same update, schedule and data order).")
@click.option("--activation-checkpointing/--no-activation-checkpointing", default=None,
              help="Recompute layer activations in the backward pass (less memory).")
@click.option("--deterministic/--no-deterministic", default=None,
              help="Deterministic kernels, so a resume on the same GPU model writes the same "
                   "checkpoints byte for byte (slower on CUDA; recorded in trainer_state.json).")
@click.option("--max-shard-size", default=None,
              help="Largest weights/optimizer file; bigger state is written as Hugging Face "
                   "shards (model-00001-of-0000N.safetensors + index) [default: 5GB].")
@click.option("--compile", "compile_model", is_flag=True,
              help="torch.compile the forward pass (torch backend).")
@click.option("--max-checkpoints", type=click.IntRange(1), default=None,
              help="Stop after writing this many checkpoints.")
@click.option("--threads", type=click.IntRange(1), default=None, help="torch CPU threads.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def train(run_dir: Path, preset: str | None, config_file: Path | None, resume_from: Path | None,
          backend: str, deepspeed_config: Path | None, device: str, precision: str | None,
          micro_batch_size: int | None, activation_checkpointing: bool | None,
          deterministic: bool | None, max_shard_size: str | None, compile_model: bool,
          max_checkpoints: int | None, threads: int | None, as_json: bool) -> int:
    """Train a LLaMA on the run's data chunks, writing checkpoints/, evals/, logs/, config/.

    Each checkpoint's line is printed as soon as it is written (also when piped)."""

    def body() -> int:
        ds_cfg, skip_shm = None, False
        if deepspeed_config is not None and backend != "deepspeed":
            raise InputError("--deepspeed-config needs --backend deepspeed")
        shard = parse_size(max_shard_size) if max_shard_size is not None else None
        if backend == "deepspeed":
            skip_shm = _deepspeed_env()
            if deepspeed_config is not None:
                try:
                    ds_cfg = json.loads(deepspeed_config.read_text(encoding="utf-8"))
                except (OSError, ValueError) as exc:
                    raise InputError(f"{deepspeed_config}: cannot read the DeepSpeed config: "
                                     f"{exc}") from exc
        from llm360.train.inputs import check_train_inputs

        require_extra("train", TRAIN_EXTRA, needed_for="`llm360 train`")  # looked up only
        check_train_inputs(run_dir, config_file=config_file, resume_from=resume_from)
        TrainOptions, train_run = _import_training()  # torch: seconds, after the inputs
        import torch

        if threads is not None:
            torch.set_num_threads(threads)
        opts = TrainOptions(preset=preset, config_file=config_file, resume_from=resume_from,
                            backend=backend, deepspeed_config=ds_cfg, precision=precision,
                            max_checkpoints=max_checkpoints, skip_shm_op=skip_shm,
                            device=device, local_rank=int(os.environ.get("LOCAL_RANK", "0")),
                            deterministic=deterministic, micro_batch_size=micro_batch_size,
                            activation_checkpointing=activation_checkpointing,
                            max_shard_bytes=shard, compile=compile_model)
        on_ckpt = None if as_json else (lambda c: echo(_checkpoint_line(c)))
        on_note = None if as_json else (lambda text: echo(f"note: {text}", err=True))
        bar, update = _progress(not as_json)
        with bar if bar is not None else contextlib.nullcontext():
            result = train_run(run_dir, opts, progress=update, on_checkpoint=on_ckpt,
                               on_note=on_note)
        if result.rank != 0:
            return 0
        if as_json:
            echo_json({"run": str(result.run_dir), "checkpoints": result.checkpoints,
                       "steps": result.steps, "tokens": result.tokens,
                       "seconds": result.seconds, "tokens_per_s": result.tokens_per_s,
                       "forked": result.forked, "device": result.device,
                       "notes": result.notes, "recovered": result.recovered})
            return 0
        echo(f"{result.steps} steps on {result.device}, {result.tokens_per_s:,.0f} tokens/s"
             + (" (a fork: the configuration differs from the parent's)"
                if result.forked else ""))
        return 0

    return body()
