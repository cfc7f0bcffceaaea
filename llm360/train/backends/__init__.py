"""Training backends: the same model, data and loop body on plain torch or DeepSpeed.

A backend owns the optimizer and the distributed set-up. ``step`` takes the *global* batch
(every process reads the same rows and keeps its own slice), ``export_state``/``import_state``
move full fp32 weights and Adam moments per parameter, so checkpoints are backend-neutral.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
import torch

__all__ = ["Backend", "adamw_param_groups", "split_batch", "micro_batches", "lm_loss"]


class Backend(Protocol):
    rank: int
    world_size: int
    module: torch.nn.Module

    def step(self, batch: np.ndarray, lr: float) -> tuple[float, float]: ...

    def export_state(self) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]: ...

    def import_state(self, model: dict[str, torch.Tensor],
                     optimizer: dict[str, torch.Tensor]) -> None: ...

    def barrier(self) -> None: ...

    def close(self) -> None: ...


def adamw_param_groups(model: torch.nn.Module, weight_decay: float) -> list[dict]:
    """Weight decay on matrices only (embeddings and linear layers), not on norm weights."""
    decay = [p for _, p in model.named_parameters() if p.dim() >= 2]
    rest = [p for _, p in model.named_parameters() if p.dim() < 2]
    return [{"params": decay, "weight_decay": weight_decay},
            {"params": rest, "weight_decay": 0.0}]


def split_batch(batch: np.ndarray, device: torch.device | str = "cpu"
                ) -> tuple[torch.Tensor, torch.Tensor]:
    """Inputs and next-token targets of a [rows, seq_len] int32 batch, on ``device``."""
    ids = torch.from_numpy(np.ascontiguousarray(batch, dtype=np.int64))
    if torch.device(device).type != "cpu":
        ids = ids.pin_memory().to(device, non_blocking=True)
    return ids[:, :-1], ids[:, 1:]


def micro_batches(batch: np.ndarray, rows: int) -> list[np.ndarray]:
    """``batch`` cut into consecutive micro-batches of ``rows`` rows (the data order kept)."""
    return [batch[i:i + rows] for i in range(0, len(batch), rows)]


def lm_loss(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    return torch.nn.functional.cross_entropy(logits.float().reshape(-1, logits.shape[-1]),
                                             targets.reshape(-1))
