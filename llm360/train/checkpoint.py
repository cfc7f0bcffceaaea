"""Backend-neutral checkpoints: safetensors tensors and sorted-key JSON, written all or nothing.

A checkpoint folder holds the weights (``model.safetensors`` with HF names, or Hugging Face
shards ``model-00001-of-0000N.safetensors`` plus ``model.safetensors.index.json`` when they
exceed the shard size), the optimizer state cut the same way (``optimizer.safetensors`` or
``optimizer-0000K-of-0000N.safetensors`` + ``optimizer.safetensors.index.json``: per parameter
``<param>.exp_avg``, ``<param>.exp_avg_sq``, ``<param>.step``), ``rng.safetensors``,
``trainer_state.json``, ``config.json``, ``generation_config.json`` and the tokenizer
(``tokenizer.json``, ``tokenizer_config.json``, ``special_tokens_map.json``), so
``from_pretrained`` and ``pipeline`` load the folder as it is. It is assembled in
``RUN/.llm360/staging/`` (a folder the registry ignores) and renamed into ``checkpoints/`` in one
step, so an interrupted save leaves the previous checkpoints intact and no half checkpoint.
Safetensors files carry exactly ``{"format": "pt"}`` as metadata, which keeps them byte-stable.
"""

from __future__ import annotations

import json
import random
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file

from llm360.errors import InputError, UnsafePathError
from llm360.registry import layout
from llm360.registry.build.hashing import root_digest, sha256_file
from llm360.registry.manifest.serialize import canonical_json
from llm360.registry.run.records import TrainerState
from llm360.registry.run.staging import StagedCheckpoint
from llm360.registry.run.tensorfiles import tensors_to_safetensors
from llm360.registry.run.writer import RunWriter
from llm360.train.config import DEFAULT_SHARD_BYTES

__all__ = ["CheckpointState", "save_checkpoint", "load_checkpoint", "folder_root_digest",
           "capture_rng", "restore_rng", "STAGING", "clean_staging", "same_files",
           "stage_checkpoint", "StagedCheckpoint", "check_run_paths", "shard_tensors",
           "TOKENIZER_FILES", "adopt_checkpoint"]

STAGING = Path(layout.STAGING)
TOKENIZER_FILES = layout.CHECKPOINT_TOKENIZER_FILES
#: folders of a run that llm360 writes into; none of them may be a symbolic link
_OWN_FOLDERS = (layout.CACHE_DIR, layout.STAGING, layout.PENDING, layout.CHECKPOINTS_DIR,
                layout.EVALS_DIR, layout.LOGS_DIR)
_STAGED = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*\.[A-Za-z0-9_]+$")
_SHARD = re.compile(r"^(model|optimizer)-(\d{5})-of-(\d{5})\.safetensors$")


@dataclass(frozen=True, kw_only=True)
class CheckpointState:
    """Everything a checkpoint folder holds, in memory."""

    model: dict[str, torch.Tensor]
    optimizer: dict[str, torch.Tensor]
    rng: dict[str, torch.Tensor]
    trainer_state: dict
    config: dict
    generation_config: dict
    tokenizer: dict[str, bytes] = field(default_factory=dict)  # file name -> bytes


def _tensors_bytes(tensors: dict[str, torch.Tensor]) -> bytes:
    return tensors_to_safetensors(tensors)


def capture_rng() -> dict[str, torch.Tensor]:
    """torch (CPU and the CUDA device in use), numpy (legacy global) and Python RNG states as
    tensors."""
    version, internal, gauss = random.getstate()
    kind, key, pos, has_gauss, cached = np.random.get_state()
    out = {
        "torch_cpu": torch.get_rng_state(),
        "python_state": torch.tensor(list(internal), dtype=torch.int64),
        "python_meta": torch.tensor([version, 0 if gauss is None else 1], dtype=torch.int64),
        "python_gauss": torch.tensor([0.0 if gauss is None else gauss], dtype=torch.float64),
        "numpy_key": torch.from_numpy(np.asarray(key, dtype=np.int64)),
        "numpy_meta": torch.tensor([pos, has_gauss], dtype=torch.int64),
        "numpy_gauss": torch.tensor([cached], dtype=torch.float64),
    }
    # only a run that used CUDA records a CUDA state, that of the GPU this process trains on
    # (one per process under a launcher; reading the others would create contexts on them): a
    # CPU run writes the same file on a machine with and without a GPU
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        index = torch.cuda.current_device()
        out[f"torch_cuda_{index}"] = torch.cuda.get_rng_state(index)
    return out


def restore_rng(rng: dict[str, torch.Tensor]) -> list[str]:
    """Set every RNG state ``rng`` holds; the CUDA states this machine cannot take (no GPU,
    fewer GPUs) are returned, not set."""
    torch.set_rng_state(rng["torch_cpu"])
    skipped = []
    for key in sorted(k for k in rng if k.startswith("torch_cuda")):
        index = int(key.rsplit("_", 1)[1]) if key != "torch_cuda" else 0
        if torch.cuda.is_available() and index < torch.cuda.device_count():
            torch.cuda.set_rng_state(rng[key], index)
        else:
            skipped.append(key)
    version, has_gauss = rng["python_meta"].tolist()
    gauss = rng["python_gauss"].item() if has_gauss else None
    random.setstate((version, tuple(rng["python_state"].tolist()), gauss))
    pos, np_has_gauss = rng["numpy_meta"].tolist()
    np.random.set_state(("MT19937", rng["numpy_key"].numpy().astype(np.uint32), pos,
                         np_has_gauss, rng["numpy_gauss"].item()))
    return skipped


def check_run_paths(run_dir: Path) -> None:
    """Refuse a symbolic link at any folder of the run llm360 writes into (exit 2): a link
    would make it write, or clean up, outside the run."""
    run_dir = Path(run_dir)
    for rel in _OWN_FOLDERS:
        if (run_dir / rel).is_symlink():
            raise UnsafePathError(f"{run_dir / rel}: is a symbolic link; llm360 writes only "
                                  "into real folders of the run",
                                  hint=f"remove the link {rel} (llm360 recreates the folder)")


def clean_staging(run_dir: Path) -> None:
    """Remove what an interrupted save left in the staging folder: only the folders this
    module creates there (``<checkpoint>.<random>``), never through a symbolic link."""
    check_run_paths(run_dir)
    root = Path(run_dir) / STAGING
    if not root.is_dir():
        return
    for entry in root.iterdir():
        if _STAGED.match(entry.name) and entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
    try:
        root.rmdir()
    except OSError:
        pass  # something else is in there: left alone


def shard_tensors(tensors: dict[str, torch.Tensor], max_bytes: int
                  ) -> list[dict[str, torch.Tensor]]:
    """Consecutive groups of ``tensors`` of at most ``max_bytes`` each (a tensor larger than
    that gets a shard of its own), as Hugging Face cuts ``max_shard_size``."""
    shards: list[dict[str, torch.Tensor]] = [{}]
    size = 0
    for name, t in tensors.items():
        n = t.numel() * t.element_size()
        if shards[-1] and size + n > max_bytes:
            shards.append({})
            size = 0
        shards[-1][name] = t
        size += n
    return shards


def _tensor_files(prefix: str, tensors: dict[str, torch.Tensor], max_bytes: int
                  ) -> list[tuple[str, Callable[[], bytes]]]:
    """``prefix.safetensors``, or shards ``prefix-0000K-of-0000N.safetensors`` and the index
    ``prefix.safetensors.index.json`` (``metadata.total_size``, ``weight_map``)."""
    shards = shard_tensors(tensors, max_bytes)
    if len(shards) == 1:
        return [(f"{prefix}.safetensors", lambda: _tensors_bytes(tensors))]
    n = len(shards)
    names = [layout.shard_name(prefix, i + 1, n) for i in range(n)]
    index = {"metadata": {"total_size": sum(t.numel() * t.element_size()
                                            for t in tensors.values())},
             "weight_map": {k: names[i] for i, shard in enumerate(shards) for k in shard}}
    files = [(name, lambda shard=shard: _tensors_bytes(shard))
             for name, shard in zip(names, shards)]
    return files + [(layout.shard_index(prefix), lambda: canonical_json(index))]


def _files(state: CheckpointState, max_shard_bytes: int
           ) -> list[tuple[str, Callable[[], bytes]]]:
    return [
        *_tensor_files("model", state.model, max_shard_bytes),
        *_tensor_files("optimizer", state.optimizer, max_shard_bytes),
        (layout.RNG, lambda: _tensors_bytes(state.rng)),
        (layout.CHECKPOINT_CONFIG, lambda: canonical_json(state.config)),
        (layout.GENERATION_CONFIG, lambda: canonical_json(state.generation_config)),
        (layout.TRAINER_STATE, lambda: TrainerState.from_data(state.trainer_state).to_json(
            source=layout.TRAINER_STATE)),  # schema-checked as it is written
        *((name, lambda data=data: data) for name, data in sorted(state.tokenizer.items())),
    ]


def same_files(a: Path, b: Path) -> bool:
    """True when folders ``a`` and ``b`` hold the same file names with the same bytes."""
    names_a = sorted(p.name for p in Path(a).iterdir())
    names_b = sorted(p.name for p in Path(b).iterdir())
    return names_a == names_b and all(sha256_file(Path(a) / n)[1] == sha256_file(Path(b) / n)[1]
                                      for n in names_a)


def stage_checkpoint(run_dir: Path, name: str, state: CheckpointState, *,
                     max_shard_bytes: int = DEFAULT_SHARD_BYTES) -> StagedCheckpoint:
    """Write every file of checkpoint ``name`` into a new folder under ``RUN/.llm360/staging``
    through the registry's ``RunWriter`` (one file's bytes in memory at a time, each hashed as
    written, the trainer state schema-checked); an interrupted write leaves nothing there but
    that folder, which the next run removes."""
    run_dir = Path(run_dir)
    check_run_paths(run_dir)
    (run_dir / layout.STAGING).mkdir(parents=True, exist_ok=True)
    check_run_paths(run_dir)
    return RunWriter(run_dir).stage_checkpoint(
        name, dict(_files(state, max_shard_bytes)),
        state=TrainerState.from_data(state.trainer_state))


def save_checkpoint(run_dir: Path, name: str, state: CheckpointState, *,
                    digests: dict[str, str] | None = None,
                    max_shard_bytes: int = DEFAULT_SHARD_BYTES) -> str:
    """Write checkpoint ``name`` into ``run_dir/checkpoints/`` atomically.

    Returns ``"written"``, or ``"identical"`` when a checkpoint of that name already holds the
    very same bytes (a reproduced resume). Raises ``FileExistsError`` when a *different*
    checkpoint of that name exists; existing checkpoints are never overwritten. ``digests``,
    when given, is filled with each file's sha256 (taken from the bytes as they are written,
    so nobody has to read the checkpoint back to hash it).
    """
    staged = stage_checkpoint(run_dir, name, state, max_shard_bytes=max_shard_bytes)
    try:
        status = staged.commit()
    except BaseException:
        staged.discard()
        raise
    if digests is not None:
        digests.update(staged.digests)
    return status


def adopt_checkpoint(run_dir: Path, src: Path, name: str) -> str:
    """Copy checkpoint folder ``src`` (a pulled release's, another run's) byte for byte into
    ``run_dir/checkpoints/name`` through the staging area; ``written`` or ``identical``. A
    different checkpoint of that name is bad input (exit 2), never overwritten."""
    loaded = load_checkpoint(src)  # a readable checkpoint, or bad input naming what is missing
    run_dir = Path(run_dir)
    check_run_paths(run_dir)
    files = sorted(Path(src).iterdir())
    for path in files:
        if path.is_symlink() or not path.is_file():
            raise UnsafePathError(f"{path}: not a regular file; a checkpoint folder holds "
                                  "only files")
    writer = RunWriter(run_dir)
    staged = writer.stage_checkpoint(name, {p.name: p for p in files},
                                     state=TrainerState.from_data(loaded.trainer_state))
    try:
        return staged.commit()
    except FileExistsError as exc:
        raise InputError(f"{staged.final} exists and differs from {src}",
                         hint="resume from the run's own checkpoint folder, or train the other "
                              "run's checkpoint in a new run directory") from exc
    finally:
        staged.discard()


def folder_root_digest(folder: Path) -> str:
    """The OMS root digest of a checkpoint folder (names relative to the folder)."""
    folder = Path(folder)
    return root_digest((p.name, sha256_file(p)[1]) for p in sorted(folder.iterdir())
                       if p.is_file())


def _shard_names(folder: Path, prefix: str) -> list[str]:
    """The safetensors files holding ``prefix`` tensors: ``prefix.safetensors`` or the shards
    its index names (each a plain file name of this folder)."""
    index_path = folder / f"{prefix}.safetensors.index.json"
    if not index_path.exists():
        return [f"{prefix}.safetensors"]
    try:
        index = json.loads(index_path.read_bytes())
        names = sorted(set(index["weight_map"].values()))
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise InputError(f"{index_path}: not a safetensors index ({exc})") from exc
    for name in names:
        m = _SHARD.match(name) if isinstance(name, str) else None
        if m is None or m.group(1) != prefix:
            raise InputError(f"{index_path}: weight_map names {name!r}, not a "
                             f"{prefix}-NNNNN-of-NNNNN.safetensors file of the folder")
    return names


def _load_tensors(folder: Path, prefix: str) -> dict[str, torch.Tensor]:
    out: dict[str, torch.Tensor] = {}
    for name in _shard_names(folder, prefix):
        if not (folder / name).is_file():
            raise InputError(f"{folder}: not a checkpoint ({name} is missing)",
                             hint="resume from a folder that `llm360 train` wrote")
        out.update(load_file(str(folder / name)))
    return out


def load_checkpoint(folder: Path) -> CheckpointState:
    """Read a checkpoint folder (single or sharded files); a missing folder or file is bad
    input (exit 2) naming it."""
    from llm360.train.inputs import check_checkpoint_folder

    folder = Path(folder)
    check_checkpoint_folder(folder)
    try:
        return CheckpointState(
            model=_load_tensors(folder, "model"),
            optimizer=_load_tensors(folder, "optimizer"),
            rng=load_file(str(folder / layout.RNG)),
            trainer_state=json.loads((folder / layout.TRAINER_STATE).read_bytes()),
            config=json.loads((folder / layout.CHECKPOINT_CONFIG).read_bytes()),
            generation_config=json.loads((folder / layout.GENERATION_CONFIG).read_bytes()),
            tokenizer={name: (folder / name).read_bytes() for name in TOKENIZER_FILES
                       if (folder / name).is_file()},
        )
    except FileNotFoundError as exc:
        raise InputError(f"{folder}: not a checkpoint ({Path(exc.filename).name} is missing)",
                         hint="resume from a folder that `llm360 train` wrote") from exc
    except (OSError, ValueError, SafetensorError) as exc:
        raise InputError(f"{folder}: unreadable checkpoint: {exc}") from exc
