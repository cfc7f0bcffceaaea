"""The learning rate as a pure function of the step, and the stages of a mixture run.

One schedule runs over the whole run: linear warmup, then cosine to ``min_lr`` (``lr_at``). A
mixture stage (``data/index.json`` ``mixture.stages``) may bring its own schedule (``lr``,
``min_lr``, ``warmup_steps``): over that stage's steps the learning rate is warmup then cosine
from the stage's first step to its last, as CrystalCoder's phases each had their own; a stage
without one follows the run's schedule. Nothing here holds state, so a resume at any
checkpoint, across a stage boundary too, continues with the same learning rates.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

from llm360.errors import InputError
from llm360.registry.run.records import DataIndex
from llm360.train.config import TrainConfig

__all__ = ["lr_at", "StageSpan", "stage_spans", "Schedule"]


def lr_at(step: int, cfg: TrainConfig, total_steps: int) -> float:
    """Learning rate for the optimizer step with 0-based index ``step``."""
    if step < cfg.warmup_steps:
        return cfg.lr * (step + 1) / cfg.warmup_steps
    span = max(1, total_steps - cfg.warmup_steps)
    progress = min(1.0, (step - cfg.warmup_steps) / span)
    return cfg.min_lr + 0.5 * (cfg.lr - cfg.min_lr) * (1.0 + math.cos(math.pi * progress))


@dataclass(frozen=True, kw_only=True)
class StageSpan:
    """A stage's chunks and, when it has one, its own schedule's overrides."""

    name: str
    first_chunk: int
    last_chunk: int
    overrides: tuple[tuple[str, float], ...] = ()


def stage_spans(index: DataIndex) -> tuple[StageSpan, ...]:
    """The stages of a prepared run's ``data/index.json`` (none without a mixture); their
    chunks must follow one another from chunk 0."""
    if index.mixture is None:
        return ()
    spans, at = [], 0
    for stage in index.mixture.stages:
        chunks = list(stage.chunks)
        if chunks != list(range(at, at + len(chunks))):
            raise InputError(f"data/index.json: stage {stage.name!r} has chunks {chunks}, "
                             f"expected {at}..{at + len(chunks) - 1} in order",
                             hint="prepare the data again")
        spans.append(StageSpan(name=stage.name, first_chunk=at, last_chunk=at + len(chunks) - 1,
                               overrides=tuple(sorted((stage.schedule or {}).items()))))
        at += len(chunks)
    return tuple(spans)


@dataclass(frozen=True, kw_only=True)
class Schedule:
    """The learning rate of every step of a run of ``steps_per_chunk`` steps per chunk."""

    cfg: TrainConfig
    total_steps: int
    steps_per_chunk: int
    stages: tuple[StageSpan, ...] = ()

    def stage_of_chunk(self, chunk: int) -> StageSpan | None:
        return next((s for s in self.stages if s.first_chunk <= chunk <= s.last_chunk), None)

    def _own(self, stage: StageSpan) -> tuple[TrainConfig, int, int]:
        """(the stage's config, its first step, its steps) for a stage with its own schedule."""
        try:
            cfg = dataclasses.replace(self.cfg, **dict(stage.overrides))
        except (TypeError, InputError) as exc:
            raise InputError(f"stage {stage.name!r}: its schedule does not fit the run's "
                             f"configuration ({exc})") from exc
        first = stage.first_chunk * self.steps_per_chunk
        return cfg, first, (stage.last_chunk - stage.first_chunk + 1) * self.steps_per_chunk

    def lr(self, step: int) -> float:
        """The learning rate of the 0-based optimizer step ``step``."""
        stage = self.stage_of_chunk(step // self.steps_per_chunk) if self.stages else None
        if stage is None or not stage.overrides:
            return lr_at(step, self.cfg, self.total_steps)
        cfg, first, steps = self._own(stage)
        return lr_at(step - first, cfg, steps)

    def record(self, chunk: int) -> dict:
        """trainer_state.json's ``schedule`` at the end of ``chunk``."""
        t = self.cfg
        out = {"kind": "warmup_cosine", "lr": t.lr, "min_lr": t.min_lr,
               "warmup_steps": t.warmup_steps, "total_steps": self.total_steps,
               "steps_per_chunk": self.steps_per_chunk, "rows_per_step": t.batch_size,
               "micro_batch_rows": t.micro_rows, "accumulation_steps": t.accumulation_steps}
        stage = self.stage_of_chunk(chunk) if self.stages else None
        if stage is not None and stage.overrides:
            cfg, first, steps = self._own(stage)
            out["stage"] = {"name": stage.name, "lr": cfg.lr, "min_lr": cfg.min_lr,
                            "warmup_steps": cfg.warmup_steps, "first_step": first,
                            "steps": steps}
        return out
