"""DeepSpeed backend (ZeRO 1 and 2): the same model, torch AdamW and loop body as plain torch.

bf16 runs through DeepSpeed's ``torch_autocast`` (fp32 weights, bf16 compute), never DeepSpeed's
bf16 mode, so a bf16 run means the same on both backends. State moves in and out as full fp32
tensors per parameter (``safe_get_full_*`` / ``safe_set_full_*``), which makes checkpoints
independent of the number of processes. DeepSpeed's own ``.pt`` checkpoints are never written.
"""

from __future__ import annotations

import sys

import numpy as np
import torch

from llm360.errors import InputError, TrainingError
from llm360.train.backends import adamw_param_groups, lm_loss, micro_batches, split_batch
from llm360.train.config import TrainConfig
from llm360.train.device import attention_context

__all__ = ["init_distributed", "DeepSpeedBackend", "engine_config", "check_version", "SUPPORTED"]


#: the DeepSpeed releases whose ZeRO 1/2 internals (the fp32 partitions and the lazy linking of
#: Adam moments used to move state in and out) and ``torch_autocast`` this backend was checked
#: against; setup.cfg declares the same range
SUPPORTED = ((0, 17, 2), (0, 20, 0))


def _version_tuple(text: str) -> tuple[int, ...]:
    parts = []
    for piece in text.split("+")[0].split(".")[:3]:
        digits = "".join(ch for ch in piece if ch.isdigit()) or "0"
        parts.append(int(digits))
    return tuple(parts + [0] * (3 - len(parts)))


def check_version(version: str) -> None:
    """Refuse a DeepSpeed release outside the supported range, clearly (exit 2)."""
    low, high = SUPPORTED
    if not low <= _version_tuple(version) < high:
        raise InputError(f"deepspeed {version} is not supported by the deepspeed backend "
                         f"(supported: >={'.'.join(map(str, low))},<"
                         f"{'.'.join(map(str, high))})",
                         hint="pip install 'deepspeed>=0.17.2,<0.20' (CI and the demo use "
                              "0.19.8)")


def _import_deepspeed():
    try:
        import deepspeed
    except ImportError as exc:
        raise InputError("the deepspeed backend needs the deepspeed package",
                         hint="pip install 'llm360[train]'") from exc
    check_version(deepspeed.__version__)
    return deepspeed


def init_distributed(*, skip_shm_op: bool = False, device: torch.device | None = None
                     ) -> tuple[int, int]:
    """Join (or start) the process group; (rank, world size). NCCL on CUDA, gloo (or oneCCL)
    on the CPU, as DeepSpeed's accelerator says.

    ``skip_shm_op`` avoids DeepSpeed's one-off C++ build of its CPU shared-memory collective
    (35-60 s); gloo's collectives are used instead.
    """
    deepspeed = _import_deepspeed()
    import torch.distributed as dist
    from deepspeed.accelerator import get_accelerator

    accel = get_accelerator().device_name()
    if device is not None and device.type != accel:
        raise InputError(f"--device {device.type}, but DeepSpeed's accelerator is {accel}",
                         hint=f"set DS_ACCELERATOR={device.type} or pick --device {accel}")
    if skip_shm_op:
        sys.modules["deepspeed.comm.torch"].build_shm_op = lambda: None
    if not dist.is_initialized():
        backend = get_accelerator().communication_backend_name()
        if backend == "ccl":
            try:
                import oneccl_bindings_for_pytorch  # noqa: F401
            except ImportError:
                backend = "gloo"
        deepspeed.init_distributed(dist_backend=backend, auto_mpi_discovery=False)
    return dist.get_rank(), dist.get_world_size()


def engine_config(user: dict, cfg: TrainConfig) -> dict:
    """The DeepSpeed config: the user's (ZeRO and engine options) plus the run's batch, clipping
    and precision, which must come from the llm360 config so both backends agree."""
    for key in ("optimizer", "scheduler"):
        if key in user:
            raise TrainingError(f"DeepSpeed config: '{key}' is set by llm360 (AdamW with "
                                "warmup+cosine from config/train.json); remove it")
    for key in ("bf16", "fp16"):
        if user.get(key, {}).get("enabled"):
            raise TrainingError(f"DeepSpeed config: '{key}' mode is not supported",
                                hint="use --precision bf16 (torch autocast, fp32 master weights)")
    out = dict(user)
    stage = int(out.get("zero_optimization", {}).get("stage", 2))
    if stage not in (1, 2):
        raise TrainingError(f"DeepSpeed ZeRO stage {stage} is not supported; use 1 or 2")
    out["zero_optimization"] = {**out.get("zero_optimization", {}), "stage": stage}
    out["train_batch_size"] = cfg.batch_size
    out["train_micro_batch_size_per_gpu"] = cfg.micro_rows
    out["gradient_accumulation_steps"] = cfg.accumulation_steps
    out["gradient_clipping"] = cfg.grad_clip
    out.setdefault("steps_per_print", 10**9)
    if cfg.precision == "bf16":
        out["torch_autocast"] = {"enabled": True, "dtype": "bfloat16"}
    return out


class DeepSpeedBackend:
    def __init__(self, model: torch.nn.Module, cfg: TrainConfig, ds_config: dict) -> None:
        deepspeed = _import_deepspeed()
        import torch.distributed as dist

        self.dist = dist
        self.cfg = cfg
        self.rank, self.world_size = dist.get_rank(), dist.get_world_size()
        opt = torch.optim.AdamW(adamw_param_groups(model, cfg.weight_decay), lr=cfg.lr,
                                betas=(cfg.beta1, cfg.beta2), eps=cfg.eps, foreach=False)
        self.engine, self.opt, _, _ = deepspeed.initialize(model=model, optimizer=opt,
                                                           config=engine_config(ds_config, cfg))
        for attr in ("single_partition_of_fp32_groups", "_lazy_init_hp_params_optimizer_state",
                     "update_lp_params"):
            if not hasattr(self.opt, attr):
                raise InputError(f"deepspeed {deepspeed.__version__}: the ZeRO optimizer has no "
                                 f"{attr}; checkpoints cannot be exported or imported",
                                 hint="use a DeepSpeed release in the supported range "
                                      "(>=0.17.2,<0.20)")
        self.module = self.engine.module
        self.device = self.engine.device
        self.per_rank = cfg.batch_size // self.world_size

    def step(self, batch: np.ndarray, lr: float) -> tuple[float, float]:
        """One optimizer step: this rank's slice of the global batch, in micro-batches that
        DeepSpeed accumulates (it scales each loss by 1 / accumulation steps and steps the
        optimizer at the boundary)."""
        mine = batch[self.rank * self.per_rank:(self.rank + 1) * self.per_rank]
        for group in self.opt.param_groups:
            group["lr"] = lr
        total = torch.zeros((), device=self.device)
        for part in micro_batches(mine, self.cfg.micro_rows):
            x, y = split_batch(part, self.device)
            with attention_context(self.cfg.deterministic, self.device):
                loss = lm_loss(self.engine(x), y)
            self.engine.backward(loss)
            self.engine.step()
            total += loss.detach() * (len(part) / len(mine))
        self.dist.all_reduce(total)
        norm = self.engine.get_global_grad_norm()
        norm = float(norm.item() if torch.is_tensor(norm) else (norm or 0.0))
        return float(total.item()) / self.world_size, norm

    def _adam_step(self) -> torch.Tensor | None:
        flat = self.opt.single_partition_of_fp32_groups[0]
        st = self.opt.optimizer.state.get(flat)
        return None if not st else st["step"]

    def export_state(self) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
        """Full fp32 weights and moments; a collective: every rank must call it."""
        from deepspeed.utils import safe_get_full_fp32_param, safe_get_full_optimizer_state

        step = self._adam_step()
        if step is not None:  # (re)link the Adam moments: DeepSpeed may have linked them empty
            self.opt._hp_optimizer_states_linked = False
            self.opt._lazy_init_hp_params_optimizer_state()
        model, optim = {}, {}
        for n, p in self.module.named_parameters():
            model[n] = safe_get_full_fp32_param(p).detach().cpu().clone()
            if step is None:
                continue
            for key in ("exp_avg", "exp_avg_sq"):
                optim[f"{n}.{key}"] = safe_get_full_optimizer_state(p, key).detach().cpu().clone()
            optim[f"{n}.step"] = step.detach().cpu().to(torch.float32).reshape(()).clone()
        return model, optim

    def import_state(self, model: dict[str, torch.Tensor],
                     optimizer: dict[str, torch.Tensor]) -> None:
        from deepspeed.utils import safe_set_full_fp32_param, safe_set_full_optimizer_state

        names = [n for n, _ in self.module.named_parameters()]
        if sorted(names) != sorted(model):
            raise InputError("the checkpoint's weights do not fit the model (parameter names "
                             "differ)")
        zopt = self.opt
        steps = [optimizer[k] for k in optimizer if k.endswith(".step")]
        if steps:
            for flat in zopt.single_partition_of_fp32_groups:
                zopt.optimizer.state[flat] = {"step": steps[0].clone().to(torch.float32),
                                              "exp_avg": torch.zeros_like(flat),
                                              "exp_avg_sq": torch.zeros_like(flat)}
            zopt._hp_optimizer_states_linked = False
            zopt._lazy_init_hp_params_optimizer_state()
        for n, p in self.module.named_parameters():
            safe_set_full_fp32_param(p, model[n].to(torch.float32))
            if steps:
                for key in ("exp_avg", "exp_avg_sq"):
                    safe_set_full_optimizer_state(p, optimizer[f"{n}.{key}"].to(torch.float32),
                                                  key)
        zopt.update_lp_params()
        if steps:
            self.engine.global_steps = int(steps[0].item())
            self.engine.global_samples = self.engine.global_steps * self.cfg.batch_size

    def barrier(self) -> None:
        self.dist.barrier()

    def close(self) -> None:
        pass
