"""The training loop: one data chunk after another, a checkpoint and an evaluation after each.

The learning rate is a pure function of the step (linear warmup, then cosine), the data order is
the row order of the chunks (a micro-batch split or more processes change neither), and the RNG
states are saved, so resuming from a checkpoint in a fresh process reproduces the next
checkpoints byte for byte (on a GPU: in deterministic mode, on the same GPU model and world
size). A resume with other data or hyperparameters (their digests differ from the parent's)
starts a fork: checkpoints named ``ckpt_NNN-forkM`` whose first parent is the checkpoint
resumed from.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from llm360.errors import InputError, TrainingError
from llm360.registry import layout
from llm360.registry.build.hashing import root_digest
from llm360.registry.run.lock import lock_run
from llm360.train import checkpoint as ck
from llm360.train import records
from llm360.train.config import (
    NUMERIC_EXCLUDE,
    ModelConfig,
    TrainConfig,
    config_digest,
    generation_config,
    hf_config,
    model_config_from_hf,
    resolve_config,
)
from llm360.train.data import RunData, hf_tokenizer_files, load_run_data
from llm360.train.device import (
    check_fits,
    configure_determinism,
    peak_memory,
    replay_notes,
    resolve_device,
)
from llm360.train.evaluate import evaluate
from llm360.train.model import build_model
from llm360.train.run_files import fork_suffix, keep_origin, write_run_records
from llm360.train.schedule import Schedule, lr_at, stage_spans

__all__ = ["TrainOptions", "TrainResult", "train", "lr_at"]


@dataclass(frozen=True, kw_only=True)
class TrainOptions:
    """How to run ``train``; ``None`` means: the preset's value, or the parent's on a resume."""

    preset: str | None = None
    config_file: Path | None = None
    resume_from: Path | None = None
    backend: str = "torch"
    deepspeed_config: dict | None = None
    precision: str | None = None         # default: the preset's; bf16 on a fresh CUDA run
    max_checkpoints: int | None = None   # stop after writing this many checkpoints
    record: bool = True                  # False: no checkpoints, evals, logs (benchmarks)
    skip_shm_op: bool = False            # DeepSpeed on CPU: skip the C++ shm-collective build
    device: str = "auto"                 # auto | cpu | cuda
    local_rank: int = 0                  # the launcher's LOCAL_RANK: which GPU of the node
    deterministic: bool | None = None
    micro_batch_size: int | None = None
    activation_checkpointing: bool | None = None
    max_shard_bytes: int | None = None
    compile: bool = False                # torch.compile the forward pass (torch backend)


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
    device: str = "cpu"
    notes: list[str] = field(default_factory=list)       # what a replay should expect
    recovered: list[str] = field(default_factory=list)   # records an interrupted run left
    on_note: Callable[[str], None] | None = field(default=None, repr=False)

    def note(self, text: str) -> None:
        """Record a note and say it at once (a long run must not keep it for the end)."""
        self.notes.append(text)
        if self.on_note is not None:
            self.on_note(text)

    @property
    def tokens_per_s(self) -> float:
        return self.tokens / self.seconds if self.seconds else 0.0


@dataclass(kw_only=True)
class _Run:
    """What ``train`` resolved before the first step."""

    run_dir: Path
    data: RunData
    rank: int
    main: bool
    device: torch.device
    mcfg: ModelConfig
    tcfg: TrainConfig
    steps_per_chunk: int
    total_steps: int
    digests: dict
    determinism: dict
    record: bool
    schedule: Schedule


@dataclass(kw_only=True)
class _Position:
    """Where training stands: the next chunk, the step and tokens so far, the line's name."""

    chunk: int = 0
    step: int = 0
    tokens: int = 0
    suffix: str = ""
    forked: bool = False
    parent: dict | None = None   # {"name", "root_digest"} of the checkpoint before the next


def _hyper(cfg: TrainConfig) -> dict:
    return {k: v for k, v in dataclasses.asdict(cfg).items() if k not in NUMERIC_EXCLUDE}


def _setup_backend(opts: TrainOptions, device: torch.device) -> tuple[int, int]:
    if opts.backend == "deepspeed":
        from llm360.train.backends.deepspeed_backend import init_distributed

        return init_distributed(skip_shm_op=opts.skip_shm_op, device=device)
    if opts.backend != "torch":
        raise InputError(f"unknown backend {opts.backend!r}", hint="torch or deepspeed")
    return 0, 1


def _load_parent(run_dir: Path, opts: TrainOptions, main: bool
                 ) -> tuple[ck.CheckpointState | None, str | None]:
    """The checkpoint resumed from and its name inside this run (copied in from elsewhere)."""
    if opts.resume_from is None:
        if main and any((run_dir / layout.CHECKPOINTS_DIR).glob("*")):
            raise InputError(f"{run_dir}: the run already has checkpoints",
                             hint="continue with --resume-from RUN/checkpoints/ckpt_XXX, or "
                                  "use a new run directory")
        return None, None
    folder = Path(opts.resume_from)
    state = ck.load_checkpoint(folder)
    name = folder.resolve().name
    if main and folder.resolve() != (run_dir.resolve() / layout.checkpoint_dir(name)):
        ck.adopt_checkpoint(run_dir, folder, name)
    return state, name


def _resolve(opts: TrainOptions, data: RunData, parent: ck.CheckpointState | None,
             world: int, device: torch.device) -> tuple[ModelConfig, TrainConfig]:
    inherited = dict(parent.trainer_state["train_config"]) if parent is not None else None
    overrides = {"precision": opts.precision, "backend": opts.backend, "world_size": world,
                 "device": device.type, "micro_batch_size": opts.micro_batch_size,
                 "activation_checkpointing": opts.activation_checkpointing,
                 "max_shard_bytes": opts.max_shard_bytes, "deterministic": opts.deterministic,
                 "zero_stage": int((opts.deepspeed_config or {}).get("zero_optimization", {})
                                   .get("stage", 2)) if opts.backend == "deepspeed" else 0}
    if inherited is None and opts.precision is None and device.type == "cuda":
        overrides["precision"] = "bf16"   # a fresh run on a GPU computes in bf16 autocast
    if inherited is None and opts.deterministic is None:
        overrides["deterministic"] = False
    common = dict(config_file=opts.config_file, vocab_size=data.vocab_size,
                  seq_len=data.seq_len, overrides=overrides)
    if inherited is not None and opts.preset is None:
        base_model = dataclasses.asdict(model_config_from_hf(parent.config))
        return resolve_config(inherited["preset"], base=(base_model, inherited), **common)
    return resolve_config(opts.preset or "tiny", special_token_id=data.eos_token_id, **common)


def _prepare(run_dir: Path, opts: TrainOptions, result: TrainResult,
             held: contextlib.ExitStack) -> tuple[_Run, ck.CheckpointState | None, str | None]:
    """Everything before the model exists: data, device, processes, parent, configs, fit.
    The process that writes the run takes its lock into ``held`` (one writer per run)."""
    device = resolve_device(opts.device, local_rank=opts.local_rank)
    rank, world = _setup_backend(opts, device)
    main = rank == 0
    if main and opts.record:
        held.enter_context(lock_run(run_dir, command="llm360 train"))
    data = load_run_data(run_dir)
    if main and opts.record:
        result.recovered = records.recover_pending(run_dir)
        for name in result.recovered:
            result.note(f"wrote the eval and log lines of {name}, which an interrupted run "
                        "had left unwritten")
    parent, parent_name = _load_parent(run_dir, opts, main)
    mcfg, tcfg = _resolve(opts, data, parent, world, device)
    check_fits(mcfg, tcfg, seq_len=data.seq_len, device=device)
    per_chunk = min(len(c) for c in data.chunks)
    steps_per_chunk = per_chunk // tcfg.batch_size
    if steps_per_chunk < 1:
        raise InputError(f"a data chunk holds {per_chunk} sequences, fewer than one batch "
                         f"of {tcfg.batch_size}", hint="lower batch_size or prepare bigger "
                                                       "chunks")
    digests = {"model": config_digest(hf_config(mcfg)), "train": config_digest(_hyper(tcfg)),
               "data": data.index_digest}
    determinism = dict(configure_determinism(tcfg.deterministic, device), world_size=world,
                       torch=torch.__version__)
    total_steps = steps_per_chunk * len(data.chunks)
    run = _Run(run_dir=run_dir, data=data, rank=rank, main=main, device=device, mcfg=mcfg,
               tcfg=tcfg, steps_per_chunk=steps_per_chunk, total_steps=total_steps,
               digests=digests, determinism=determinism, record=opts.record,
               schedule=Schedule(cfg=tcfg, total_steps=total_steps,
                                 steps_per_chunk=steps_per_chunk,
                                 stages=stage_spans(data.index)))
    return run, parent, parent_name


def _build_backend(run: _Run, opts: TrainOptions):
    torch.manual_seed(run.tcfg.seed)
    np.random.seed(run.tcfg.seed % 2**32)
    random.seed(run.tcfg.seed)
    model = build_model(run.mcfg, seed=run.tcfg.seed)
    model.set_activation_checkpointing(run.tcfg.activation_checkpointing)
    if opts.backend == "deepspeed":
        from llm360.train.backends.deepspeed_backend import DeepSpeedBackend

        return DeepSpeedBackend(model, run.tcfg, opts.deepspeed_config or {})
    from llm360.train.backends.torch_backend import TorchBackend

    return TorchBackend(model, run.tcfg, device=run.device, compile_model=opts.compile)


def _start(run: _Run, backend, parent: ck.CheckpointState | None, parent_name: str | None,
           result: TrainResult) -> _Position:
    pos = _Position()
    if parent is not None:
        st = parent.trainer_state
        if st["position"]["row"] != 0:
            raise InputError("resuming in the middle of a chunk is not supported")
        pos.chunk, pos.step, pos.tokens = (st["position"]["chunk"], st["step"],
                                           st["tokens_seen"])
        pos.forked = st.get("digests") != run.digests
        suffix = layout.checkpoint_suffix(parent_name)
        pos.suffix = suffix if suffix is not None else f"-{parent_name}"
        if pos.forked and run.main:
            pos.suffix = fork_suffix(run.run_dir)
        backend.import_state(parent.model, parent.optimizer)
        skipped = ck.restore_rng(parent.rng)
        if skipped:
            result.note(f"the checkpoint's RNG states {', '.join(skipped)} have no device "
                        "here and were not restored")
        for text in replay_notes(st, run.determinism):
            result.note(text)
        pos.parent = {"name": parent_name, "root_digest": ck.folder_root_digest(
            run.run_dir / layout.checkpoint_dir(parent_name)) if run.main else ""}
    if pos.chunk >= len(run.data.chunks):
        raise InputError(f"nothing left to train: the checkpoint is after the last data "
                         f"chunk ({len(run.data.chunks)} chunks)",
                         hint="prepare more data chunks, or resume from an earlier checkpoint")
    result.forked = pos.forked
    return pos


def _train_chunk(run: _Run, backend, pos: _Position, k: int, result: TrainResult,
                 progress: Callable[[int, int, float], None] | None, todo: int
                 ) -> tuple[list[dict], list[float]]:
    """Every optimizer step over chunk ``k``: (log lines, losses)."""
    cfg, rows, seq = run.tcfg, run.data.chunks[k], run.data.seq_len
    lines, losses = [], []
    for s in range(run.steps_per_chunk):
        t0 = time.perf_counter()
        lr = run.schedule.lr(pos.step)
        loss, grad_norm = backend.step(rows[s * cfg.batch_size:(s + 1) * cfg.batch_size], lr)
        if not math.isfinite(loss):
            raise TrainingError(f"the loss is {loss} at step {pos.step + 1}",
                                hint="lower the learning rate or use fp32")
        pos.step += 1
        pos.tokens += cfg.batch_size * seq
        losses.append(loss)
        if run.record:
            lines.append({"step": pos.step, "loss": loss, "lr": lr,
                          "grad_norm": grad_norm if math.isfinite(grad_norm) else -1.0,
                          "tokens_per_s": cfg.batch_size * seq
                          / max(time.perf_counter() - t0, 1e-9),
                          "tokens_seen": pos.tokens, "chunk": k,
                          "peak_memory_bytes": peak_memory(run.device)})
        result.steps += 1
        if progress is not None and run.main:
            progress(result.steps, todo, loss)
    return lines, losses


def _checkpoint_state(run: _Run, pos: _Position, k: int, name: str, losses: list[float],
                      tensors: tuple[dict, dict]) -> ck.CheckpointState:
    m, t = run.mcfg, run.tcfg
    schedule = run.schedule.record(k)
    state = {"schema_version": "llm360.trainer_state/v1", "checkpoint": name,
             "step": pos.step, "tokens_seen": pos.tokens, "data_chunks": [k],
             "position": {"chunk": k + 1, "row": 0},
             "parents": [pos.parent] if pos.parent else [], "schedule": schedule,
             "metrics": {"train_loss": float(np.mean(losses))}, "digests": run.digests,
             "train_config": dataclasses.asdict(t), "determinism": run.determinism,
             "lineage": pos.suffix.lstrip("-") or "main"}
    stage = run.schedule.stage_of_chunk(k) if run.schedule.stages else None
    if stage is not None:
        state["stage"] = stage.name
    tok = run.data.tokenizer_json
    return ck.CheckpointState(
        model=tensors[0], optimizer=tensors[1], rng=ck.capture_rng(), trainer_state=state,
        config=hf_config(m), generation_config=generation_config(m),
        tokenizer=hf_tokenizer_files(tok, model_max_length=m.max_position_embeddings)
        if tok is not None else {})


def _stage(run: _Run, pos: _Position, k: int, state: ck.CheckpointState, result: TrainResult
           ) -> tuple[ck.StagedCheckpoint, str]:
    """Stage checkpoint k; a different checkpoint of its name makes this line a fork."""
    name = f"ckpt_{k:03d}{pos.suffix}"
    staged = ck.stage_checkpoint(run.run_dir, name, state,
                                 max_shard_bytes=run.tcfg.max_shard_bytes)
    if staged.status() == "conflict":   # never overwrite a different checkpoint
        staged.discard()
        pos.suffix, result.forked = fork_suffix(run.run_dir), True
        name = f"ckpt_{k:03d}{pos.suffix}"
        state.trainer_state.update(checkpoint=name, lineage=pos.suffix.lstrip("-"))
        staged = ck.stage_checkpoint(run.run_dir, name, state,
                                     max_shard_bytes=run.tcfg.max_shard_bytes)
    return staged, name


def _record_checkpoint(run: _Run, backend, pos: _Position, k: int, lines: list[dict],
                       losses: list[float], result: TrainResult,
                       on_checkpoint: Callable[[dict], None] | None) -> None:
    """Checkpoint k, its eval and its log lines: staged, journaled, renamed, then written."""
    tensors = backend.export_state()  # a collective on DeepSpeed: every rank calls it
    if not run.main:
        return
    state = _checkpoint_state(run, pos, k, f"ckpt_{k:03d}{pos.suffix}", losses, tensors)
    staged, name = _stage(run, pos, k, state, result)
    try:
        ev = evaluate(backend.module, run.data, cfg=run.tcfg, name=name, step=pos.step,
                      tokens_seen=pos.tokens, seen_chunks=list(range(k + 1)),
                      device=backend.device)
        journal = records.write_pending(run.run_dir, name, eval_record=ev,
                                        log_suffix=pos.suffix, lines=lines,
                                        after_step=pos.step - len(lines))
        status = staged.commit()
    finally:
        staged.discard()
    records.apply_pending(run.run_dir, journal, status=status)
    pos.parent = {"name": name, "root_digest": root_digest(staged.digests.items())}
    entry = {"name": name, "status": status, "step": pos.step, "tokens_seen": pos.tokens,
             "train_loss": state.trainer_state["metrics"]["train_loss"], **ev["metrics"]}
    result.checkpoints.append(entry)
    if on_checkpoint is not None:
        on_checkpoint(entry)


def train(run_dir: Path, opts: TrainOptions = TrainOptions(), *,
          progress: Callable[[int, int, float], None] | None = None,
          on_checkpoint: Callable[[dict], None] | None = None,
          on_note: Callable[[str], None] | None = None) -> TrainResult:
    """Train the run at ``run_dir`` from its prepared data (or resume), writing a checkpoint and
    an evaluation after every data chunk. ``progress(done, total, loss)`` is called per step,
    ``on_checkpoint(entry)`` as soon as a checkpoint and its records are written, ``on_note``
    with each note (records recovered, why a replay would differ)."""
    run_dir = Path(run_dir)
    if opts.record:
        ck.check_run_paths(run_dir)
    with contextlib.ExitStack() as held:  # the run's lock, for as long as this trains it
        return _train(run_dir, opts, held, progress=progress, on_checkpoint=on_checkpoint,
                      on_note=on_note)


def _train(run_dir: Path, opts: TrainOptions, held: contextlib.ExitStack, *,
           progress: Callable[[int, int, float], None] | None,
           on_checkpoint: Callable[[dict], None] | None,
           on_note: Callable[[str], None] | None) -> TrainResult:
    result = TrainResult(run_dir=run_dir, on_note=on_note)
    run, parent, parent_name = _prepare(run_dir, opts, result, held)
    result.rank, result.device = run.rank, run.device.type
    backend = _build_backend(run, opts)
    pos = _start(run, backend, parent, parent_name, result)
    if run.main and opts.record:
        ck.clean_staging(run_dir)
        if parent is None:
            write_run_records(run_dir, run.mcfg, run.tcfg, run.data)
        elif (note := keep_origin(run_dir, parent_name, pos.forked)) is not None:
            result.note(note)
    todo = (len(run.data.chunks) - pos.chunk) * run.steps_per_chunk
    started = time.perf_counter()
    first = pos.chunk
    for k in range(first, len(run.data.chunks)):
        lines, losses = _train_chunk(run, backend, pos, k, result, progress, todo)
        result.losses.extend(losses)
        result.tokens += run.steps_per_chunk * run.tcfg.batch_size * run.data.seq_len
        if opts.record:
            _record_checkpoint(run, backend, pos, k, lines, losses, result, on_checkpoint)
            backend.barrier()
        if opts.max_checkpoints is not None and k - first + 1 >= opts.max_checkpoints:
            break
    result.seconds = time.perf_counter() - started
    backend.close()
    return result
