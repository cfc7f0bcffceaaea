"""A synthetic run directory (v1) written through ``RunWriter`` without torch: a test and
benchmark helper (tests import it as ``_synthetic``; benchmarks put ``tests/`` on sys.path).

Every record is valid and consistent (chunk hashes, Merkle roots, parent root digests), so it
builds and verifies like a trained run; the tensors are random numbers, not a trained model.
"""

from __future__ import annotations

import os
import platform
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from llm360.registry import layout
from llm360.registry.manifest.serialize import canonical_json
from llm360.registry.run.records import CodeInfo, EnvironmentInfo, Provenance
from llm360.registry.run.writer import RunWriter

__all__ = ["write_synthetic_run", "METADATA"]

METADATA = b"""\
name: synthetic-tiny
version: 0.1.0
description: A synthetic run written by llm360's test helpers.
authors: [llm360 tests]
language: [code]
licenses: {weights: Apache-2.0, code: Apache-2.0, data: PSF-2.0, documentation: CC-BY-4.0}
links: {code: "https://example.org/llm360"}
"""


def write_synthetic_run(root: Path, *, checkpoints: int = 3, seq_len: int = 16,
                        rows: int = 8, weight_bytes: int = 4096, extra_files: int = 0,
                        seed: int = 0, names: Sequence[str] | None = None) -> Path:
    """Write a consistent run with one data chunk per checkpoint; returns ``root``.

    Each chunk and checkpoint is a pure function of (seed, k): calling this again with more
    checkpoints on the same folder adds new files and leaves the existing ones as they are.
    ``names`` names the checkpoints (default ``ckpt_000``, ``ckpt_001``, ...).
    """
    root = Path(root)
    if (root / layout.RUN_METADATA).is_file():
        w = RunWriter.open(root)
    else:
        w = RunWriter.create(
            root, metadata=METADATA,
            model_config={"architectures": ["LlamaForCausalLM"], "model_type": "llama",
                          "vocab_size": 256, "hidden_size": 8, "num_hidden_layers": 1,
                          "num_attention_heads": 1},
            train_config={"backend": "torch", "precision": "fp32", "world_size": 1,
                          "seed": seed, "lr": 0.001},
            data_config={"seq_len": seq_len, "num_chunks": checkpoints, "seed": seed},
            tokenizer=canonical_json({"model": {"type": "synthetic-bytes"}}),
            provenance=Provenance(
                code=CodeInfo(), packages={"numpy": np.__version__},
                environment=EnvironmentInfo(python=platform.python_version(),
                                            platform=f"{sys.platform}-{platform.machine()}",
                                            hardware=f"{os.cpu_count()} CPU")))
    with w:
        for k in range(len(w.chunks), checkpoints):
            rng = np.random.default_rng([seed, 0, k])
            w.add_chunk(rng.integers(0, 256, size=(rows, seq_len), dtype=np.int32),
                        sources=[f"doc-{k}"])
        n_weights = max(1, weight_bytes // 4)
        parent: str | None = None
        for k in range(checkpoints):
            name = names[k] if names is not None else layout.checkpoint_name(k)
            if (root / layout.checkpoint_dir(name)).is_dir():
                parent = name
                continue
            rng = np.random.default_rng([seed, 1, k])
            step = (k + 1) * 4
            w.write_checkpoint(
                name,
                model={"model.embed_tokens.weight": rng.standard_normal(n_weights,
                                                                        dtype=np.float32)},
                optimizer={"model.embed_tokens.weight.exp_avg": np.zeros(4, np.float32),
                           "model.embed_tokens.weight.exp_avg_sq": np.zeros(4, np.float32),
                           "model.embed_tokens.weight.step": np.array([step], np.float32)},
                rng={"torch": np.arange(16, dtype=np.uint8)},
                step=step, tokens_seen=step * 2 * seq_len, data_chunks=[k],
                parents=[] if parent is None else [parent], schedule={"lr": 0.001},
                metrics={"train_loss": 5.0 - k * 0.5},
                config={"architectures": ["LlamaForCausalLM"]},
                generation_config={"max_length": seq_len},
                files={f"extra_{i}.json": canonical_json({"i": i, "checkpoint": name})
                       for i in range(extra_files)})
            w.write_eval(name, metrics={"heldout_loss": 5.2 - k * 0.4,
                                        "heldout_perplexity": 180.0 / (k + 1),
                                        "memorization": 0.0,
                                        "next_token_accuracy": 0.1 * (k + 1)})
            for s in range(step - 3, step + 1):
                w.log(step=s, loss=5.5 - s * 0.05, lr=0.001, grad_norm=1.0,
                      tokens_per_s=1000.0, tokens_seen=s * 2 * seq_len,
                      peak_memory_bytes=1 << 20)
            parent = name
    return root
