"""Gradient accumulation, activation checkpointing, device choice and the memory check: what
the GPU paths do, tested on the CPU."""

from __future__ import annotations

import dataclasses
import re

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from llm360.errors import InputError  # noqa: E402
from llm360.train.backends.torch_backend import TorchBackend  # noqa: E402
from llm360.train.config import ModelConfig, TrainConfig, resolve_config  # noqa: E402
from llm360.train.device import (  # noqa: E402
    check_fits,
    configure_determinism,
    memory_estimate,
    parameter_count,
    resolve_device,
)
from llm360.train.model import build_model, count_parameters  # noqa: E402

SMALL = ModelConfig(vocab_size=97, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                    num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=32)


def _batch(rows: int = 8, seq: int = 17, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, SMALL.vocab_size, (rows, seq),
                                                dtype=np.int32)


def _train(cfg: TrainConfig, steps: int = 3) -> tuple[list[float], dict]:
    backend = TorchBackend(build_model(SMALL, seed=3), cfg)
    losses = [backend.step(_batch(seed=s), lr=1e-2)[0] for s in range(steps)]
    return losses, {n: p.detach().clone() for n, p in backend.module.named_parameters()}


def test_accumulation_gives_the_full_batch_update() -> None:
    full = TrainConfig(batch_size=8)
    split = dataclasses.replace(full, micro_batch_size=2)
    assert (split.micro_rows, split.accumulation_steps) == (2, 4)
    assert (full.micro_rows, full.accumulation_steps) == (8, 1)
    losses_a, params_a = _train(full)
    losses_b, params_b = _train(split)
    assert np.allclose(losses_a, losses_b, rtol=0, atol=1e-5)
    for name, p in params_a.items():
        assert torch.allclose(p, params_b[name], rtol=0, atol=1e-5), name
    # the update is real: the weights moved
    assert not torch.equal(params_a["lm_head.weight"],
                           build_model(SMALL, seed=3).lm_head.weight)


def test_micro_batch_must_divide_the_per_process_batch() -> None:
    with pytest.raises(InputError, match="micro_batch_size 3"):
        TrainConfig(batch_size=8, micro_batch_size=3)
    with pytest.raises(InputError, match="micro_batch_size 4"):
        TrainConfig(batch_size=8, world_size=4, micro_batch_size=4)
    assert TrainConfig(batch_size=8, world_size=2, micro_batch_size=2).accumulation_steps == 2


def test_activation_checkpointing_gives_the_same_gradients() -> None:
    x = torch.from_numpy(_batch().astype(np.int64))
    grads = []
    for enabled in (False, True):
        model = build_model(SMALL, seed=1)
        model.set_activation_checkpointing(enabled)
        model(x).float().logsumexp(-1).mean().backward()
        grads.append({n: p.grad.clone() for n, p in model.named_parameters()})
    for name, g in grads[0].items():
        assert torch.allclose(g, grads[1][name], rtol=0, atol=1e-6), name


def test_greedy_with_the_cache_equals_greedy_by_recomputation() -> None:
    model = build_model(SMALL, seed=2).eval()
    prompt = torch.from_numpy(_batch(rows=3, seq=6).astype(np.int64))
    cur = prompt
    with torch.no_grad():
        for _ in range(5):
            cur = torch.cat([cur, model(cur)[:, -1].argmax(-1, keepdim=True)], dim=1)
        assert torch.equal(model.greedy(prompt, 5), cur[:, 6:])


def test_device_choice() -> None:
    assert resolve_device("cpu").type == "cpu"
    with pytest.raises(InputError, match="not auto, cpu or cuda"):
        resolve_device("tpu")
    if torch.cuda.is_available():
        assert resolve_device("auto").type == "cuda"
    else:
        assert resolve_device("auto").type == "cpu"
        with pytest.raises(InputError, match="torch sees no CUDA GPU"):
            resolve_device("cuda")
    record = configure_determinism(False, torch.device("cpu"))
    assert record == {"deterministic": False, "device": "cpu"}


def test_parameter_count_matches_the_model() -> None:
    assert parameter_count(SMALL) == count_parameters(build_model(SMALL, seed=0))
    tiny, _ = resolve_config("tiny", vocab_size=512, seq_len=128)
    assert parameter_count(tiny) == count_parameters(build_model(tiny, seed=0))


def test_amber_7b_states_what_it_needs_and_refuses_a_small_machine() -> None:
    m, t = resolve_config("amber-7b", vocab_size=32000, seq_len=2048)
    assert 6.5e9 < parameter_count(m) < 7e9
    assert t.micro_batch_size == 4 and t.activation_checkpointing and t.precision == "bf16"
    gib = 1024 ** 3
    with pytest.raises(InputError, match=r"amber-7b: 6\.\d+ B parameters need about") as exc:
        check_fits(m, t, seq_len=2048, device=torch.device("cuda"), available=80 * gib)
    assert "8 x 80 GB" in (exc.value.hint or "")
    eight = dataclasses.replace(t, world_size=8, zero_stage=2, backend="deepspeed")
    est = check_fits(m, eight, seq_len=2048, device=torch.device("cuda"), available=80 * gib)
    assert est.total < 80 * gib
    assert est.optimizer == memory_estimate(m, t, seq_len=2048).optimizer // 8
    with pytest.raises(InputError, match="CUDA GPUs only"):
        check_fits(m, eight, seq_len=2048, device=torch.device("cpu"), available=10**15)
    tiny, tt = resolve_config("tiny", vocab_size=512, seq_len=128)
    assert check_fits(tiny, tt, seq_len=128, device=torch.device("cpu")).total < gib


def test_deepspeed_outside_the_supported_range_is_refused_clearly() -> None:
    from llm360.train.backends.deepspeed_backend import SUPPORTED, check_version, engine_config

    for ok in ("0.17.2", "0.19.8", "0.19.8+cu124"):
        check_version(ok)
    for bad in ("0.16.9", "0.17.1", "0.20.0", "1.0.0"):
        with pytest.raises(InputError, match=rf"deepspeed {re.escape(bad)} is not supported"):
            check_version(bad)
    assert SUPPORTED == ((0, 17, 2), (0, 20, 0))
    cfg = engine_config({"zero_optimization": {"stage": 1}},
                        TrainConfig(batch_size=16, world_size=2, micro_batch_size=2,
                                    backend="deepspeed", zero_stage=1))
    assert (cfg["train_batch_size"], cfg["train_micro_batch_size_per_gpu"],
            cfg["gradient_accumulation_steps"]) == (16, 2, 4)
