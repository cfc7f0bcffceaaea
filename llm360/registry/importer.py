"""Import a series of Hugging Face checkpoint folders (``checkpoint-500/``, ...) into a run.

For a team that trained elsewhere and wants to release what it has: each folder becomes one
checkpoint of a linear lineage (in the order given), its safetensors weights, configs and
tokenizer files copied byte for byte (hashed as copied). Pickle weights are refused with the
command that converts them; HF's pickle side files (``optimizer.pt``, ``scheduler.pt``,
``rng_state.pth``, ``training_args.bin``) are not imported and each checkpoint's
``trainer_state.json`` says what is missing (optimizer state, RNG state, data order), as does
``data/index.json``. The step, tokens seen, the log and the evals come from HF's own
``trainer_state.json``. Torch is never imported.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from llm360.errors import InputError
from llm360.registry import layout
from llm360.registry.records import (
    CodeInfo, EnvironmentInfo, LogLine, Position, Provenance, TrainerState,
)
from llm360.registry.serialize import canonical_json, read_json
from llm360.registry.writer import RunWriter, WrittenCheckpoint

__all__ = ["ImportResult", "import_checkpoints", "HF_TRAINER_STATE"]

#: where HF's own trainer_state.json goes inside an imported checkpoint (ours takes its name)
HF_TRAINER_STATE = "hf_trainer_state.json"
_STEP = re.compile(r"(\d+)$")
_COPY_SUFFIXES = (".safetensors", ".json", ".txt", ".model", ".jinja")
_CONVERT = ("python -c \"import sys; from transformers import AutoModelForCausalLM as M; "
            "M.from_pretrained(sys.argv[1]).save_pretrained(sys.argv[1], "
            "safe_serialization=True)\" {folder}")
_NOT_RECORDED = "not recorded: imported from checkpoints trained elsewhere"


@dataclass(frozen=True, kw_only=True)
class ImportResult:
    run_dir: Path
    checkpoints: tuple[WrittenCheckpoint, ...]
    skipped: dict[str, tuple[str, ...]]   # checkpoint -> source files not imported
    missing: tuple[str, ...]              # what the imported checkpoints lack
    still_needed: tuple[str, ...]         # run records the import could not write


def _hf_state(folder: Path) -> dict:
    path = folder / layout.TRAINER_STATE
    if not path.is_file():
        return {}
    data = read_json(path)
    return data if isinstance(data, dict) else {}


def _step_of(folder: Path, hf: dict) -> int:
    if isinstance(hf.get("global_step"), int):
        return hf["global_step"]
    m = _STEP.search(folder.name)
    if m is None:
        raise InputError(f"{folder}: cannot tell the training step (no trainer_state.json and "
                         "no number at the end of the folder name)",
                         hint="name the folders checkpoint-STEP, as the HF Trainer does")
    return int(m.group(1))


def _weights(folder: Path, names: set[str]) -> list[str]:
    weights = sorted(n for n in names if layout.is_weights_file(n))
    if weights:
        if len(weights) > 1 and layout.WEIGHTS_INDEX not in names:
            raise InputError(f"{folder}: sharded weights without {layout.WEIGHTS_INDEX}")
        return weights
    pickled = sorted(n for n in names if layout.is_pickle(n) and n.startswith(
        ("pytorch_model", "model")))
    if pickled:
        raise InputError(f"{folder}: the weights are pickle ({', '.join(pickled)}); llm360 "
                         "releases safetensors only",
                         hint="convert them first: " + _CONVERT.format(folder=folder))
    raise InputError(f"{folder}: no model.safetensors (or shards) in the folder",
                     hint="pass Hugging Face checkpoint folders (save_pretrained output)")


def import_checkpoints(run_dir: Path, folders: Sequence[Path], *,
                       tokens_per_step: int | None = None,
                       seq_len: int | None = None) -> ImportResult:
    """Import ``folders`` (in this order, each the parent of the next) into ``run_dir``.

    ``tokens_per_step`` gives tokens seen where HF's ``num_input_tokens_seen`` is absent;
    ``seq_len`` is written to ``data/index.json`` (default: the config's
    ``max_position_embeddings``). The first folder's parent is the run's latest checkpoint,
    if the run has one.
    """
    run_dir = Path(run_dir)
    folders = [Path(f) for f in folders]
    if not folders:
        raise InputError("no checkpoint folders given")
    plans = []
    last_step = -1
    for folder in folders:
        if not folder.is_dir():
            raise InputError(f"{folder}: not a directory")
        names = {p.name for p in folder.iterdir() if p.is_file()}
        weights = _weights(folder, names)
        if layout.CHECKPOINT_CONFIG not in names:
            raise InputError(f"{folder}: no config.json",
                             hint="pass Hugging Face checkpoint folders (save_pretrained output)")
        hf = _hf_state(folder)
        step = _step_of(folder, hf)
        if step <= last_step:
            raise InputError(f"{folder}: step {step} does not follow step {last_step} of the "
                             "folder before it", hint="pass the folders in training order")
        last_step = step
        tokens = hf.get("num_input_tokens_seen") or 0
        if not tokens:
            if tokens_per_step is None:
                raise InputError(f"{folder}: the trainer state does not record the tokens seen",
                                 hint="pass --tokens-per-step N (batch x sequence length x "
                                      "accumulation x processes)")
            tokens = step * tokens_per_step
        plans.append((folder, names, weights, hf, step, int(tokens)))

    writer = RunWriter.open(run_dir) if (run_dir / layout.RUN_METADATA).is_file() \
        else RunWriter(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    first_config = read_json(plans[0][0] / layout.CHECKPOINT_CONFIG)
    if not (run_dir / layout.MODEL_CONFIG).exists():
        writer.write_file(layout.MODEL_CONFIG, canonical_json(first_config))
    if not (run_dir / layout.DATA_INDEX).exists():
        n = seq_len or first_config.get("max_position_embeddings")
        if not isinstance(n, int) or n < 1:
            raise InputError("cannot tell the sequence length", hint="pass --seq-len")
        writer.record_no_data(seq_len=n, reason="data order " + _NOT_RECORDED)
    if not (run_dir / layout.PROVENANCE).exists():
        unknown = "unknown (" + _NOT_RECORDED + ")"
        prov = Provenance(code=CodeInfo(), packages={},
                          environment=EnvironmentInfo(python=unknown, platform=unknown,
                                                      hardware=unknown))
        writer.write_file(layout.PROVENANCE, prov.to_json(source=layout.PROVENANCE))

    written: list[WrittenCheckpoint] = []
    skipped: dict[str, tuple[str, ...]] = {}
    parent = writer.parent_ref(writer.latest) if writer.latest else None
    for folder, names, _weights_files, hf, step, tokens in plans:
        name = writer.next_checkpoint_name()
        blobs: dict[str, bytes | Path] = {}
        skip = []
        for fname in sorted(names):
            if fname == layout.TRAINER_STATE:
                blobs[HF_TRAINER_STATE] = folder / fname
            elif fname.endswith(_COPY_SUFFIXES) and not layout.is_pickle(fname):
                blobs[fname] = folder / fname
            else:
                skip.append(fname)
        missing = ["optimizer state", "RNG state", "data order"]
        state = TrainerState(
            checkpoint=name, step=step, tokens_seen=tokens, data_chunks=(),
            position=Position(chunk=0, row=0), parents=(parent,) if parent else (),
            metrics=_train_loss(hf, step),
            extra={"imported_from": folder.name, "missing": missing})
        blobs[layout.TRAINER_STATE] = state.to_json(
            source=layout.checkpoint_file(name, layout.TRAINER_STATE))
        ckpt = writer.write_checkpoint_files(name, blobs, state=state)
        written.append(ckpt)
        skipped[name] = tuple(skip)
        parent = writer.parent_ref(name)
        evals = _eval_metrics(hf, step)
        if evals:
            writer.write_eval(name, metrics=evals, step=step, tokens_seen=tokens)
    _write_log(writer, plans)
    still = tuple(rel for rel in (layout.RUN_METADATA, layout.TRAIN_CONFIG)
                  if not (run_dir / rel).exists())
    return ImportResult(run_dir=run_dir, checkpoints=tuple(written), skipped=skipped,
                        missing=("optimizer state", "RNG state", "data order"),
                        still_needed=still)


def _metric_name(key: str) -> str:
    return re.sub(r"[^a-z0-9_]", "_", key.lower()).strip("_") or "metric"


def _train_loss(hf: dict, step: int) -> dict | None:
    for entry in reversed(hf.get("log_history", [])):
        if entry.get("step") == step and isinstance(entry.get("loss"), (int, float)):
            return {"train_loss": float(entry["loss"])}
    return None


def _eval_metrics(hf: dict, step: int) -> dict:
    out = {}
    for entry in hf.get("log_history", []):
        if entry.get("step") == step and any(k.startswith("eval_") for k in entry):
            out.update({_metric_name(k): float(v) for k, v in entry.items()
                        if k.startswith("eval_") and isinstance(v, (int, float))
                        and not isinstance(v, bool)})
    return out


def _write_log(writer: RunWriter, plans: list) -> None:
    """``logs/train.jsonl`` from the last folder's log history (it holds the earlier ones)."""
    if (writer.root / writer.log_path).exists():
        return
    folder, _, _, hf, step, tokens = plans[-1]
    per_step = tokens / step if step else 0
    for entry in hf.get("log_history", []):
        if not all(isinstance(entry.get(k), (int, float)) for k in ("step", "loss",
                                                                   "learning_rate")):
            continue
        s = int(entry["step"])
        seen = entry.get("num_input_tokens_seen")
        line = LogLine(step=s, loss=float(entry["loss"]), lr=float(entry["learning_rate"]),
                       tokens_seen=int(seen) if isinstance(seen, int) and seen
                       else int(round(s * per_step)),
                       grad_norm=float(entry["grad_norm"])
                       if isinstance(entry.get("grad_norm"), (int, float)) else None)
        writer.log_line(line)
    writer.flush_log()
