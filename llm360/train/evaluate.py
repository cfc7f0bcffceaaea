"""Per-checkpoint evaluation: held-out loss and perplexity, next-token accuracy, and the
memorization score of Biderman et al. 2023 ("Emergent and Predictable Memorization in Large
Language Models") with k = l = 32, as the LLM360 paper reports it.

Memorization: for a training row, the model continues its first k tokens greedily for l tokens;
the row's score is the fraction of those l tokens equal to the row's next l tokens. The
checkpoint's ``memorization_score`` is the mean over the sampled rows; ``memorization_exact_match``
is the share of rows with score 1 (the whole continuation reproduced). Rows are sampled from
every chunk the checkpoint has seen, ``memorization_samples`` per chunk (64 by default), by a
generator seeded with the run's seed and the chunk index, so every checkpoint scores the same rows
of a chunk and the curve over checkpoints compares like with like.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from llm360.train.backends import split_batch
from llm360.train.backends.torch_backend import autocast
from llm360.train.config import TrainConfig
from llm360.train.data import RunData

__all__ = ["evaluate", "memorization_scores", "memorization_rows", "SAMPLER"]

SAMPLER = ("numpy Generator(PCG64([seed, chunk])).choice(rows of the chunk, "
           "min(memorization_samples, rows), replace=False), sorted")


@torch.no_grad()
def memorization_scores(model: torch.nn.Module, rows: np.ndarray, *, prefix: int, suffix: int,
                        precision: str, device: torch.device | str = "cpu",
                        batch: int = 64) -> np.ndarray:
    """Per row: the fraction of the ``suffix`` greedy tokens after the row's first ``prefix``
    tokens that equal the row's next ``suffix`` tokens."""
    out = []
    for i in range(0, len(rows), batch):
        ids = torch.from_numpy(np.ascontiguousarray(rows[i:i + batch, :prefix + suffix],
                                                    dtype=np.int64)).to(device)
        with autocast(precision, device):
            gen = model.greedy(ids[:, :prefix], suffix)
        out.append((gen == ids[:, prefix:]).double().mean(dim=1).cpu().numpy())
    return np.concatenate(out) if out else np.zeros(0)


def memorization_rows(data: RunData, seen_chunks: list[int], *, per_chunk: int,
                      seed: int) -> list[tuple[int, int]]:
    """(chunk, row) pairs: ``per_chunk`` rows of every seen chunk (all of a smaller chunk)."""
    pairs = []
    for k in seen_chunks:
        n = len(data.chunks[k])
        rng = np.random.Generator(np.random.PCG64([seed, k]))
        pick = rng.choice(n, size=min(per_chunk, n), replace=False)
        pairs += [(k, int(r)) for r in sorted(pick.tolist())]
    return pairs


@torch.no_grad()
def _heldout(model: torch.nn.Module, held: np.ndarray, cfg: TrainConfig,
             device: torch.device | str) -> tuple[float, float, int]:
    """(mean token loss, next-token accuracy, tokens) over the held-out rows, in batches."""
    loss_sum, correct, count = 0.0, 0, 0
    step = max(1, cfg.micro_rows)
    for i in range(0, len(held), step):
        x, y = split_batch(held[i:i + step], device)
        with autocast(cfg.precision, device):
            logits = model(x)
        logits = logits.float()
        loss_sum += float(torch.nn.functional.cross_entropy(
            logits.reshape(-1, logits.shape[-1]), y.reshape(-1), reduction="sum"))
        correct += int((logits.argmax(-1) == y).sum())
        count += int(y.numel())
    return loss_sum / max(count, 1), correct / max(count, 1), count


def _memorization(model: torch.nn.Module, data: RunData, cfg: TrainConfig,
                  seen_chunks: list[int], device: torch.device | str) -> tuple[dict, dict]:
    k, l = cfg.memorization_prefix, cfg.memorization_suffix  # noqa: E741 (the paper's k and l)
    if data.seq_len < k + l:
        return {}, {"skipped": f"the sequences hold {data.seq_len} tokens, fewer than the "
                               f"{k + l} the score needs ({k}-token prefix + {l}-token "
                               f"continuation): prepare the data with --seq-len {k + l} or more"}
    if cfg.memorization_samples == 0 or not seen_chunks or min(k, l) == 0:
        return {}, {"skipped": "memorization_samples, prefix or suffix is 0"}
    pairs = memorization_rows(data, seen_chunks, per_chunk=cfg.memorization_samples,
                              seed=cfg.seed)
    rows = np.stack([data.chunks[c][r] for c, r in pairs])
    scores = memorization_scores(model, rows, prefix=k, suffix=l, precision=cfg.precision,
                                 device=device)
    chunk_of = np.asarray([c for c, _ in pairs])
    metrics = {"memorization_score": float(scores.mean()),
               "memorization_exact_match": float((scores == 1.0).mean())}
    details = {"definition": "Biderman et al. 2023: per row, the fraction of the l greedy "
                             "tokens after a k-token prefix that equal the data; "
                             "memorization_score is the mean over rows, "
                             "memorization_exact_match the share of rows scoring 1",
               "k": k, "l": l, "rows": int(len(rows)),
               "rows_per_chunk": int(cfg.memorization_samples), "chunks": list(seen_chunks),
               "seed": cfg.seed, "sampler": SAMPLER,
               "score_per_chunk": {str(c): float(scores[chunk_of == c].mean())
                                   for c in seen_chunks}}
    return metrics, details


@torch.no_grad()
def evaluate(model: torch.nn.Module, data: RunData, *, cfg: TrainConfig, name: str, step: int,
             tokens_seen: int, seen_chunks: list[int],
             device: torch.device | str = "cpu") -> dict:
    """The ``llm360.eval/v1`` record of checkpoint ``name`` (deterministic: no global RNG)."""
    was_training = model.training
    model.eval()
    try:
        held = data.heldout[: cfg.eval_sequences]
        loss, acc, tokens = _heldout(model, held, cfg, device)
        metrics = {"heldout_loss": loss, "heldout_perplexity": math.exp(min(loss, 700.0)),
                   "next_token_accuracy": acc}
        details: dict = {"heldout_sequences": int(len(held)), "heldout_tokens": tokens,
                         "precision": cfg.precision}
        mem_metrics, details["memorization"] = _memorization(model, data, cfg, seen_chunks,
                                                             device)
        metrics.update(mem_metrics)
    finally:
        model.train(was_training)
    return {"schema_version": "llm360.eval/v1", "checkpoint": name, "step": step,
            "tokens_seen": tokens_seen, "metrics": metrics, "details": details}
