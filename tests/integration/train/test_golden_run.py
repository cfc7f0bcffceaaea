"""A fixed tiny run gives the same bytes in every file, release after release of llm360.

The sha256 of every file of the run is compared to ``tests/golden/train_run.sha256``; refresh it
only for a deliberate format change, with ``pytest --update-golden``. Machine facts are left out
(``code/provenance.json``, and the ``tokens_per_s``/``peak_memory_bytes`` of each log line), as is
the trainer's source archive ``code/llm360-train.tar.gz`` (it changes with every edit of
llm360's own code; its sha256 is in ``code/provenance.json``), and
training runs in one thread so the floating-point sums are in one order everywhere.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from pathlib import Path

import pytest

from .conftest import llm360_cmd, subprocess_env

GOLDEN = Path(__file__).resolve().parents[2] / "golden" / "train_run.sha256"
VOLATILE = ("tokens_per_s", "peak_memory_bytes")


def _machine() -> str:
    import platform

    import torch

    return (f"{platform.machine()} {torch.backends.cpu.get_cpu_capability()} "
            f"torch {torch.__version__}")


def _float_dependent(rel: str) -> bool:
    """Bytes that come from floating-point training math: identical on the same CPU kind and
    torch, but another instruction set (AVX-512 vs AVX2, ARM) may round differently."""
    name = rel.rsplit("/", 1)[-1]
    return (rel.startswith(("evals/", "logs/")) or name.startswith(("model", "optimizer"))
            or name == "trainer_state.json")
pytestmark = pytest.mark.slow


def _corpus(path: Path) -> Path:
    words = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta"]
    lines = [" ".join(words[(i * 7 + j * 3) % len(words)] for j in range(12 + i % 5))
             for i in range(400)]
    path.write_text("\n".join(json.dumps({"text": line}) for line in lines) + "\n")
    return path


def _digests(run: Path) -> dict[str, str]:
    out = {}
    for path in sorted(p for p in run.rglob("*") if p.is_file()):
        rel = path.relative_to(run).as_posix()
        if rel.startswith((".llm360/", "code/")):
            continue
        raw = path.read_bytes()
        if rel.startswith("logs/"):
            lines = [json.loads(x) for x in raw.splitlines() if x.strip()]
            raw = json.dumps([{k: v for k, v in x.items() if k not in VOLATILE}
                              for x in lines], sort_keys=True).encode()
        out[rel] = hashlib.sha256(raw).hexdigest()
    return out


def test_fixed_tiny_run_matches_golden_digests(tmp_path: Path, update_golden: bool) -> None:
    env = {**subprocess_env(tmp_path), "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    run = tmp_path / "run"
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"train": {"batch_size": 4, "eval_sequences": 4,
                                            "warmup_steps": 2}}))
    for args in (["data", "prepare", "--run", run, "--corpus", _corpus(tmp_path / "c.jsonl"),
                  "--chunks", "2", "--seq-len", "64", "--vocab-size", "300", "--seed", "7"],
                 ["train", "--run", run, "--preset", "tiny", "--config", config]):
        done = subprocess.run([*llm360_cmd(), *map(str, args)], env=env, capture_output=True,
                              text=True, timeout=600)
        assert done.returncode == 0, done.stdout + done.stderr
    digests = _digests(run)
    header = f"# machine: {_machine()}\n"
    text = header + "".join(f"{d}  {rel}\n" for rel, d in digests.items())
    if update_golden:
        GOLDEN.write_text(text)
    assert GOLDEN.is_file(), f"{GOLDEN} missing: run pytest --update-golden"
    lines = GOLDEN.read_text().splitlines()
    same_machine = lines[0] == header.rstrip("\n")
    golden = dict(reversed(line.split("  ", 1)) for line in lines if not line.startswith("#"))
    changed = sorted(rel for rel in set(golden) | set(digests)
                     if golden.get(rel) != digests.get(rel)
                     and (same_machine or not _float_dependent(rel)))
    if not same_machine:  # still every data, tokenizer, config and index byte
        print(f"golden from {lines[0][len('# machine: '):]}, this is {_machine()}: "
              "trained bytes not compared")
    assert not changed, (f"files differ from {GOLDEN.name}: {changed}; if the format change is "
                         "deliberate, refresh with pytest --update-golden")
    assert os.path.isdir(run / "checkpoints" / "ckpt_001")
