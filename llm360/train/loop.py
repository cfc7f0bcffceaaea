"""The training loop: one data chunk after another, a checkpoint and an evaluation after each.

The learning rate is a pure function of the step (linear warmup, then cosine), the data order is
the row order of the chunks, and the RNG states are saved, so resuming from a checkpoint in a
fresh process reproduces the next checkpoints byte for byte. A resume with other data or
hyperparameters (their digests differ from the parent's) starts a fork: checkpoints named
``ckpt_NNN-forkM`` whose first parent is the checkpoint resumed from.
"""

from __future__ import annotations

import dataclasses
import json
import math
import random
import re
import resource
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import yaml

from llm360.errors import InputError, TrainingError
from llm360.registry._files import write_atomic
from llm360.registry.hashing import root_digest
from llm360.registry.serialize import canonical_json
from llm360.train import checkpoint as ck
from llm360.train.config import (NUMERIC_EXCLUDE, ModelConfig, TrainConfig, config_digest,
                                 generation_config, hf_config, model_config_from_hf,
                                 resolve_config)
from llm360.train.data import RunData, load_run_data
from llm360.train.evaluate import evaluate
from llm360.train.model import build_model
from llm360.train.provenance import collect_provenance, starter_metadata

__all__ = ["TrainOptions", "TrainResult", "train", "lr_at"]

_NAME = re.compile(r"^ckpt_(\d+)(.*)$")


@dataclass(frozen=True, kw_only=True)
class TrainOptions:
    """How to run ``train``; ``None`` means: the preset's value, or the parent's on a resume."""

    preset: str | None = None
    config_file: Path | None = None
    resume_from: Path | None = None
    backend: str = "torch"
    deepspeed_config: dict | None = None
    precision: str | None = None
    max_checkpoints: int | None = None   # stop after writing this many checkpoints
    record: bool = True                  # False: no checkpoints, evals, logs (benchmarks)
    skip_shm_op: bool = False            # DeepSpeed on CPU: skip the C++ shm-collective build


@dataclass(kw_only=True)
class TrainResult:
    run_dir: Path
    checkpoints: list[dict] = field(default_factory=list)
    steps: int = 0
    tokens: int = 0
    seconds: float = 0.0
    forked: bool = False
    losses: list[float] = field(default_factory=list)
    rank: int = 0

    @property
    def tokens_per_s(self) -> float:
        return self.tokens / self.seconds if self.seconds else 0.0


def lr_at(step: int, cfg: TrainConfig, total_steps: int) -> float:
    """Learning rate for the optimizer step with 0-based index ``step``."""
    if step < cfg.warmup_steps:
        return cfg.lr * (step + 1) / cfg.warmup_steps
    span = max(1, total_steps - cfg.warmup_steps)
    progress = min(1.0, (step - cfg.warmup_steps) / span)
    return cfg.min_lr + 0.5 * (cfg.lr - cfg.min_lr) * (1.0 + math.cos(math.pi * progress))


def _hyper(cfg: TrainConfig) -> dict:
    return {k: v for k, v in dataclasses.asdict(cfg).items() if k not in NUMERIC_EXCLUDE}


def _digests(m: ModelConfig, t: TrainConfig, data: RunData) -> dict:
    return {"model": config_digest(hf_config(m)), "train": config_digest(_hyper(t)),
            "data": data.index_digest}


def _fork_suffix(run_dir: Path) -> str:
    used = {m.group(1) for p in (run_dir / "checkpoints").glob("*")
            if (m := re.search(r"-fork(\d+)$", p.name))}
    n = 1
    while str(n) in used:
        n += 1
    return f"-fork{n}"


class _Log:
    """logs/train{suffix}.jsonl: lines beyond the parent's step are replaced on a new write."""

    def __init__(self, run_dir: Path, suffix: str) -> None:
        self.path = run_dir / "logs" / f"train{suffix}.jsonl"

    def append(self, lines: list[dict], *, after_step: int) -> None:
        kept = b""
        if self.path.exists():
            kept = b"".join(line + b"\n" for line in self.path.read_bytes().splitlines()
                            if line.strip() and json.loads(line)["step"] <= after_step)
        write_atomic(self.path, kept + b"".join(canonical_json(r) + b"\n" for r in lines))


def _write_records(run_dir: Path, m: ModelConfig, t: TrainConfig, data: RunData) -> None:
    """config/model.json, config/train.json, code/provenance.json and a starter llm360.yaml."""
    write_atomic(run_dir / "config" / "model.json", canonical_json(hf_config(m)))
    write_atomic(run_dir / "config" / "train.json", canonical_json(
        {**dataclasses.asdict(t), "schedule": "linear warmup then cosine to min_lr",
         "optimizer": "AdamW (weight decay on matrices only)",
         "seq_len": data.seq_len, "num_chunks": len(data.chunks)}))
    if not (run_dir / "code" / "provenance.json").exists():
        write_atomic(run_dir / "code" / "provenance.json", canonical_json(collect_provenance()))
    if not (run_dir / "llm360.yaml").exists():
        meta = starter_metadata(run_dir, preset=t.preset, data_config=data.config)
        write_atomic(run_dir / "llm360.yaml",
                     yaml.safe_dump(meta, sort_keys=True, allow_unicode=True).encode("utf-8"))


def _adopt_parent(run_dir: Path, folder: Path) -> str:
    """Name of the resumed checkpoint inside ``run_dir/checkpoints``; a folder from elsewhere
    (a pulled release) is copied in so the lineage graph can record it as the parent."""
    folder = folder.resolve()
    inside = run_dir.resolve() / "checkpoints" / folder.name
    if folder == inside:
        return folder.name
    if inside.exists():
        if not ck.same_files(folder, inside):
            raise TrainingError(f"{inside} exists and differs from {folder}",
                                hint="resume from the run's own checkpoint folder")
        return folder.name
    ck.save_checkpoint(run_dir, folder.name, ck.load_checkpoint(folder))
    return folder.name


def _setup_backend(opts: TrainOptions, seed_world: int):
    if opts.backend == "deepspeed":
        from llm360.train.backends.deepspeed_backend import init_distributed

        return init_distributed(skip_shm_op=opts.skip_shm_op)
    if opts.backend != "torch":
        raise InputError(f"unknown backend {opts.backend!r}", hint="torch or deepspeed")
    return 0, seed_world


def train(run_dir: Path, opts: TrainOptions = TrainOptions(), *,
          progress: Callable[[int, int, float], None] | None = None) -> TrainResult:
    """Train the run at ``run_dir`` from its prepared data (or resume), writing a checkpoint and
    an evaluation after every data chunk. ``progress(done, total, loss)`` is called per step."""
    run_dir = Path(run_dir)
    data = load_run_data(run_dir)
    rank, world = _setup_backend(opts, 1)
    main = rank == 0
    parent_state, parent_name, start = None, None, None
    if opts.resume_from is not None:
        start = ck.load_checkpoint(Path(opts.resume_from))
        parent_state = start.trainer_state
        if main:
            parent_name = _adopt_parent(run_dir, Path(opts.resume_from))
        else:
            parent_name = Path(opts.resume_from).resolve().name
    elif main and any((run_dir / "checkpoints").glob("*")):
        raise InputError(f"{run_dir}: the run already has checkpoints",
                            hint="continue with --resume-from RUN/checkpoints/ckpt_XXX, or use "
                                 "a new run directory")
    overrides = {"precision": opts.precision, "backend": opts.backend, "world_size": world}
    if opts.backend == "deepspeed":
        overrides["zero_stage"] = int((opts.deepspeed_config or {}).get(
            "zero_optimization", {}).get("stage", 2))
    else:
        overrides["zero_stage"] = 0
    if parent_state is not None and opts.preset is None:
        inherited = dict(parent_state["train_config"])
        base_model = dataclasses.asdict(model_config_from_hf(start.config))
        mcfg, tcfg = resolve_config(inherited["preset"], config_file=opts.config_file,
                                    vocab_size=data.vocab_size, seq_len=data.seq_len,
                                    overrides=overrides, base=(base_model, inherited))
    else:
        mcfg, tcfg = resolve_config(opts.preset or "tiny", config_file=opts.config_file,
                                    vocab_size=data.vocab_size, seq_len=data.seq_len,
                                    overrides=overrides)
    per_chunk = min(len(c) for c in data.chunks)
    steps_per_chunk = per_chunk // tcfg.batch_size
    if steps_per_chunk < 1:
        raise TrainingError(f"a data chunk holds {per_chunk} sequences, fewer than one batch "
                            f"of {tcfg.batch_size}", hint="lower batch_size or prepare bigger "
                                                          "chunks")
    total_steps = steps_per_chunk * len(data.chunks)
    digests = _digests(mcfg, tcfg, data)

    torch.manual_seed(tcfg.seed)
    np.random.seed(tcfg.seed % 2**32)
    random.seed(tcfg.seed)
    model = build_model(mcfg, seed=tcfg.seed)
    if opts.backend == "deepspeed":
        from llm360.train.backends.deepspeed_backend import DeepSpeedBackend

        backend = DeepSpeedBackend(model, tcfg, opts.deepspeed_config or {})
    else:
        from llm360.train.backends.torch_backend import TorchBackend

        backend = TorchBackend(model, tcfg)

    suffix, forked, step, tokens, chunk = "", False, 0, 0, 0
    if parent_state is not None:
        if parent_state["position"]["row"] != 0:
            raise TrainingError("resuming in the middle of a chunk is not supported")
        chunk, step, tokens = (parent_state["position"]["chunk"], parent_state["step"],
                               parent_state["tokens_seen"])
        forked = parent_state.get("digests") != digests
        m = _NAME.match(parent_name)
        suffix = m.group(2) if m else f"-{parent_name}"
        if forked and main:
            suffix = _fork_suffix(run_dir)
        backend.import_state(start.model, start.optimizer)
        ck.restore_rng(start.rng)
    if chunk >= len(data.chunks):
        raise InputError(f"nothing left to train: the checkpoint is after the last data "
                         f"chunk ({len(data.chunks)} chunks)",
                         hint="prepare more data chunks, or resume from an earlier checkpoint")
    if main and opts.record:
        ck.clean_staging(run_dir)
        if parent_state is None:
            _write_records(run_dir, mcfg, tcfg, data)
    result = TrainResult(run_dir=run_dir, forked=forked, rank=rank)
    parent = None if parent_name is None else {
        "name": parent_name,
        "root_digest": ck.folder_root_digest(run_dir / "checkpoints" / parent_name)
        if main else ""}
    schedule = {"kind": "warmup_cosine", "lr": tcfg.lr, "min_lr": tcfg.min_lr,
                "warmup_steps": tcfg.warmup_steps, "total_steps": total_steps,
                "steps_per_chunk": steps_per_chunk, "rows_per_step": tcfg.batch_size}
    seq = data.seq_len
    todo = (len(data.chunks) - chunk) * steps_per_chunk
    started = time.perf_counter()
    for k in range(chunk, len(data.chunks)):
        rows, lines, losses = data.chunks[k], [], []
        for s in range(steps_per_chunk):
            t0 = time.perf_counter()
            lr = lr_at(step, tcfg, total_steps)
            loss, grad_norm = backend.step(rows[s * tcfg.batch_size:(s + 1) * tcfg.batch_size],
                                           lr)
            if not math.isfinite(loss):
                raise TrainingError(f"the loss is {loss} at step {step + 1}",
                                    hint="lower the learning rate or use fp32")
            step += 1
            tokens += tcfg.batch_size * seq
            losses.append(loss)
            if opts.record:
                lines.append({"step": step, "loss": loss, "lr": lr,
                              "grad_norm": grad_norm if math.isfinite(grad_norm) else -1.0,
                              "tokens_per_s": tcfg.batch_size * seq
                              / max(time.perf_counter() - t0, 1e-9),
                              "tokens_seen": tokens, "chunk": k,
                              "peak_memory_bytes": _peak_memory()})
            result.steps += 1
            if progress is not None and main:
                progress(result.steps, todo, loss)
        result.losses.extend(losses)
        result.tokens += steps_per_chunk * tcfg.batch_size * seq
        if not opts.record:
            continue
        model_sd, optim_sd = backend.export_state()  # collective on DeepSpeed
        if main:
            name = f"ckpt_{k:03d}{suffix}"
            state = {"schema_version": "llm360.trainer_state/v1", "checkpoint": name,
                     "step": step, "tokens_seen": tokens, "data_chunks": [k],
                     "position": {"chunk": k + 1, "row": 0},
                     "parents": [parent] if parent else [], "schedule": schedule,
                     "metrics": {"train_loss": float(np.mean(losses))},
                     "digests": digests, "train_config": dataclasses.asdict(tcfg),
                     "lineage": suffix.lstrip("-") or "main"}
            ckpt = ck.CheckpointState(model=model_sd, optimizer=optim_sd,
                                      rng=ck.capture_rng(), trainer_state=state,
                                      config=hf_config(mcfg),
                                      generation_config=generation_config(mcfg))
            written: dict[str, str] = {}
            try:
                status = ck.save_checkpoint(run_dir, name, ckpt, digests=written)
            except FileExistsError:
                # never overwrite a different checkpoint: this continuation becomes a fork
                suffix, result.forked = _fork_suffix(run_dir), True
                name = f"ckpt_{k:03d}{suffix}"
                state.update(checkpoint=name, lineage=suffix.lstrip("-"))
                status = ck.save_checkpoint(run_dir, name, ckpt, digests=written)
            if status == "written":
                _Log(run_dir, suffix).append(lines, after_step=step - len(lines))
            record = evaluate(backend.module, data, cfg=tcfg, name=name, step=step,
                              tokens_seen=tokens, seen_chunks=list(range(k + 1)))
            write_atomic(run_dir / "evals" / f"{name}.json", canonical_json(record))
            parent = {"name": name, "root_digest": root_digest(written.items())}
            result.checkpoints.append({"name": name, "status": status, "step": step,
                                       "tokens_seen": tokens,
                                       "train_loss": state["metrics"]["train_loss"],
                                       **record["metrics"]})
        backend.barrier()
        if opts.max_checkpoints is not None and k - chunk + 1 >= opts.max_checkpoints:
            break
    result.seconds = time.perf_counter() - started
    backend.close()
    return result


def _peak_memory() -> int:
    if torch.cuda.is_available():
        return int(torch.cuda.max_memory_allocated())
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024
