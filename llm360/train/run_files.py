"""The run-level records ``train`` writes once: config/model.json, config/train.json,
code/provenance.json and a starter llm360.yaml; and the naming of forks."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import yaml

from llm360.registry._files import write_atomic
from llm360.registry.serialize import canonical_json
from llm360.train.config import ModelConfig, TrainConfig, hf_config
from llm360.train.data import RunData
from llm360.train.provenance import collect_provenance, starter_metadata

__all__ = ["write_run_records", "fork_suffix"]


def fork_suffix(run_dir: Path) -> str:
    """``-forkN`` with the smallest N no checkpoint of the run uses."""
    used = {m.group(1) for p in (Path(run_dir) / "checkpoints").glob("*")
            if (m := re.search(r"-fork(\d+)$", p.name))}
    n = 1
    while str(n) in used:
        n += 1
    return f"-fork{n}"


def write_run_records(run_dir: Path, m: ModelConfig, t: TrainConfig, data: RunData) -> None:
    """config/model.json, config/train.json, code/provenance.json and a starter llm360.yaml."""
    write_atomic(run_dir / "config" / "model.json", canonical_json(hf_config(m)))
    write_atomic(run_dir / "config" / "train.json", canonical_json(
        {**dataclasses.asdict(t), "schedule": "linear warmup then cosine to min_lr",
         "optimizer": "AdamW (weight decay on matrices only)",
         "gradient_accumulation_steps": t.accumulation_steps,
         "seq_len": data.seq_len, "num_chunks": len(data.chunks)}))
    if not (run_dir / "code" / "provenance.json").exists():
        write_atomic(run_dir / "code" / "provenance.json", canonical_json(collect_provenance()))
    if not (run_dir / "llm360.yaml").exists():
        meta = starter_metadata(run_dir, preset=t.preset, data_config=data.config)
        write_atomic(run_dir / "llm360.yaml",
                     yaml.safe_dump(meta, sort_keys=True, allow_unicode=True).encode("utf-8"))
