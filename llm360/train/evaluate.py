"""Per-checkpoint evaluation: held-out loss and perplexity, next-token accuracy, and the LLM360
memorization score (greedy continuation of a prefix reproduces the training text exactly)."""

from __future__ import annotations

import math

import numpy as np
import torch

from llm360.train.backends import lm_loss, split_batch
from llm360.train.backends.torch_backend import autocast
from llm360.train.config import TrainConfig
from llm360.train.data import RunData

__all__ = ["evaluate", "memorization"]


@torch.no_grad()
def memorization(model: torch.nn.Module, rows: np.ndarray, *, prefix: int, suffix: int,
                 precision: str) -> tuple[float, float]:
    """(fraction of rows whose ``suffix``-token greedy continuation of the first ``prefix``
    tokens equals the row exactly, mean fraction of matching continuation tokens)."""
    ids = torch.from_numpy(np.ascontiguousarray(rows[:, :prefix + suffix], dtype=np.int64))
    cur = ids[:, :prefix]
    for _ in range(suffix):
        with autocast(precision):
            logits = model(cur)[:, -1]
        cur = torch.cat([cur, logits.float().argmax(-1, keepdim=True)], dim=1)
    match = cur[:, prefix:] == ids[:, prefix:]
    return float(match.all(dim=1).float().mean()), float(match.float().mean())


@torch.no_grad()
def evaluate(model: torch.nn.Module, data: RunData, *, cfg: TrainConfig, name: str, step: int,
             tokens_seen: int, seen_chunks: list[int]) -> dict:
    """The ``llm360.eval/v1`` record of checkpoint ``name`` (deterministic: it uses its own
    seeded generator, never the global RNG)."""
    was_training = model.training
    model.eval()
    try:
        held = data.heldout[: cfg.eval_sequences]
        x, y = split_batch(held)
        with autocast(cfg.precision):
            logits = model(x)
        loss = float(lm_loss(logits, y))
        acc = float((logits.float().argmax(-1) == y).float().mean())
        metrics = {"heldout_loss": loss, "heldout_perplexity": math.exp(min(loss, 700.0)),
                   "next_token_accuracy": acc}
        details: dict = {"heldout_sequences": int(len(held)), "heldout_tokens": int(y.numel()),
                         "precision": cfg.precision}
        p, s = cfg.memorization_prefix, cfg.memorization_suffix
        if data.seq_len >= p + s and cfg.memorization_samples > 0 and seen_chunks:
            pool = [(k, r) for k in seen_chunks for r in range(len(data.chunks[k]))]
            rng = np.random.Generator(np.random.PCG64([cfg.seed, step]))
            pick = rng.choice(len(pool), size=min(cfg.memorization_samples, len(pool)),
                              replace=False)
            rows = np.stack([data.chunks[pool[i][0]][pool[i][1]] for i in sorted(pick.tolist())])
            exact, token_frac = memorization(model, rows, prefix=p, suffix=s,
                                             precision=cfg.precision)
            metrics["memorization"] = exact
            details["memorization"] = {
                "samples": int(len(rows)), "prefix_tokens": p, "continuation_tokens": s,
                "chunks": list(seen_chunks), "token_match": token_frac,
                "sampler": "numpy PCG64([seed, step]) without replacement over seen rows"}
        else:
            details["memorization"] = {"skipped": f"needs seq_len >= {p + s}"}
    finally:
        model.train(was_training)
    return {"schema_version": "llm360.eval/v1", "checkpoint": name, "step": step,
            "tokens_seen": tokens_seen, "metrics": metrics, "details": details}
