"""What ``llm360 train`` checks before it imports torch (seconds on a busy machine): the run's
prepared data, the ``--config`` file and the ``--resume-from`` folder. A bad path or file is a
one-line error (exit 2) at once; the training code runs the same checks where it reads them."""

from __future__ import annotations

from pathlib import Path

from llm360.errors import InputError
from llm360.registry import layout
from llm360.train.config import read_config_file

__all__ = ["check_train_inputs", "check_checkpoint_folder", "require_prepared",
           "not_prepared"]

#: the files a checkpoint folder needs to be resumed from (the weights may be sharded)
_CHECKPOINT_FILES = (layout.TRAINER_STATE, layout.CHECKPOINT_CONFIG, layout.RNG)


def not_prepared(run_dir: Path, missing: object) -> InputError:
    return InputError(f"{run_dir}: no prepared data ({missing} is missing)",
                      hint=f"run `llm360 data prepare --run {run_dir}` first")


def require_prepared(run_dir: Path) -> None:
    """``run_dir`` holds what ``llm360 data prepare`` writes (its index and data config)."""
    for rel in (layout.DATA_INDEX, layout.DATA_CONFIG):
        if not (Path(run_dir) / rel).is_file():
            raise not_prepared(run_dir, Path(run_dir) / rel)


def check_checkpoint_folder(folder: Path) -> None:
    """``folder`` is a checkpoint folder to resume from; else bad input naming it."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"{folder}: checkpoint folder not found",
                         hint="pass a folder under RUN/checkpoints/ (or one `llm360 pull` "
                              "wrote)")
    for name in _CHECKPOINT_FILES:
        if not (folder / name).is_file():
            raise InputError(f"{folder}: not a checkpoint ({name} is missing)",
                             hint="resume from a folder that `llm360 train` wrote")


def check_train_inputs(run_dir: Path, *, config_file: Path | None = None,
                       resume_from: Path | None = None) -> None:
    """Every input of a training run that can be checked without torch."""
    require_prepared(run_dir)
    if config_file is not None:
        read_config_file(config_file)
    if resume_from is not None:
        check_checkpoint_folder(resume_from)
