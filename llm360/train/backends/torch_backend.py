"""Single-process plain-torch backend: AdamW, gradient clipping, optional bf16 autocast."""

from __future__ import annotations

import contextlib

import numpy as np
import torch

from llm360.errors import TrainingError
from llm360.train.backends import adamw_param_groups, lm_loss, split_batch
from llm360.train.config import TrainConfig

__all__ = ["TorchBackend", "autocast"]


def autocast(precision: str):
    if precision == "bf16":
        device = "cuda" if torch.cuda.is_available() else "cpu"
        return torch.autocast(device, dtype=torch.bfloat16)
    return contextlib.nullcontext()


class TorchBackend:
    rank = 0
    world_size = 1

    def __init__(self, model: torch.nn.Module, cfg: TrainConfig) -> None:
        self.module = model
        self.cfg = cfg
        self.params = list(model.parameters())
        self.names = {p: n for n, p in model.named_parameters()}
        self.opt = torch.optim.AdamW(adamw_param_groups(model, cfg.weight_decay), lr=cfg.lr,
                                     betas=(cfg.beta1, cfg.beta2), eps=cfg.eps, foreach=False)

    def step(self, batch: np.ndarray, lr: float) -> tuple[float, float]:
        x, y = split_batch(batch)
        for group in self.opt.param_groups:
            group["lr"] = lr
        with autocast(self.cfg.precision):
            logits = self.module(x)
        loss = lm_loss(logits, y)
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        max_norm = self.cfg.grad_clip if self.cfg.grad_clip > 0 else float("inf")
        grad_norm = torch.nn.utils.clip_grad_norm_(self.params, max_norm)
        self.opt.step()
        return float(loss.item()), float(grad_norm.item())

    def export_state(self) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
        model = {n: p.detach() for n, p in self.module.named_parameters()}
        optim: dict[str, torch.Tensor] = {}
        for n, p in self.module.named_parameters():
            st = self.opt.state.get(p)
            if not st:
                continue
            optim[f"{n}.exp_avg"] = st["exp_avg"]
            optim[f"{n}.exp_avg_sq"] = st["exp_avg_sq"]
            optim[f"{n}.step"] = st["step"].to(torch.float32).reshape(())
        return model, optim

    def import_state(self, model: dict[str, torch.Tensor],
                     optimizer: dict[str, torch.Tensor]) -> None:
        try:
            self.module.load_state_dict(model, strict=True)
        except RuntimeError as exc:
            raise TrainingError(f"the checkpoint's weights do not fit the model: "
                                f"{str(exc).splitlines()[0]}") from exc
        for n, p in self.module.named_parameters():
            if f"{n}.step" not in optimizer:
                continue
            self.opt.state[p] = {
                "step": optimizer[f"{n}.step"].clone().to(torch.float32).reshape(()),
                "exp_avg": optimizer[f"{n}.exp_avg"].clone().to(p.dtype),
                "exp_avg_sq": optimizer[f"{n}.exp_avg_sq"].clone().to(p.dtype),
            }

    def barrier(self) -> None:
        pass

    def close(self) -> None:
        pass
