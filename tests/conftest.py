"""Fixtures shared by every tier."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

#: the Hub test server, its signing keys and a signed release (``hub_server/fixtures.py``),
#: for every tier that talks to the Hub
pytest_plugins = ["hub_server.fixtures"]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--update-golden", action="store_true", default=False,
                     help="Rewrite golden files from the current output instead of comparing.")
    parser.addoption("--fuzz-cases", type=int,
                     default=int(os.environ.get("LLM360_FUZZ_CASES", "10000")),
                     help="Mutations tests/fuzz runs over manifest, bundle and model.sig "
                          "together (default 10000, or LLM360_FUZZ_CASES).")
    parser.addoption("--fuzz-seed", type=int, default=0,
                     help="Seed of the tests/fuzz mutations (default 0).")


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-golden"))


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    """Tests never touch the real home or caches (sigstore writes its trust root there)."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / ".cache"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local/share"))
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)


@pytest.fixture
def synthetic_run(tmp_path: Path) -> Path:
    """A small, consistent run directory (3 checkpoints) written without torch."""
    from _synthetic import write_synthetic_run

    return write_synthetic_run(tmp_path / "run")


os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("DS_ACCELERATOR", "cpu")


def write_fork_run(root: Path, *, final_checkpoint: str | None = None) -> Path:
    """A run with a main line ckpt_000..ckpt_003 (lr 0.003) and a fork ckpt_002-fork1,
    ckpt_003-fork1 resumed from ckpt_001 with lr 0.001, as `llm360 train --resume-from ...
    --config other-lr.json` records it (trainer_state `lineage` and `train_config`, and
    logs/train-fork1.jsonl). Evals carry the memorization score; ckpt_003's names a benchmark."""
    import hashlib

    import numpy as np
    from _synthetic import write_synthetic_run
    from safetensors.numpy import save as st_save

    from llm360.registry.build.hashing import root_digest
    from llm360.registry.manifest.serialize import canonical_json

    root = write_synthetic_run(root, checkpoints=4)
    seq_len = 16
    if final_checkpoint:
        with open(root / "llm360.yaml", "a", encoding="utf-8") as fh:
            fh.write(f"final_checkpoint: {final_checkpoint}\n")
    base = {"backend": "torch", "precision": "fp32", "world_size": 1, "seed": 0,
            "batch_size": 2, "warmup_steps": 1}
    (root / "config/train.json").write_bytes(canonical_json({**base, "lr": 0.003}))
    import shutil

    shutil.rmtree(root / "checkpoints")
    (root / "logs/train.jsonl").unlink()

    def checkpoint(name, k, parent, lineage, lr):
        step = (k + 1) * 4
        tokens = step * 2 * seq_len
        rng = np.random.default_rng([7, k, len(lineage)])
        files = {
            "model.safetensors": st_save({"model.embed_tokens.weight": rng.standard_normal(
                64, dtype=np.float32)}, metadata={"format": "pt"}),
            "config.json": canonical_json({"architectures": ["LlamaForCausalLM"]}),
            "trainer_state.json": canonical_json({
                "schema_version": "llm360.trainer_state/v1", "checkpoint": name,
                "step": step, "tokens_seen": tokens, "data_chunks": [k],
                "position": {"chunk": k + 1, "row": 0},
                "parents": [] if parent is None else [{"name": parent[0],
                                                       "root_digest": parent[1]}],
                "metrics": {"train_loss": 5.0 - k * 0.5 - (0.2 if lineage != "main" else 0)},
                "lineage": lineage, "train_config": {**base, "lr": lr}}),
        }
        for fname, raw in files.items():
            (root / "checkpoints" / name).mkdir(parents=True, exist_ok=True)
            (root / "checkpoints" / name / fname).write_bytes(raw)
        metrics = {"heldout_loss": 5.2 - k * 0.4, "heldout_perplexity": 180.0 / (k + 1),
                   "next_token_accuracy": 0.1 * (k + 1),
                   "memorization_score": 0.05 * k + (0.1 if lineage != "main" else 0),
                   "memorization_exact_match": 0.0}
        record = {"schema_version": "llm360.eval/v1", "checkpoint": name, "step": step,
                  "tokens_seen": tokens, "metrics": metrics,
                  "details": {"heldout_sequences": 8,
                              "memorization": {"prefix_tokens": 32, "continuation_tokens": 32,
                                               "samples": 64}}}
        if name == "ckpt_003":
            metrics["hellaswag_acc_norm"] = 0.26
            record["benchmarks"] = [{"dataset": "Rowan/hellaswag", "name": "HellaSwag",
                                     "split": "validation",
                                     "metrics": {"hellaswag_acc_norm": "acc_norm"}}]
        (root / "evals" / f"{name}.json").write_bytes(canonical_json(record))
        digest = root_digest((f, hashlib.sha256(b).hexdigest()) for f, b in files.items())
        return (name, digest), step

    def log(path, steps, lr, offset):
        lines = [canonical_json({"step": s, "loss": 5.5 - s * 0.05 - offset, "lr": lr,
                                 "grad_norm": 1.0 + offset, "tokens_per_s": 1000.0 + s,
                                 "tokens_seen": s * 2 * seq_len, "chunk": (s - 1) // 4,
                                 "peak_memory_bytes": 1 << 20}) for s in steps]
        (root / path).write_bytes(b"\n".join(lines) + b"\n")

    parent = None
    for k in range(4):
        parent, _ = checkpoint(f"ckpt_{k:03d}", k, parent, "main", 0.003)
        if k == 1:
            fork_parent = parent
    log("logs/train.jsonl", range(1, 17), 0.003, 0.0)
    parent = fork_parent
    for k in (2, 3):
        parent, _ = checkpoint(f"ckpt_{k:03d}-fork1", k, parent, "fork1", 0.001)
    log("logs/train-fork1.jsonl", range(9, 17), 0.001, 0.3)
    return root


@pytest.fixture
def fork_run(tmp_path: Path) -> Path:
    """The run of ``write_fork_run``: a main line and one fork with another learning rate."""
    return write_fork_run(tmp_path / "forkrun")


@pytest.fixture(scope="session")
def fork_run_writer():
    """``write_fork_run`` itself, for tests that write several (or module-scoped) fork runs."""
    return write_fork_run
