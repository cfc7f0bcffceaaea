"""LLaMA in plain torch (RMSNorm, rotary embeddings, SwiGLU, causal attention).

Parameter names are Hugging Face's (``model.embed_tokens``, ``model.layers.N.self_attn.q_proj``,
..., ``model.norm``, ``lm_head``), so a checkpoint's ``model.safetensors`` plus ``config.json``
loads with ``transformers.AutoModelForCausalLM.from_pretrained`` and gives the same logits.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.checkpoint import checkpoint

from llm360.train.config import ModelConfig

__all__ = ["LlamaForCausalLM", "build_model", "count_parameters"]


class RMSNorm(nn.Module):
    def __init__(self, dim: int, eps: float) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        dtype = x.dtype
        h = x.to(torch.float32)
        h = h * torch.rsqrt(h.pow(2).mean(-1, keepdim=True) + self.eps)
        return self.weight * h.to(dtype)


def _rotate_half(x: torch.Tensor) -> torch.Tensor:
    x1, x2 = x.chunk(2, dim=-1)
    return torch.cat((-x2, x1), dim=-1)


class Rotary(nn.Module):
    def __init__(self, head_dim: int, theta: float) -> None:
        super().__init__()
        inv = 1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=torch.int64).float() / head_dim))
        self.register_buffer("inv_freq", inv, persistent=False)

    def forward(self, seq_len: int, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
        pos = torch.arange(seq_len, dtype=torch.float32, device=self.inv_freq.device)
        freqs = pos[:, None] * self.inv_freq.float()[None, :]
        emb = torch.cat((freqs, freqs), dim=-1)
        return emb.cos().to(dtype), emb.sin().to(dtype)


class Attention(nn.Module):
    def __init__(self, c: ModelConfig) -> None:
        super().__init__()
        self.n_heads, self.n_kv, self.head_dim = (c.num_attention_heads, c.num_key_value_heads,
                                                  c.head_dim)
        self.q_proj = nn.Linear(c.hidden_size, self.n_heads * self.head_dim, bias=False)
        self.k_proj = nn.Linear(c.hidden_size, self.n_kv * self.head_dim, bias=False)
        self.v_proj = nn.Linear(c.hidden_size, self.n_kv * self.head_dim, bias=False)
        self.o_proj = nn.Linear(self.n_heads * self.head_dim, c.hidden_size, bias=False)

    def forward(self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor,
                cache: list | None = None) -> torch.Tensor:
        b, t, _ = x.shape
        q = self.q_proj(x).view(b, t, self.n_heads, self.head_dim).transpose(1, 2)
        k = self.k_proj(x).view(b, t, self.n_kv, self.head_dim).transpose(1, 2)
        v = self.v_proj(x).view(b, t, self.n_kv, self.head_dim).transpose(1, 2)
        q = q * cos + _rotate_half(q) * sin
        k = k * cos + _rotate_half(k) * sin
        causal = True
        if cache is not None:  # greedy decoding: keys and values of the earlier positions
            if cache:
                k, v = torch.cat([cache[0], k], dim=2), torch.cat([cache[1], v], dim=2)
                causal = t > 1
            cache[:] = [k, v]
        s = k.shape[2]
        if self.n_kv != self.n_heads:
            rep = self.n_heads // self.n_kv
            k = k[:, :, None].expand(b, self.n_kv, rep, s, self.head_dim).reshape(
                b, self.n_heads, s, self.head_dim)
            v = v[:, :, None].expand(b, self.n_kv, rep, s, self.head_dim).reshape(
                b, self.n_heads, s, self.head_dim)
        out = F.scaled_dot_product_attention(q, k, v, is_causal=causal)
        return self.o_proj(out.transpose(1, 2).reshape(b, t, -1))


class MLP(nn.Module):
    def __init__(self, c: ModelConfig) -> None:
        super().__init__()
        self.gate_proj = nn.Linear(c.hidden_size, c.intermediate_size, bias=False)
        self.up_proj = nn.Linear(c.hidden_size, c.intermediate_size, bias=False)
        self.down_proj = nn.Linear(c.intermediate_size, c.hidden_size, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class DecoderLayer(nn.Module):
    def __init__(self, c: ModelConfig) -> None:
        super().__init__()
        self.input_layernorm = RMSNorm(c.hidden_size, c.rms_norm_eps)
        self.self_attn = Attention(c)
        self.post_attention_layernorm = RMSNorm(c.hidden_size, c.rms_norm_eps)
        self.mlp = MLP(c)

    def forward(self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor,
                cache: list | None = None) -> torch.Tensor:
        x = x + self.self_attn(self.input_layernorm(x), cos, sin, cache)
        return x + self.mlp(self.post_attention_layernorm(x))


class LlamaModel(nn.Module):
    def __init__(self, c: ModelConfig) -> None:
        super().__init__()
        self.embed_tokens = nn.Embedding(c.vocab_size, c.hidden_size)
        self.layers = nn.ModuleList(DecoderLayer(c) for _ in range(c.num_hidden_layers))
        self.norm = RMSNorm(c.hidden_size, c.rms_norm_eps)
        self.rotary = Rotary(c.head_dim, c.rope_theta)
        self.activation_checkpointing = False

    def forward(self, ids: torch.Tensor, caches: list[list] | None = None) -> torch.Tensor:
        x = self.embed_tokens(ids)
        start = caches[0][0].shape[2] if caches and caches[0] else 0
        cos, sin = self.rotary(start + ids.shape[1], x.dtype)
        cos, sin = cos[start:], sin[start:]
        recompute = self.activation_checkpointing and self.training and caches is None
        for i, layer in enumerate(self.layers):
            if recompute:
                x = checkpoint(layer, x, cos, sin, use_reentrant=False)
            else:
                x = layer(x, cos, sin, None if caches is None else caches[i])
        return self.norm(x)


class LlamaForCausalLM(nn.Module):
    """Token ids [batch, time] -> logits [batch, time, vocab]."""

    def __init__(self, c: ModelConfig) -> None:
        super().__init__()
        self.config = c
        self.model = LlamaModel(c)
        self.lm_head = nn.Linear(c.hidden_size, c.vocab_size, bias=False)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.lm_head(self.model(ids))

    def set_activation_checkpointing(self, enabled: bool) -> None:
        """Recompute each decoder layer's activations in the backward pass (less memory, about
        a third more compute; the same gradients)."""
        self.model.activation_checkpointing = bool(enabled)

    @torch.no_grad()
    def greedy(self, prompt: torch.Tensor, steps: int) -> torch.Tensor:
        """The ``steps`` greedy (argmax) tokens after ``prompt`` [batch, k], with a key/value
        cache: [batch, steps]."""
        caches: list[list] = [[] for _ in self.model.layers]
        logits = self.lm_head(self.model(prompt, caches))[:, -1]
        out = []
        for i in range(steps):
            nxt = logits.float().argmax(-1, keepdim=True)
            out.append(nxt)
            if i + 1 < steps:
                logits = self.lm_head(self.model(nxt, caches))[:, -1]
        return torch.cat(out, dim=1)


def build_model(c: ModelConfig, *, seed: int) -> LlamaForCausalLM:
    """A freshly initialised model; the same seed gives the same weights, bit for bit."""
    gen = torch.Generator().manual_seed(seed)
    model = LlamaForCausalLM(c)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("norm.weight"):
                p.fill_(1.0)
            else:
                p.normal_(0.0, 0.02, generator=gen)
    return model


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
