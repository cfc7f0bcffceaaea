"""Rows drawn per stage: a pure function of each source's rows, the mixture and the seed.

Each source's documents are cut into rows of its own (a row never mixes two sources). A share
of every source's rows is held out first (Hamilton apportionment of the held-out total by the
sources' sizes). A stage of ``R`` rows takes from source ``i`` the Hamilton apportionment of
``R * target_ratio_i``, so its realised share is within one row of the target. A source's rows
are drawn in an order drawn with the seed, and the order continues from stage to stage: a stage
takes rows no stage has taken before until the source runs out, then the source's next epoch
(a new order) begins. Every drawn row carries (source index, epoch): epoch 0 is the first time
that row is trained on, epoch 1 the second, and so on. ``max_repetition_ratio`` caps what a
stage may take of a source: at most that many times its rows. The stage's rows are then spread
evenly (source ``i``'s ``k``-th of ``n_i`` rows at ``(k + 0.5) / n_i``), cut into chunks, and
each chunk is shuffled with the seed: every chunk, not only the stage, holds each source
within about one row of its target.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from llm360.errors import SchemaError
from llm360.train.mixture import Mixture

__all__ = ["apportion", "Drawn", "split_heldout", "draw_stages", "DRAW_RULE"]

DRAW_RULE = ("per stage, source i gets the Hamilton (largest remainder) apportionment of "
             "rows x target_ratio; each source's rows are taken in numpy Generator(PCG64([seed, "
             "1, i, epoch])).permutation order continuing across stages (a new epoch when they "
             "run out); the stage's rows are ordered by (k + 0.5) / n_i for source i's k-th of "
             "n_i rows (ties: source order), cut into chunks, and each chunk c is shuffled by "
             "Generator(PCG64([seed, 2, stage, c])).permutation")


def apportion(total: int, weights: Sequence[float]) -> list[int]:
    """Hamilton (largest remainder) apportionment of ``total`` by ``weights``: the shares sum
    to ``total`` and each is within one of ``total * w / sum(weights)`` (ties: the first)."""
    scale = sum(weights)
    quotas = [total * w / scale for w in weights]
    shares = [math.floor(q) for q in quotas]
    order = sorted(range(len(quotas)), key=lambda i: (-(quotas[i] - shares[i]), i))
    for i in order[: total - sum(shares)]:
        shares[i] += 1
    return shares


def split_heldout(sizes: Sequence[int], heldout: int, *, seed: int
                  ) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Per source, (indices of its rows kept for training, indices held out): the held-out
    total apportioned by the sources' sizes, the last rows of a seeded order per source."""
    shares = apportion(heldout, sizes) if sum(sizes) else [0] * len(sizes)
    train, held = [], []
    for i, (n, h) in enumerate(zip(sizes, shares)):
        perm = np.random.Generator(np.random.PCG64([seed, 0, i])).permutation(n)
        h = min(h, max(n - 1, 0))
        train.append(np.sort(perm[: n - h]))
        held.append(perm[n - h:])
    return train, held


@dataclass(kw_only=True)
class _Stream:
    """A source's rows in draw order, epoch after epoch."""

    size: int
    source: int
    seed: int
    epoch: int = 0
    at: int = 0
    order: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    def take(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        rows, epochs = [], []
        while n > 0:
            if self.at == 0 or self.at >= self.size:
                if self.at >= self.size:
                    self.epoch, self.at = self.epoch + 1, 0
                self.order = np.random.Generator(np.random.PCG64(
                    [self.seed, 1, self.source, self.epoch])).permutation(self.size)
            got = self.order[self.at: self.at + n]
            rows.append(got)
            epochs.append(np.full(len(got), self.epoch, dtype=np.int32))
            self.at += len(got)
            n -= len(got)
        if not rows:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int32)
        return np.concatenate(rows), np.concatenate(epochs)


@dataclass(frozen=True, kw_only=True)
class Drawn:
    """One stage's rows in training order: per row, its source, the row's index among that
    source's training rows, and its epoch."""

    stage: int
    source: np.ndarray   # int32 [rows]
    row: np.ndarray      # int64 [rows]
    epoch: np.ndarray    # int32 [rows]
    counts: tuple[int, ...]   # rows per source (the apportionment)


def draw_stages(mixture: Mixture, sizes: Sequence[int], *, seq_len: int, seed: int,
                path: Path) -> list[Drawn]:
    """The rows of every stage of ``mixture`` from sources of ``sizes`` training rows."""
    spc = mixture.sequences_per_chunk
    streams = [_Stream(size=n, source=i, seed=seed) for i, n in enumerate(sizes)]
    out = []
    for s, stage in enumerate(mixture.stages):
        chunks = stage.chunk_count(spc * seq_len)
        if not chunks:
            raise SchemaError(f"a budget of {stage.tokens:,} tokens is less than one chunk "
                              f"({spc} sequences of {seq_len} tokens)", file=str(path),
                              json_path=f"$.stages[{s}].tokens",
                              hint="raise the budget or lower sequences_per_chunk")
        total = chunks * spc
        counts = apportion(total, [p.target_ratio for p in stage.sources])
        src, rows, eps = [], [], []
        for j, (part, n) in enumerate(zip(stage.sources, counts)):
            i = mixture.source_index(part.name)
            cap = math.floor(sizes[i] * part.max_repetition_ratio + 1e-9)
            if n > cap:
                need = n / sizes[i] if sizes[i] else math.inf
                raise SchemaError(
                    f"source {part.name!r} has {sizes[i]:,} training sequences of {seq_len} "
                    f"tokens; {part.target_ratio:g} of stage {stage.name!r}'s {total:,} needs "
                    f"{n:,}, more than {part.max_repetition_ratio:g} x its rows",
                    file=str(path), json_path=f"$.stages[{s}].sources[{j}].target_ratio",
                    hint=(f"lower the ratio or the stage, add data, or allow repetition with "
                          f"max_repetition_ratio: {math.ceil(need * 100) / 100:g}"
                          if sizes[i] else "the source gives no whole sequence: add data"))
            got, epochs = streams[i].take(n)
            src.append(np.full(n, i, dtype=np.int32))
            rows.append(got)
            eps.append(epochs)
        out.append(_spread(s, np.concatenate(src), np.concatenate(rows), np.concatenate(eps),
                           counts, spc=spc, seed=seed))
    return out


def _spread(s: int, src: np.ndarray, rows: np.ndarray, epochs: np.ndarray,
            counts: Sequence[int], *, spc: int, seed: int) -> Drawn:
    """The stage's rows spread evenly over its length, each chunk shuffled."""
    keys = np.concatenate([(np.arange(n) + 0.5) / n for n in counts if n])
    order = np.lexsort((src, keys))
    for c in range(len(order) // spc):
        part = order[c * spc:(c + 1) * spc]
        order[c * spc:(c + 1) * spc] = part[np.random.Generator(
            np.random.PCG64([seed, 2, s, c])).permutation(spc)]
    return Drawn(stage=s, source=src[order], row=rows[order], epoch=epochs[order],
                 counts=tuple(counts))
