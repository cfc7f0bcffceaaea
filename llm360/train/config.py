"""Model and training configuration: frozen, keyword-only dataclasses and the named presets.

A preset gives a ``ModelConfig`` and a ``TrainConfig``; a ``--config FILE`` (JSON with optional
``"model"`` and ``"train"`` objects) overrides single fields; command-line flags override last.
The vocabulary size always comes from the run's tokenizer unless the config file sets it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llm360.errors import InputError
from llm360.registry.manifest.serialize import canonical_json

__all__ = ["ModelConfig", "TrainConfig", "PRESETS", "PRESET_REQUIREMENTS", "resolve_config",
           "read_config_file", "config_digest", "hf_config", "generation_config",
           "NUMERIC_EXCLUDE", "DEFAULT_SHARD_BYTES"]

#: Hugging Face's default ``max_shard_size`` ("5GB"): weights and optimizer files above it are
#: written as ``model-00001-of-0000N.safetensors`` shards plus an index
DEFAULT_SHARD_BYTES = 5_000_000_000


@dataclass(frozen=True, kw_only=True)
class ModelConfig:
    """A LLaMA architecture, named as Hugging Face ``LlamaConfig`` names its fields."""

    vocab_size: int
    hidden_size: int
    intermediate_size: int
    num_hidden_layers: int
    num_attention_heads: int
    num_key_value_heads: int
    max_position_embeddings: int
    rms_norm_eps: float = 1e-6
    rope_theta: float = 10000.0
    bos_token_id: int = 0
    eos_token_id: int = 0

    def __post_init__(self) -> None:
        if self.hidden_size % self.num_attention_heads:
            raise InputError(f"model: hidden_size {self.hidden_size} is not a multiple of "
                             f"num_attention_heads {self.num_attention_heads}")
        if self.num_attention_heads % self.num_key_value_heads:
            raise InputError("model: num_attention_heads must be a multiple of "
                             "num_key_value_heads")
        for f in ("vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers",
                  "max_position_embeddings"):
            if getattr(self, f) < 1:
                raise InputError(f"model: {f} must be positive")

    @property
    def head_dim(self) -> int:
        return self.hidden_size // self.num_attention_heads


@dataclass(frozen=True, kw_only=True)
class TrainConfig:
    """Every training hyperparameter (what config/train.json records)."""

    preset: str = "tiny"
    seed: int = 1234
    batch_size: int = 8             # rows per optimizer step, over all processes
    micro_batch_size: int = 0       # rows per forward/backward pass and process; 0: the whole
                                    # per-process batch (no gradient accumulation)
    activation_checkpointing: bool = False   # recompute each layer's activations in backward
    lr: float = 3e-3
    min_lr: float = 3e-4
    warmup_steps: int = 10
    weight_decay: float = 0.1
    beta1: float = 0.9
    beta2: float = 0.95
    eps: float = 1e-8
    grad_clip: float = 1.0
    precision: str = "fp32"         # fp32 | bf16 (torch autocast; fp32 weights and moments)
    backend: str = "torch"          # torch | deepspeed
    world_size: int = 1
    zero_stage: int = 0             # DeepSpeed ZeRO stage (1 or 2); 0 for the torch backend
    device: str = "cpu"             # cpu | cuda (where the run trained; resolved from --device)
    deterministic: bool = False     # deterministic algorithms (bit-exact resume on CUDA)
    max_shard_bytes: int = DEFAULT_SHARD_BYTES   # largest weights/optimizer file of a checkpoint
    eval_sequences: int = 16        # held-out rows per evaluation
    memorization_samples: int = 64  # rows sampled from every seen chunk for the memorization
                                    # score (Biderman et al. 2023, as the LLM360 paper uses it)
    memorization_prefix: int = 32   # k: prompt tokens
    memorization_suffix: int = 32   # l: greedy continuation tokens compared with the data

    def __post_init__(self) -> None:
        if self.precision not in ("fp32", "bf16"):
            raise InputError(f"train: precision {self.precision!r} is not fp32 or bf16")
        if self.backend not in ("torch", "deepspeed"):
            raise InputError(f"train: backend {self.backend!r} is not torch or deepspeed")
        if self.batch_size < 1 or self.batch_size % self.world_size:
            raise InputError(f"train: batch_size {self.batch_size} must be a positive multiple "
                             f"of the world size {self.world_size}")
        if self.micro_batch_size < 0 or (
                self.micro_batch_size and (self.batch_size // self.world_size)
                % self.micro_batch_size):
            raise InputError(f"train: micro_batch_size {self.micro_batch_size} must divide the "
                             f"per-process batch {self.batch_size // self.world_size} "
                             f"(batch_size {self.batch_size} / world size {self.world_size})")
        if self.device not in ("cpu", "cuda"):
            raise InputError(f"train: device {self.device!r} is not cpu or cuda")
        if self.max_shard_bytes < 1:
            raise InputError("train: max_shard_bytes must be positive")
        if min(self.memorization_samples, self.memorization_prefix,
               self.memorization_suffix) < 0:
            raise InputError("train: memorization_* must not be negative")
        if not 0 <= self.min_lr <= self.lr:
            raise InputError("train: need 0 <= min_lr <= lr")
        if self.warmup_steps < 0 or self.grad_clip < 0:
            raise InputError("train: warmup_steps and grad_clip must not be negative")

    @property
    def micro_rows(self) -> int:
        """Rows per forward/backward pass of one process."""
        return self.micro_batch_size or self.batch_size // self.world_size

    @property
    def accumulation_steps(self) -> int:
        """Micro-batches per optimizer step and process (gradient accumulation)."""
        return self.batch_size // self.world_size // self.micro_rows


#: fields of TrainConfig that do not change the hyperparameters (so a resume that changes only
#: these continues the same lineage instead of forking)
#: (how the batch is split, where it runs and how the files are cut change no hyperparameter)
NUMERIC_EXCLUDE = frozenset({"backend", "world_size", "zero_stage", "micro_batch_size",
                             "activation_checkpointing", "device", "deterministic",
                             "max_shard_bytes"})

_TINY = dict(vocab_size=512, hidden_size=128, intermediate_size=384, num_hidden_layers=4,
             num_attention_heads=4, num_key_value_heads=4, max_position_embeddings=128)
_SMALL = dict(vocab_size=4096, hidden_size=256, intermediate_size=688, num_hidden_layers=6,
              num_attention_heads=8, num_key_value_heads=8, max_position_embeddings=512)
# LLM360 Amber (arXiv:2312.06550): LLaMA-7B architecture, AdamW(0.9, 0.95, eps 1e-5), lr 3e-4
# to 3e-5 with 2000 warmup steps, weight decay 0.1, clipping 1.0, 2048-token sequences.
_AMBER = dict(vocab_size=32000, hidden_size=4096, intermediate_size=11008, num_hidden_layers=32,
              num_attention_heads=32, num_key_value_heads=32, max_position_embeddings=2048,
              rms_norm_eps=1e-6, bos_token_id=1, eos_token_id=2)

PRESETS: dict[str, tuple[dict, dict]] = {
    "tiny": (_TINY, dict(batch_size=8, lr=3e-3, min_lr=3e-4, warmup_steps=10)),
    "small": (_SMALL, dict(batch_size=16, lr=1e-3, min_lr=1e-4, warmup_steps=50)),
    "amber-7b": (_AMBER, dict(batch_size=2240, micro_batch_size=4, lr=3e-4, min_lr=3e-5,
                              warmup_steps=2000, eps=1e-5, eval_sequences=64,
                              precision="bf16", activation_checkpointing=True)),
}

#: what a preset needs, said before it starts (the memory check in ``train.resources`` refuses
#: a machine that cannot hold it)
PRESET_REQUIREMENTS = {
    "tiny": "any machine (about 1 M parameters; a CPU trains it in under a minute)",
    "small": "a CPU or one GPU (about 5 M parameters)",
    "amber-7b": "CUDA GPUs holding about 108 GB of fp32 weights, gradients and Adam moments "
                "plus activations: 8 x 80 GB GPUs (A100/H100) with --backend deepspeed "
                "(ZeRO 2), bf16, micro_batch_size 4 and activation checkpointing, as LLM360 "
                "Amber was trained",
}


def _override(cls: type, base: dict, extra: dict, where: str) -> dict:
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(extra) - names)
    if unknown:
        raise InputError(f"{where}: unknown field(s) {', '.join(unknown)}",
                         hint=f"known fields: {', '.join(sorted(names))}")
    return {**base, **extra}


def read_config_file(config_file: Path) -> dict:
    """``--config``: a JSON object with ``model`` and/or ``train`` fields."""
    try:
        doc = json.loads(Path(config_file).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"{config_file}: cannot read the config: {exc}") from exc
    if not isinstance(doc, dict) or set(doc) - {"model", "train"}:
        raise InputError(f"{config_file}: expected an object with 'model' and/or 'train'")
    return doc


def resolve_config(preset: str, *, config_file: Path | None = None, vocab_size: int,
                   seq_len: int, overrides: dict[str, Any] | None = None,
                   base: tuple[dict, dict] | None = None,
                   special_token_id: int | None = None) -> tuple[ModelConfig, TrainConfig]:
    """The model and train configs for ``preset`` (or ``base``: a parent checkpoint's model and
    train fields), a config file and flag overrides. ``special_token_id``: the tokenizer's
    document separator, the model's bos and eos token (unless the config file says otherwise).
    """
    if base is not None:
        model, train = dict(base[0]), dict(base[1])
    else:
        if preset not in PRESETS:
            raise InputError(f"unknown preset {preset!r}",
                             hint=f"choose one of {', '.join(PRESETS)}")
        model_base, train_base = PRESETS[preset]
        model = dict(model_base, vocab_size=vocab_size,
                     max_position_embeddings=max(model_base["max_position_embeddings"], seq_len))
        if special_token_id is not None:
            model.update(bos_token_id=special_token_id, eos_token_id=special_token_id)
        train = dict(train_base, preset=preset)
    if config_file is not None:
        doc = read_config_file(config_file)
        model = _override(ModelConfig, model, doc.get("model", {}), f"{config_file}: model")
        train = _override(TrainConfig, train, doc.get("train", {}), f"{config_file}: train")
    train = _override(TrainConfig, train, {k: v for k, v in (overrides or {}).items()
                                           if v is not None}, "options")
    try:
        mcfg, tcfg = ModelConfig(**model), TrainConfig(**train)
    except TypeError as exc:
        raise InputError(f"bad configuration: {exc}") from exc
    if mcfg.vocab_size < vocab_size:
        raise InputError(f"model vocab_size {mcfg.vocab_size} is smaller than the tokenizer's "
                         f"{vocab_size}")
    if mcfg.max_position_embeddings < seq_len:
        raise InputError(f"max_position_embeddings {mcfg.max_position_embeddings} < seq_len "
                         f"{seq_len}")
    return mcfg, tcfg


def config_digest(data: Any) -> str:
    return hashlib.sha256(canonical_json(data)).hexdigest()


def hf_config(m: ModelConfig) -> dict:
    """config.json for ``transformers`` (LlamaConfig), also written as config/model.json."""
    return {
        "architectures": ["LlamaForCausalLM"], "model_type": "llama",
        "vocab_size": m.vocab_size, "hidden_size": m.hidden_size,
        "intermediate_size": m.intermediate_size, "num_hidden_layers": m.num_hidden_layers,
        "num_attention_heads": m.num_attention_heads,
        "num_key_value_heads": m.num_key_value_heads, "head_dim": m.head_dim,
        "max_position_embeddings": m.max_position_embeddings, "rms_norm_eps": m.rms_norm_eps,
        "rope_theta": m.rope_theta,
        "rope_parameters": {"rope_theta": m.rope_theta, "rope_type": "default"},
        "hidden_act": "silu", "attention_bias": False, "mlp_bias": False,
        "attention_dropout": 0.0, "initializer_range": 0.02, "tie_word_embeddings": False,
        "bos_token_id": m.bos_token_id, "eos_token_id": m.eos_token_id,
        "torch_dtype": "float32", "use_cache": True,
    }


def generation_config(m: ModelConfig) -> dict:
    return {"bos_token_id": m.bos_token_id, "eos_token_id": m.eos_token_id,
            "do_sample": False}


def model_config_from_hf(d: dict) -> ModelConfig:
    names = {f.name for f in dataclasses.fields(ModelConfig)}
    return ModelConfig(**{k: v for k, v in d.items() if k in names})
