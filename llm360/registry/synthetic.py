"""A synthetic run directory (v1) written without torch, for tests and benchmarks.

Every record is valid and consistent (chunk hashes, Merkle roots, parent root digests), so it
builds and verifies like a trained run; the tensors are random numbers, not a trained model.
"""

from __future__ import annotations

import hashlib
import io
import os
import platform
import sys
from pathlib import Path

import numpy as np
from safetensors.numpy import save as st_save

from llm360.registry import merkle
from llm360.registry.hashing import root_digest
from llm360.registry.merkle import rows_merkle_root
from llm360.registry.serialize import canonical_json

__all__ = ["write_synthetic_run"]

METADATA = """\
name: synthetic-tiny
version: 0.1.0
description: A synthetic run written by llm360's test helpers.
authors: [llm360 tests]
language: [code]
licenses: {weights: Apache-2.0, code: Apache-2.0, data: PSF-2.0, documentation: CC-BY-4.0}
links: {code: "https://example.org/llm360"}
"""


def _write(path: Path, raw: bytes) -> None:
    """Write unless the file already holds exactly these bytes (so a rerun that adds
    checkpoints leaves the existing files, and their hash-cache entries, untouched)."""
    try:
        if path.stat().st_size == len(raw) and path.read_bytes() == raw:
            return
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(raw)
    os.replace(tmp, path)


def _json(path: Path, data) -> None:
    _write(path, canonical_json(data))


def write_synthetic_run(root: Path, *, checkpoints: int = 3, seq_len: int = 16,
                        rows: int = 8, weight_bytes: int = 4096, extra_files: int = 0,
                        seed: int = 0) -> Path:
    """Write a consistent run with one data chunk per checkpoint; returns ``root``.

    Each chunk and checkpoint is a pure function of (seed, k): calling this again with more
    checkpoints on the same folder adds new files and leaves the existing ones as they are.
    """
    root = Path(root)
    _write(root / "llm360.yaml", METADATA.encode())
    _json(root / "config/model.json", {
        "architectures": ["LlamaForCausalLM"], "model_type": "llama", "vocab_size": 256,
        "hidden_size": 8, "num_hidden_layers": 1, "num_attention_heads": 1})
    _json(root / "config/train.json", {"backend": "torch", "precision": "fp32", "world_size": 1,
                                       "seed": seed, "lr": 0.001})
    _json(root / "config/data.json", {"seq_len": seq_len, "num_chunks": checkpoints,
                                      "seed": seed})
    _json(root / "tokenizer/tokenizer.json", {"model": {"type": "synthetic-bytes"}})
    chunks = []
    for k in range(checkpoints):
        rng = np.random.default_rng([seed, 0, k])
        tokens = rng.integers(0, 256, size=(rows, seq_len), dtype=np.int32)
        raw = st_save({"tokens": tokens}, metadata={"format": "pt"})
        rel = f"data/chunk_{k:03d}.safetensors"
        _write(root / rel, raw)
        chunks.append({"index": k, "path": rel, "sha256": hashlib.sha256(raw).hexdigest(),
                       "sequences": rows, "tokens": rows * seq_len,
                       "merkle_root": rows_merkle_root(tokens, merkle.DEFAULT_FORMAT),
                       "sources": [f"doc-{k}"]})
    _json(root / "data/index.json", {"schema_version": "llm360.data_index/v1",
                                     "seq_len": seq_len, "dtype": "int32",
                                     "merkle": merkle.DEFAULT_FORMAT, "chunks": chunks})
    parent: tuple[str, str] | None = None
    n_weights = max(1, weight_bytes // 4)
    log = io.BytesIO()
    for k in range(checkpoints):
        name = f"ckpt_{k:03d}"
        rng = np.random.default_rng([seed, 1, k])
        folder = root / "checkpoints" / name
        step = (k + 1) * 4
        weights = {"model.embed_tokens.weight": rng.standard_normal(n_weights,
                                                                   dtype=np.float32)}
        files = {
            "model.safetensors": st_save(weights, metadata={"format": "pt"}),
            "optimizer.safetensors": st_save(
                {"model.embed_tokens.weight.exp_avg": np.zeros(4, np.float32),
                 "model.embed_tokens.weight.exp_avg_sq": np.zeros(4, np.float32),
                 "model.embed_tokens.weight.step": np.array([step], np.float32)},
                metadata={"format": "pt"}),
            "rng.safetensors": st_save({"torch": np.arange(16, dtype=np.uint8)},
                                       metadata={"format": "pt"}),
            "config.json": canonical_json({"architectures": ["LlamaForCausalLM"]}),
            "generation_config.json": canonical_json({"max_length": seq_len}),
            "trainer_state.json": canonical_json({
                "schema_version": "llm360.trainer_state/v1", "checkpoint": name,
                "step": step, "tokens_seen": step * 2 * seq_len, "data_chunks": [k],
                "position": {"chunk": k + 1, "row": 0},
                "parents": [] if parent is None else [{"name": parent[0],
                                                       "root_digest": parent[1]}],
                "schedule": {"lr": 0.001}, "metrics": {"train_loss": 5.0 - k * 0.5}}),
        }
        for i in range(extra_files):
            files[f"extra_{i}.json"] = canonical_json({"i": i, "checkpoint": name})
        for fname, raw in files.items():
            _write(folder / fname, raw)
        parent = (name, root_digest((f, hashlib.sha256(b).hexdigest())
                                    for f, b in files.items()))
        _json(root / f"evals/{name}.json", {
            "schema_version": "llm360.eval/v1", "checkpoint": name, "step": step,
            "tokens_seen": step * 2 * seq_len,
            "metrics": {"heldout_loss": 5.2 - k * 0.4, "heldout_perplexity": 180.0 / (k + 1),
                        "memorization": 0.0, "next_token_accuracy": 0.1 * (k + 1)}})
        for s in range(step - 3, step + 1):
            log.write(canonical_json({"step": s, "loss": 5.5 - s * 0.05, "lr": 0.001,
                                      "grad_norm": 1.0, "tokens_per_s": 1000.0,
                                      "tokens_seen": s * 2 * seq_len,
                                      "peak_memory_bytes": 1 << 20}) + b"\n")
    _write(root / "logs/train.jsonl", log.getvalue())
    _json(root / "code/provenance.json", {
        "schema_version": "llm360.provenance/v1",
        "code": {"repository": None, "commit": None, "dirty": None},
        "packages": {"numpy": np.__version__},
        "environment": {"python": platform.python_version(),
                        "platform": f"{sys.platform}-{platform.machine()}",
                        "hardware": f"{os.cpu_count()} CPU"}})
    return root
