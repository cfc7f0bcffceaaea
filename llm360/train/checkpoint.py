"""Backend-neutral checkpoints: safetensors tensors and sorted-key JSON, written all or nothing.

A checkpoint folder holds ``model.safetensors`` (HF names), ``optimizer.safetensors``
(``<param>.exp_avg``, ``<param>.exp_avg_sq``, ``<param>.step``), ``rng.safetensors``,
``trainer_state.json``, ``config.json`` and ``generation_config.json``. It is assembled in
``RUN/.llm360/staging/`` (a folder the registry ignores) and renamed into ``checkpoints/`` in one
step, so an interrupted save leaves the previous checkpoints intact and no half checkpoint.
Safetensors files carry exactly ``{"format": "pt"}`` as metadata, which keeps them byte-stable.
"""

from __future__ import annotations

import hashlib
import os
import random
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save

from llm360.errors import TrainingError
from llm360.registry._files import write_atomic
from llm360.registry.hashing import FileDigest, record_written, root_digest, sha256_file
from llm360.registry.serialize import canonical_json

__all__ = ["CheckpointState", "save_checkpoint", "load_checkpoint", "folder_root_digest",
           "capture_rng", "restore_rng", "STAGING", "clean_staging", "same_files"]

STAGING = Path(".llm360") / "staging"
_META = {"format": "pt"}


@dataclass(frozen=True, kw_only=True)
class CheckpointState:
    """Everything a checkpoint folder holds, in memory."""

    model: dict[str, torch.Tensor]
    optimizer: dict[str, torch.Tensor]
    rng: dict[str, torch.Tensor]
    trainer_state: dict
    config: dict
    generation_config: dict


def _tensors_bytes(tensors: dict[str, torch.Tensor]) -> bytes:
    return save({k: v.detach().to("cpu").contiguous() for k, v in tensors.items()},
                metadata=_META)


def capture_rng() -> dict[str, torch.Tensor]:
    """torch, numpy (legacy global) and Python RNG states as tensors."""
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
    if torch.cuda.is_available():
        out["torch_cuda"] = torch.cuda.get_rng_state()
    return out


def restore_rng(rng: dict[str, torch.Tensor]) -> None:
    torch.set_rng_state(rng["torch_cpu"])
    if "torch_cuda" in rng and torch.cuda.is_available():
        torch.cuda.set_rng_state(rng["torch_cuda"])
    version, has_gauss = rng["python_meta"].tolist()
    gauss = rng["python_gauss"].item() if has_gauss else None
    random.setstate((version, tuple(rng["python_state"].tolist()), gauss))
    pos, np_has_gauss = rng["numpy_meta"].tolist()
    np.random.set_state(("MT19937", rng["numpy_key"].numpy().astype(np.uint32), pos,
                         np_has_gauss, rng["numpy_gauss"].item()))


def clean_staging(run_dir: Path) -> None:
    """Remove what an interrupted save left in the staging folder."""
    shutil.rmtree(Path(run_dir) / STAGING, ignore_errors=True)


def _files(state: CheckpointState) -> list[tuple[str, Callable[[], bytes]]]:
    return [
        ("model.safetensors", lambda: _tensors_bytes(state.model)),
        ("optimizer.safetensors", lambda: _tensors_bytes(state.optimizer)),
        ("rng.safetensors", lambda: _tensors_bytes(state.rng)),
        ("config.json", lambda: canonical_json(state.config)),
        ("generation_config.json", lambda: canonical_json(state.generation_config)),
        ("trainer_state.json", lambda: canonical_json(state.trainer_state)),
    ]


def same_files(a: Path, b: Path) -> bool:
    """True when folders ``a`` and ``b`` hold the same file names with the same bytes."""
    names_a = sorted(p.name for p in Path(a).iterdir())
    names_b = sorted(p.name for p in Path(b).iterdir())
    return names_a == names_b and all(sha256_file(Path(a) / n)[1] == sha256_file(Path(b) / n)[1]
                                      for n in names_a)


def save_checkpoint(run_dir: Path, name: str, state: CheckpointState, *,
                    digests: dict[str, str] | None = None) -> str:
    """Write checkpoint ``name`` into ``run_dir/checkpoints/`` atomically.

    Returns ``"written"``, or ``"identical"`` when a checkpoint of that name already holds the
    very same bytes (a reproduced resume). Raises ``FileExistsError`` when a *different*
    checkpoint of that name exists; existing checkpoints are never overwritten. ``digests``,
    when given, is filled with each file's sha256 (taken from the bytes as they are written,
    so nobody has to read the checkpoint back to hash it).
    """
    run_dir = Path(run_dir)
    final = run_dir / "checkpoints" / name
    staging_root = run_dir / STAGING
    staging_root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f"{name}.", dir=staging_root))
    written: list[FileDigest] = []  # recorded in the run's hash cache once in place
    try:
        for filename, produce in _files(state):
            data = produce()
            write_atomic(tmp / filename, data)
            written.append(FileDigest(path=f"checkpoints/{name}/{filename}", size=len(data),
                                      sha256=hashlib.sha256(data).hexdigest()))
            if digests is not None:
                digests[filename] = written[-1].sha256
        os.chmod(tmp, 0o755)
        if final.exists():
            if same_files(tmp, final):
                shutil.rmtree(tmp)
                return "identical"
            raise FileExistsError(str(final))
        final.parent.mkdir(parents=True, exist_ok=True)
        os.rename(tmp, final)
        _fsync_dir(final.parent)
        record_written(run_dir, written)  # release build need not read these bytes again
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return "written"


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def folder_root_digest(folder: Path) -> str:
    """The OMS root digest of a checkpoint folder (names relative to the folder)."""
    folder = Path(folder)
    return root_digest((p.name, sha256_file(p)[1]) for p in sorted(folder.iterdir())
                       if p.is_file())


def load_checkpoint(folder: Path) -> CheckpointState:
    """Read a checkpoint folder; ``TrainingError`` names what is missing or unreadable."""
    import json

    folder = Path(folder)
    if not folder.is_dir():
        raise TrainingError(f"{folder}: checkpoint folder not found")
    try:
        return CheckpointState(
            model=load_file(str(folder / "model.safetensors")),
            optimizer=load_file(str(folder / "optimizer.safetensors")),
            rng=load_file(str(folder / "rng.safetensors")),
            trainer_state=json.loads((folder / "trainer_state.json").read_bytes()),
            config=json.loads((folder / "config.json").read_bytes()),
            generation_config=json.loads((folder / "generation_config.json").read_bytes()),
        )
    except FileNotFoundError as exc:
        raise TrainingError(f"{folder}: not a checkpoint ({Path(exc.filename).name} is missing)",
                            hint="resume from a folder that `llm360 train` wrote") from exc
    except (OSError, ValueError) as exc:
        raise TrainingError(f"{folder}: unreadable checkpoint: {exc}") from exc
