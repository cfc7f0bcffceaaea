"""Read a run directory (v1): every JSON/YAML record parsed and validated against its schema."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llm360.errors import InputError, SchemaError
from llm360.registry._files import list_files, resolve_inside
from llm360.registry.formats import check_file_format
from llm360.registry.schema import _validator, validate
from llm360.registry.serialize import parse_json, read_json, read_yaml

__all__ = ["RunRecords", "read_run", "artifact_kind", "MAX_LOG_LINE"]

#: a training log line longer than this is refused (a step's record is a few hundred bytes)
MAX_LOG_LINE = 64 * 1024

REQUIRED = ("llm360.yaml", "config/model.json", "config/train.json", "data/index.json",
            "code/provenance.json")


@dataclass(frozen=True, kw_only=True)
class RunRecords:
    """What a run directory says about itself, as validated JSON data."""

    root: Path
    files: tuple[str, ...]
    metadata: dict
    model_config: dict
    train_config: dict
    data_config: dict | None
    data_index: dict
    trainer_states: dict[str, dict]  # checkpoint name -> trainer_state.json
    evals: dict[str, dict]           # path -> eval record
    logs: tuple[str, ...]
    provenance: dict
    tokenizer: str | None
    logged_steps: frozenset[int] = frozenset()  # every step that has a log line


def artifact_kind(rel: str) -> str:
    """The manifest ``kind`` of a file from where it sits in the run directory."""
    parts = rel.split("/")
    name = parts[-1]
    if parts[0] == "checkpoints" and len(parts) == 3:
        # single files or Hugging Face shards (model-00001-of-00003.safetensors) + their index
        if name.startswith("model") and name.endswith((".safetensors",
                                                       ".safetensors.index.json")):
            return "weights"
        if name.startswith("optimizer") and name.endswith((".safetensors",
                                                           ".safetensors.index.json")):
            return "optimizer"
        return {"rng.safetensors": "rng",
                "trainer_state.json": "trainer_state", "config.json": "checkpoint_config",
                "generation_config.json": "generation_config", "tokenizer.json": "tokenizer",
                "tokenizer_config.json": "tokenizer",
                "special_tokens_map.json": "tokenizer"}.get(name, "other")
    if parts[0] == "data":
        if name == "index.json" and len(parts) == 2:
            return "data_index"
        if name.endswith(".safetensors"):
            return "data_chunk"
    top = {"config": "config", "tokenizer": "tokenizer", "logs": "log", "evals": "eval"}
    if parts[0] in top and len(parts) > 1:
        return top[parts[0]]
    if rel == "code/provenance.json":
        return "provenance"
    if rel == "llm360.yaml":
        return "metadata"
    return "other"


def read_run(root: Path, *, only: set[str] | None = None) -> RunRecords:
    """Parse and validate every record of the run directory at ``root``.

    ``only`` limits the run to those files (verify rebuilds from the manifest's artifacts).
    """
    root = Path(root)
    if not root.exists():
        raise InputError(f"{root}: run directory not found",
                         hint="pass the folder that `llm360 train` wrote (or one of its layout)")
    if not root.is_dir():
        raise InputError(f"{root}: not a directory")
    files = list_files(root)
    if only is not None:
        files = [f for f in files if f in only]
    present = set(files)
    for rel in REQUIRED:
        if rel not in present:
            raise InputError(f"{root}: not a run directory: {rel} is missing",
                             hint="see 'The run directory (v1)' in the README")
    for rel in files:  # by content, whatever the name: pickles, zips, .npy never pass
        check_file_format(root, rel)

    def load(rel: str, schema_name: str) -> Any:
        data = read_json(resolve_inside(root, rel), source=str(root / rel))
        validate(data, schema_name, source=str(root / rel))
        return data

    metadata = read_yaml(root / "llm360.yaml")
    validate(metadata, "run_metadata", source=str(root / "llm360.yaml"))
    trainer_states: dict[str, dict] = {}
    for rel in files:
        parts = rel.split("/")
        if parts[0] == "checkpoints" and len(parts) == 3 and parts[2] == "trainer_state.json":
            state = load(rel, "trainer_state")
            if state["checkpoint"] != parts[1]:
                raise SchemaError(f"names checkpoint {state['checkpoint']!r} but sits in "
                                  f"checkpoints/{parts[1]}/", file=str(root / rel),
                                  json_path="$.checkpoint")
            trainer_states[parts[1]] = state
    ckpt_dirs = {rel.split("/")[1] for rel in files
                 if rel.startswith("checkpoints/") and rel.count("/") >= 2}
    for name in sorted(ckpt_dirs - set(trainer_states)):
        raise InputError(f"{root}/checkpoints/{name}: checkpoint without trainer_state.json")
    logs = tuple(rel for rel in files if rel.startswith("logs/") and rel.endswith(".jsonl"))
    logged_steps: set[int] = set()
    for rel in logs:
        logged_steps |= _check_log(root, rel)
    tokenizer = "tokenizer/tokenizer.json" if "tokenizer/tokenizer.json" in present else None
    return RunRecords(
        root=root,
        files=tuple(files),
        metadata=metadata,
        model_config=load("config/model.json", "model_config"),
        train_config=load("config/train.json", "train_config"),
        data_config=load("config/data.json", "data_config") if "config/data.json" in present
        else None,
        data_index=load("data/index.json", "data_index"),
        trainer_states=trainer_states,
        evals={rel: load(rel, "eval") for rel in files
               if rel.startswith("evals/") and rel.endswith(".json")},
        logs=logs,
        provenance=load("code/provenance.json", "provenance"),
        tokenizer=tokenizer,
        logged_steps=frozenset(logged_steps),
    )


def _check_log(root: Path, rel: str) -> set[int]:
    """Validate every line of a log; the steps it records."""
    validator = _validator("train_log")
    steps: set[int] = set()
    source = str(root / rel)
    with open(resolve_inside(root, rel), "rb") as fh:
        for lineno, raw in enumerate(iter(lambda: fh.readline(MAX_LOG_LINE + 1), b""), 1):
            if len(raw.rstrip(b"\r\n")) > MAX_LOG_LINE:
                raise InputError(f"{source}:{lineno}: line longer than {MAX_LOG_LINE} bytes",
                                 hint="a log line is one step's record of a few numbers")
            if not raw.strip():
                continue
            record = parse_json(raw, source=f"{source}:{lineno}")
            if not validator.is_valid(record):
                validate(record, "train_log", source=f"{source}:{lineno}")
            steps.add(record["step"])
    return steps

