"""Where a run trains: device choice, deterministic mode, what the accelerator is, and whether a
configuration fits in its memory.

``--device auto`` is CUDA when torch sees a GPU and the CPU otherwise. On CUDA the model, the
optimizer state and every batch live on the GPU (``cuda:LOCAL_RANK`` under a launcher); bf16
runs as autocast with fp32 weights and moments, as on the CPU. The deterministic mode sets what
bit-exact replay needs on CUDA (deterministic algorithms, a fixed cuBLAS workspace, no TF32,
the math attention kernel); on the CPU the loop is deterministic anyway.
"""

from __future__ import annotations

import contextlib
import os
import resource
import subprocess
from dataclasses import dataclass

import torch

from llm360.errors import InputError
from llm360.train.config import PRESET_REQUIREMENTS, ModelConfig, TrainConfig

__all__ = ["resolve_device", "configure_determinism", "attention_context", "accelerator_info",
           "memory_estimate", "check_fits", "MemoryEstimate", "device_available_bytes",
           "replay_notes", "peak_memory", "parameter_count"]

#: presets that refuse the CPU whatever its memory (a 7 B model would train for years there)
GPU_PRESETS = frozenset({"amber-7b"})

#: cuBLAS needs a fixed workspace for reproducible GEMMs (set before the first cuBLAS call)
CUBLAS_WORKSPACE = ":4096:8"


def resolve_device(requested: str, *, local_rank: int = 0) -> torch.device:
    """``auto`` | ``cpu`` | ``cuda`` -> a torch device; ``cuda`` without a GPU is bad input."""
    if requested not in ("auto", "cpu", "cuda"):
        raise InputError(f"--device {requested!r} is not auto, cpu or cuda")
    if requested == "cpu" or (requested == "auto" and not torch.cuda.is_available()):
        return torch.device("cpu")
    if not torch.cuda.is_available():
        raise InputError("--device cuda: torch sees no CUDA GPU",
                         hint=f"torch {torch.__version__} (CUDA build: "
                              f"{torch.version.cuda or 'none'}); use --device cpu, or install "
                              "a CUDA build of torch")
    index = local_rank % torch.cuda.device_count()
    torch.cuda.set_device(index)
    return torch.device("cuda", index)


def configure_determinism(enabled: bool, device: torch.device) -> dict:
    """Switch the deterministic mode on (or leave torch's defaults); the record of the mode
    that trainer_state.json keeps."""
    if enabled:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", CUBLAS_WORKSPACE)
        # warn_only: an op without a deterministic kernel warns instead of ending a long run;
        # the resume check (benchmarks/bench_train.py) shows whether the bits hold
        torch.use_deterministic_algorithms(True, warn_only=True)
        torch.backends.cudnn.deterministic = True
        torch.backends.cudnn.benchmark = False
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
    record = {"deterministic": bool(enabled), "device": device.type}
    if device.type == "cuda":
        record["gpu"] = torch.cuda.get_device_name(device)
        record["cublas_workspace_config"] = os.environ.get("CUBLAS_WORKSPACE_CONFIG")
        record["attention"] = "math" if enabled else "default (flash / memory-efficient)"
    return record


def attention_context(deterministic: bool, device: torch.device):
    """The attention kernels a forward pass may use: on CUDA in deterministic mode only the
    math kernel (the fused kernels' backward passes accumulate in a varying order)."""
    if not (deterministic and device.type == "cuda"):
        return contextlib.nullcontext()
    from torch.nn.attention import SDPBackend, sdpa_kernel

    return sdpa_kernel([SDPBackend.MATH])


def _nvidia_smi(query: str) -> list[str]:
    try:
        out = subprocess.run(["nvidia-smi", f"--query-gpu={query}", "--format=csv,noheader"],
                             capture_output=True, text=True, timeout=20, check=False)
    except (OSError, subprocess.SubprocessError):
        return []
    return [line.strip() for line in out.stdout.splitlines() if line.strip()] \
        if out.returncode == 0 else []


def accelerator_info() -> dict | None:
    """GPU models, memory, driver, CUDA, cuDNN and NCCL versions; None without CUDA."""
    if not torch.cuda.is_available():
        return None
    gpus = []
    for i in range(torch.cuda.device_count()):
        props = torch.cuda.get_device_properties(i)
        gpus.append({"name": props.name, "memory_bytes": int(props.total_memory),
                     "compute_capability": f"{props.major}.{props.minor}"})
    nccl = None
    try:
        v = torch.cuda.nccl.version()
        nccl = ".".join(str(x) for x in v) if isinstance(v, tuple) else str(v)
    except (AttributeError, RuntimeError):
        pass
    driver = _nvidia_smi("driver_version")
    return {"gpus": gpus, "driver": driver[0] if driver else None, "cuda": torch.version.cuda,
            "cudnn": str(torch.backends.cudnn.version()) if torch.backends.cudnn.is_available()
            else None, "nccl": nccl}


@dataclass(frozen=True, kw_only=True)
class MemoryEstimate:
    """Bytes one process needs: fp32 weights, gradients, Adam moments and activations."""

    parameters: int
    weights: int
    gradients: int
    optimizer: int
    activations: int

    @property
    def total(self) -> int:
        return self.weights + self.gradients + self.optimizer + self.activations


def parameter_count(m: ModelConfig) -> int:
    h, layers = m.hidden_size, m.num_hidden_layers
    kv = m.num_key_value_heads * m.head_dim
    per_layer = 2 * h * h + 2 * h * kv + 3 * h * m.intermediate_size + 2 * h
    return 2 * m.vocab_size * h + layers * per_layer + h


def memory_estimate(m: ModelConfig, t: TrainConfig, *, seq_len: int) -> MemoryEstimate:
    """A lower bound of the memory of one process (ZeRO 1 shards the moments, ZeRO 2 also the
    gradients; activations after Korthikanti et al. 2022, 2 bytes a value in bf16)."""
    p = parameter_count(m)
    world = t.world_size
    act_bytes = 2 if t.precision == "bf16" else 4
    b, s, h = t.micro_rows, seq_len, m.hidden_size
    per_layer = s * b * h * 34 + 5 * m.num_attention_heads * s * s * b  # values, bytes/2
    if t.activation_checkpointing:
        acts = m.num_hidden_layers * s * b * h * act_bytes + per_layer * act_bytes // 2
    else:
        acts = m.num_hidden_layers * per_layer * act_bytes // 2
    acts += 2 * b * s * m.vocab_size * 4  # logits and their gradient in fp32
    return MemoryEstimate(parameters=p, weights=4 * p,
                          gradients=4 * p // (world if t.zero_stage >= 2 else 1),
                          optimizer=8 * p // (world if t.zero_stage >= 1 else 1),
                          activations=acts)


def device_available_bytes(device: torch.device) -> int:
    if device.type == "cuda":
        return int(torch.cuda.get_device_properties(device).total_memory)
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        return 0


def check_fits(m: ModelConfig, t: TrainConfig, *, seq_len: int, device: torch.device,
               available: int | None = None) -> MemoryEstimate:
    """Refuse (exit 2) a configuration whose estimate exceeds the device's memory, before
    anything is allocated; the message says what the preset needs."""
    est = memory_estimate(m, t, seq_len=seq_len)
    have = device_available_bytes(device) if available is None else available
    gpu_only = t.preset in GPU_PRESETS and device.type != "cuda"
    if gpu_only or (have and est.total > have):
        gib = 1024 ** 3
        needs = PRESET_REQUIREMENTS.get(t.preset, "")
        where = ("it trains on CUDA GPUs only" if gpu_only
                 else f"this {device.type} has {have / gib:,.0f} GiB")
        raise InputError(
            f"preset {t.preset}: {est.parameters / 1e9:.2f} B parameters need about "
            f"{est.total / gib:,.0f} GiB per process (weights {est.weights / gib:,.0f}, "
            f"gradients {est.gradients / gib:,.0f}, Adam moments {est.optimizer / gib:,.0f}, "
            f"activations {est.activations / gib:,.0f}) with world size {t.world_size} and "
            f"ZeRO stage {t.zero_stage}; {where}",
            hint=f"{t.preset} needs {needs}" if needs else
            "lower micro_batch_size, turn on activation checkpointing or add processes")
    return est


def replay_notes(parent_state: dict, now: dict) -> list[str]:
    """Why the next checkpoints may differ from a replay of the parent's line, if they may."""
    before = parent_state.get("determinism")
    if before is None:
        return []
    notes = []
    for key, what in (("device", "device"), ("gpu", "GPU model"), ("world_size", "world size")):
        if before.get(key) != now.get(key):
            notes.append(f"the parent trained with {what} {before.get(key)}, this run with "
                         f"{now.get(key)}: the next checkpoints are not byte-identical to the "
                         "parent line's")
    if now["device"] == "cuda" and not now["deterministic"]:
        notes.append("CUDA without --deterministic: a replay may differ in the last bits")
    return notes


def peak_memory(device: torch.device) -> int:
    """Peak memory so far: allocated on the GPU, or the process's resident set on the CPU."""
    if device.type == "cuda":
        return int(torch.cuda.max_memory_allocated(device))
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024
