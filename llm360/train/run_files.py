"""The run-level records ``train`` writes once: config/model.json, config/train.json,
code/provenance.json with the trainer's source archive, a starter llm360.yaml; the naming
of forks; and, for a run that continues another release, its ``config/derived_from.json``
kept up to date (a resume that forks from the pulled checkpoint makes it a ``fork``)."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

from llm360.registry import layout
from llm360.registry._files import resolve_inside, write_atomic
from llm360.registry.manifest.schema import validate
from llm360.registry.manifest.serialize import canonical_json
from llm360.registry.run.records import Provenance, RunMetadata
from llm360.train.code_archive import write_code_archive
from llm360.train.config import ModelConfig, TrainConfig, hf_config
from llm360.train.data import RunData
from llm360.train.provenance import collect_provenance, starter_metadata

__all__ = ["write_run_records", "fork_suffix", "keep_origin"]


def keep_origin(run_dir: Path, parent_name: str, forked: bool) -> str | None:
    """Keep ``config/derived_from.json`` true when training resumes from ``parent_name``: a
    resume from the other release's checkpoint with other data or hyperparameters turns its
    relation ``continuation`` into ``fork``. Returns a note when it changed the record."""
    from llm360.registry.run.derived import read_derived_from, with_relation, write_derived_from

    link = read_derived_from(run_dir)
    if link is None or link.checkpoint.name != parent_name or not forked \
            or link.relation != "continuation":
        return None
    write_derived_from(run_dir, with_relation(link, "fork"), replace=True)
    return (f"{layout.DERIVED_FROM}: this run now forks {link.label} (its data or "
            "hyperparameters differ from the parent's); the release will say so")


def fork_suffix(run_dir: Path) -> str:
    """``-forkN`` with the smallest N no checkpoint of the run uses."""
    used = {m.group(1) for p in (Path(run_dir) / layout.CHECKPOINTS_DIR).glob("*")
            if (m := re.search(r"-fork(\d+)$", p.name))}
    n = 1
    while str(n) in used:
        n += 1
    return f"-fork{n}"


def write_run_records(run_dir: Path, m: ModelConfig, t: TrainConfig, data: RunData) -> None:
    """config/model.json, config/train.json, code/provenance.json (and the source archive it
    names) and a starter llm360.yaml."""
    _write_json(run_dir, layout.MODEL_CONFIG, hf_config(m), "model_config")
    _write_json(run_dir, layout.TRAIN_CONFIG, {
        **dataclasses.asdict(t), "schedule": "linear warmup then cosine to min_lr",
        "optimizer": "AdamW (weight decay on matrices only)",
        "gradient_accumulation_steps": t.accumulation_steps,
        "seq_len": data.seq_len, "num_chunks": len(data.chunks)}, "train_config")
    if not (run_dir / layout.PROVENANCE).exists():
        prov = collect_provenance()
        prov["code"]["archive"] = write_code_archive(run_dir)
        write_atomic(resolve_inside(run_dir, layout.PROVENANCE), Provenance.from_data(
            prov).to_json(source=layout.PROVENANCE))
    if not (run_dir / layout.RUN_METADATA).exists():
        meta = starter_metadata(run_dir, preset=t.preset, data_config=data.config)
        write_atomic(resolve_inside(run_dir, layout.RUN_METADATA),
                     RunMetadata.from_data(meta).to_yaml(source=layout.RUN_METADATA))


def _write_json(run_dir: Path, rel: str, data: dict, schema: str) -> None:
    """A config record, checked against its schema as it is written."""
    validate(data, schema, source=rel)
    write_atomic(resolve_inside(run_dir, rel), canonical_json(data))
