"""Import a series of Hugging Face checkpoint folders (``checkpoint-500/``, ...) into a run.

For a team that trained elsewhere and wants to release what it has: each folder becomes one
checkpoint of a linear lineage (in the order given), its safetensors weights, configs and
tokenizer files copied byte for byte (hashed as copied). Pickle weights are refused with the
command that converts them; HF's pickle side files (``optimizer.pt``, ``scheduler.pt``,
``rng_state.pth``, ``training_args.bin``) are not imported and each checkpoint's
``trainer_state.json`` says what is missing (optimizer state, RNG state, data order), as does
``data/index.json``. The step, tokens seen, the log and the evals come from HF's own
``trainer_state.json``. Torch is never imported.

A folder holding a symbolic link is refused (a link could bring a file from anywhere into the
release), and so is a ``trainer_state.json`` or ``config.json`` of the wrong shape, naming the
file and the key. The run is locked for the import (one writer per run).
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeGuard

from llm360.errors import InputError, SchemaError, UnsafePathError
from llm360.registry import layout
from llm360.registry.manifest.models import DerivedFrom
from llm360.registry.manifest.serialize import canonical_json, read_json
from llm360.registry.run.hf_metrics import split_eval_log
from llm360.registry.run.lock import lock_run
from llm360.registry.run.records import (
    CodeInfo,
    EnvironmentInfo,
    LogLine,
    Position,
    Provenance,
    TrainerState,
)
from llm360.registry.run.writer import RunWriter, WrittenCheckpoint

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


@dataclass(frozen=True, kw_only=True)
class _Plan:
    """One checkpoint folder to import: its regular files, HF's trainer state, its step and
    tokens seen."""

    folder: Path
    names: set[str]
    hf: dict[str, Any]
    step: int
    tokens: int


def _regular_files(folder: Path) -> set[str]:
    """The names of the regular files in ``folder``; a symbolic link is refused."""
    names = set()
    for entry in os.scandir(folder):
        mode = entry.stat(follow_symlinks=False).st_mode
        if stat.S_ISLNK(mode):
            raise UnsafePathError(f"{entry.path}: is a symbolic link; llm360 imports only "
                                  "regular files",
                                  hint="copy the folder with the files the links point to "
                                       "(cp -rL), if you mean to release them")
        if stat.S_ISREG(mode):
            names.add(entry.name)
    return names


def _hf_state(folder: Path, names: set[str]) -> dict[str, Any]:
    """HF's ``trainer_state.json`` (``{}`` without one), its fields of the right types."""
    if layout.TRAINER_STATE not in names:
        return {}
    path = folder / layout.TRAINER_STATE
    data = _object(read_json(path), path, "$")
    for key in ("global_step", "num_input_tokens_seen"):
        value = data.get(key)
        if value is not None and not (_is_int(value) and value >= 0):
            raise SchemaError(f"{value!r} is not a non-negative integer", file=str(path),
                              json_path=f"$.{key}")
    history = data.get("log_history", [])
    if not isinstance(history, list):
        raise SchemaError("is not a list", file=str(path), json_path="$.log_history")
    for i, entry in enumerate(history):
        _object(entry, path, f"$.log_history[{i}]")
    return data


def _object(data: Any, path: Path, json_path: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise SchemaError(f"expected a JSON object, found {type(data).__name__}",
                          file=str(path), json_path=json_path)
    return data


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _step_of(folder: Path, hf: dict[str, Any]) -> int:
    step = hf.get("global_step")
    if _is_int(step):
        return step
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
                       seq_len: int | None = None,
                       derived_from: DerivedFrom | None = None) -> ImportResult:
    """Import ``folders`` (in this order, each the parent of the next) into ``run_dir``.

    ``tokens_per_step`` gives tokens seen where HF's ``num_input_tokens_seen`` is absent;
    ``seq_len`` is written to ``data/index.json`` (default: the config's
    ``max_position_embeddings``). The first folder's parent is the run's latest checkpoint,
    if the run has one, else the checkpoint of another release ``derived_from`` names (a
    fine-tune made elsewhere: ``config/derived_from.json``, and the release references it).
    """
    run_dir = Path(run_dir)
    folders = [Path(f) for f in folders]
    if not folders:
        raise InputError("no checkpoint folders given")
    plans: list[_Plan] = []
    last_step = -1
    for folder in folders:
        if not folder.is_dir():
            raise InputError(f"{folder}: not a directory")
        names = _regular_files(folder)
        _weights(folder, names)
        if layout.CHECKPOINT_CONFIG not in names:
            raise InputError(f"{folder}: no config.json",
                             hint="pass Hugging Face checkpoint folders (save_pretrained output)")
        hf = _hf_state(folder, names)
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
        plans.append(_Plan(folder=folder, names=names, hf=hf, step=step, tokens=int(tokens)))

    first = plans[0].folder / layout.CHECKPOINT_CONFIG
    first_config = _object(read_json(first), first, "$")
    run_dir.mkdir(parents=True, exist_ok=True)
    with lock_run(run_dir, command="llm360 run import-checkpoints"):
        writer = RunWriter.open(run_dir) if (run_dir / layout.RUN_METADATA).is_file() \
            else RunWriter(run_dir)
        try:
            if derived_from is not None:
                writer.set_derived_from(derived_from)
            return _import(run_dir, writer, plans, first_config, seq_len)
        finally:
            writer.close()


def _import(run_dir: Path, writer: RunWriter, plans: list[_Plan],
            first_config: dict[str, Any], seq_len: int | None) -> ImportResult:
    if not (run_dir / layout.MODEL_CONFIG).exists():
        source = str(plans[0].folder / layout.CHECKPOINT_CONFIG)
        writer.write_file(layout.MODEL_CONFIG, canonical_json(first_config, source=source))
    if not (run_dir / layout.DATA_INDEX).exists():
        n = seq_len or first_config.get("max_position_embeddings")
        if not _is_int(n) or n < 1:
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
    origin = writer.derived_from
    parent = (writer.parent_ref(writer.latest) if writer.latest
              else writer.parent_ref(origin.checkpoint.name) if origin is not None else None)
    for plan in plans:
        folder, names, hf, step, tokens = plan.folder, plan.names, plan.hf, plan.step, plan.tokens
        name = writer.next_checkpoint_name()
        blobs: dict[str, bytes | Path] = {}
        skip: list[str] = []
        for fname in sorted(names):
            if fname == layout.TRAINER_STATE:
                blobs[HF_TRAINER_STATE] = folder / fname
            elif fname.endswith(_COPY_SUFFIXES) and not layout.is_pickle(fname):
                blobs[fname] = folder / fname
            else:
                skip.append(fname)
        missing = ("optimizer state", "RNG state", "data order")
        state = TrainerState(
            checkpoint=name, step=step, tokens_seen=tokens, data_chunks=(),
            position=Position(chunk=0, row=0), parents=(parent,) if parent else (),
            metrics=_train_loss(hf, step),
            imported_from=folder.name, missing=missing)
        blobs[layout.TRAINER_STATE] = state.to_json(
            source=layout.checkpoint_file(name, layout.TRAINER_STATE))
        ckpt = writer.write_checkpoint_files(name, blobs, state=state)
        written.append(ckpt)
        skipped[name] = tuple(skip)
        parent = writer.parent_ref(name)
        evals, runtime = _eval_metrics(hf, step)
        if evals:
            writer.write_eval(name, metrics=evals, step=step, tokens_seen=tokens,
                              details={"runtime": runtime} if runtime else None)
    _write_log(writer, plans)
    still = tuple(rel for rel in (layout.RUN_METADATA, layout.TRAIN_CONFIG)
                  if not (run_dir / rel).exists())
    return ImportResult(run_dir=run_dir, checkpoints=tuple(written), skipped=skipped,
                        missing=("optimizer state", "RNG state", "data order"),
                        still_needed=still)


def _train_loss(hf: dict[str, Any], step: int) -> dict[str, float] | None:
    for entry in reversed(hf.get("log_history", [])):
        if entry.get("step") == step and _number(entry.get("loss")):
            return {"train_loss": float(entry["loss"])}
    return None


def _eval_metrics(hf: dict[str, Any], step: int) -> tuple[dict[str, float], dict[str, float]]:
    """(evaluation results, runtime and throughput fields) logged by ``Trainer.evaluate`` at
    ``step``: ``eval_runtime``, ``eval_samples_per_second``, ``epoch``, ... are not results."""
    out: dict[str, float] = {}
    runtime: dict[str, float] = {}
    for entry in hf.get("log_history", []):
        if entry.get("step") == step and any(str(k).startswith("eval_") for k in entry):
            results, other = split_eval_log({k: v for k, v in entry.items() if k != "step"})
            out.update(results)
            runtime.update(other)
    return out, runtime


def _write_log(writer: RunWriter, plans: list[_Plan]) -> None:
    """``logs/train.jsonl`` from the last folder's log history (it holds the earlier ones)."""
    if (writer.root / writer.log_path).exists():
        return
    hf, step, tokens = plans[-1].hf, plans[-1].step, plans[-1].tokens
    per_step = tokens / step if step else 0
    for entry in hf.get("log_history", []):
        if not (_is_int(entry.get("step")) and _number(entry.get("loss"))
                and _number(entry.get("learning_rate"))):
            continue
        s = entry["step"]
        seen = entry.get("num_input_tokens_seen")
        line = LogLine(step=s, loss=float(entry["loss"]), lr=float(entry["learning_rate"]),
                       tokens_seen=seen if _is_int(seen) and seen
                       else int(round(s * per_step)),
                       grad_norm=float(entry["grad_norm"])
                       if _number(entry.get("grad_norm")) else None)
        writer.log_line(line)
    writer.flush_log()
