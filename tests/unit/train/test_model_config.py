"""Configs, presets, the LR schedule and the LLaMA model (HF names, HF logits)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from llm360.errors import InputError  # noqa: E402
from llm360.registry.manifest.schema import validate  # noqa: E402
from llm360.train.config import PRESETS, TrainConfig, generation_config, hf_config, resolve_config  # noqa: E402
from llm360.train.loop import lr_at  # noqa: E402
from llm360.train.model import build_model, count_parameters  # noqa: E402


def test_presets_resolve_and_tiny_is_about_a_million_parameters() -> None:
    for name in PRESETS:
        m, t = resolve_config(name, vocab_size=512, seq_len=128)
        validate(hf_config(m), "model_config", source=name)
        assert t.preset == name
    m, _ = resolve_config("tiny", vocab_size=512, seq_len=128)
    assert 900_000 < count_parameters(build_model(m, seed=0)) < 1_100_000
    amber, t = resolve_config("amber-7b", vocab_size=512, seq_len=2048)
    assert (amber.hidden_size, amber.num_hidden_layers) == (4096, 32)
    assert amber.intermediate_size == 11008
    assert amber.vocab_size == 512  # the vocabulary always comes from the run's tokenizer


def test_config_file_and_flag_overrides(tmp_path: Path) -> None:
    cfg = tmp_path / "c.json"
    cfg.write_text(json.dumps({"model": {"num_hidden_layers": 2}, "train": {"lr": 1e-3}}))
    m, t = resolve_config("tiny", config_file=cfg, vocab_size=512, seq_len=128,
                          overrides={"precision": "bf16", "seed": None})
    assert m.num_hidden_layers == 2 and t.lr == 1e-3 and t.precision == "bf16"
    assert t.seed == TrainConfig().seed
    cfg.write_text(json.dumps({"train": {"learning_rate": 1}}))
    with pytest.raises(InputError, match="unknown field"):
        resolve_config("tiny", config_file=cfg, vocab_size=512, seq_len=128)
    with pytest.raises(InputError, match="unknown preset"):
        resolve_config("huge", vocab_size=512, seq_len=128)
    with pytest.raises(InputError, match="precision"):
        resolve_config("tiny", vocab_size=512, seq_len=128, overrides={"precision": "fp8"})


def test_lr_is_warmup_then_cosine() -> None:
    t = TrainConfig(lr=1.0, min_lr=0.1, warmup_steps=4)
    lrs = [lr_at(s, t, 20) for s in range(20)]
    assert lrs[:4] == [0.25, 0.5, 0.75, 1.0]
    assert all(a >= b for a, b in zip(lrs[3:], lrs[4:]))
    assert lrs[-1] >= 0.1 and abs(lr_at(20, t, 20) - 0.1) < 1e-12


def test_model_uses_hf_names_and_is_seeded() -> None:
    m, _ = resolve_config("tiny", vocab_size=300, seq_len=64, config_file=None)
    a, b = build_model(m, seed=1), build_model(m, seed=1)
    names = [n for n, _ in a.named_parameters()]
    assert names[0] == "model.embed_tokens.weight" and names[-1] == "lm_head.weight"
    assert "model.layers.3.self_attn.q_proj.weight" in names
    assert "model.layers.0.mlp.gate_proj.weight" in names and "model.norm.weight" in names
    assert all(torch.equal(x, y) for x, y in zip(a.parameters(), b.parameters()))


def test_checkpoint_loads_in_transformers_with_equal_logits(tmp_path: Path) -> None:
    transformers = pytest.importorskip("transformers")
    from safetensors.torch import save_file

    m, _ = resolve_config("tiny", vocab_size=300, seq_len=64, config_file=None)
    import dataclasses
    m = dataclasses.replace(m, num_key_value_heads=2)  # exercise grouped-query attention too
    model = build_model(m, seed=3).eval()
    save_file({k: v.contiguous() for k, v in model.state_dict().items()},
              str(tmp_path / "model.safetensors"), metadata={"format": "pt"})
    (tmp_path / "config.json").write_text(json.dumps(hf_config(m)))
    (tmp_path / "generation_config.json").write_text(json.dumps(generation_config(m)))
    hf = transformers.AutoModelForCausalLM.from_pretrained(tmp_path).eval()
    ids = torch.randint(0, 300, (2, 50), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        diff = (hf(ids).logits - model(ids)).abs().max().item()
    assert diff < 1e-5
