"""Single-process plain-torch backend: AdamW, gradient accumulation and clipping, optional bf16
autocast, on the CPU or one CUDA GPU."""

from __future__ import annotations

import contextlib

import numpy as np
import torch

from llm360.errors import InputError
from llm360.train.backends import adamw_param_groups, lm_loss, micro_batches, split_batch
from llm360.train.config import TrainConfig
from llm360.train.device import attention_context

__all__ = ["TorchBackend", "autocast"]


def autocast(precision: str, device: torch.device | str = "cpu"):
    """bf16 autocast on ``device`` (fp32 weights and moments), or nothing for fp32."""
    if precision == "bf16":
        return torch.autocast(torch.device(device).type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


class TorchBackend:
    rank = 0
    world_size = 1

    def __init__(self, model: torch.nn.Module, cfg: TrainConfig, *,
                 device: torch.device | str = "cpu", compile_model: bool = False) -> None:
        self.device = torch.device(device)
        self.module = model.to(self.device)
        self.cfg = cfg
        self.params = list(model.parameters())
        self.forward = torch.compile(model) if compile_model else model
        # the per-parameter loop on the CPU (the bits every CPU checkpoint so far has), the
        # multi-tensor kernels on a GPU
        self.opt = torch.optim.AdamW(adamw_param_groups(model, cfg.weight_decay), lr=cfg.lr,
                                     betas=(cfg.beta1, cfg.beta2), eps=cfg.eps,
                                     foreach=self.device.type == "cuda")

    def step(self, batch: np.ndarray, lr: float) -> tuple[float, float]:
        """One optimizer step over ``batch``; with ``micro_batch_size`` the gradients of the
        micro-batches are summed, each loss weighted by its share of the batch's rows, so the
        update is the full batch's (within float rounding)."""
        for group in self.opt.param_groups:
            group["lr"] = lr
        self.opt.zero_grad(set_to_none=True)
        total = torch.zeros((), device=self.device)
        for part in micro_batches(batch, self.cfg.micro_rows):
            x, y = split_batch(part, self.device)
            with autocast(self.cfg.precision, self.device), \
                    attention_context(self.cfg.deterministic, self.device):
                logits = self.forward(x)
            loss = lm_loss(logits, y) * (len(part) / len(batch))
            loss.backward()
            total += loss.detach()
        max_norm = self.cfg.grad_clip if self.cfg.grad_clip > 0 else float("inf")
        grad_norm = torch.nn.utils.clip_grad_norm_(self.params, max_norm)
        self.opt.step()
        return float(total.item()), float(grad_norm.item())

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
            raise InputError(f"the checkpoint's weights do not fit the model: "
                                f"{str(exc).splitlines()[0]}") from exc
        for n, p in self.module.named_parameters():
            if f"{n}.step" not in optimizer:
                continue
            self.opt.state[p] = {
                "step": optimizer[f"{n}.step"].clone().to(torch.float32).reshape(()),
                "exp_avg": optimizer[f"{n}.exp_avg"].to(p.device, p.dtype, copy=True),
                "exp_avg_sq": optimizer[f"{n}.exp_avg_sq"].to(p.device, p.dtype, copy=True),
            }

    def barrier(self) -> None:
        pass

    def close(self) -> None:
        pass
