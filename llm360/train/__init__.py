"""Training: corpus -> data chunks -> a LLaMA trained chunk by chunk into a run directory.

Imports torch where it trains; ``llm360.registry`` never imports this package. The public
names below are imported on first use (PEP 562), so ``llm360.train.data`` (``data prepare``)
and ``llm360.train.inputs`` (what ``train`` checks first) load without torch: a command given
a bad path says so before torch is imported.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from llm360.train.config import PRESETS, ModelConfig, TrainConfig
    from llm360.train.data import PrepareResult, prepare_data
    from llm360.train.loop import TrainOptions, TrainResult, train

#: public name -> the module that defines it
_HOMES = {
    **dict.fromkeys(("PRESETS", "ModelConfig", "TrainConfig"), "config"),
    **dict.fromkeys(("PrepareResult", "prepare_data"), "data"),
    **dict.fromkeys(("TrainOptions", "TrainResult", "train"), "loop"),
}

__all__ = ["PRESETS", "ModelConfig", "TrainConfig", "PrepareResult", "prepare_data",
           "TrainOptions", "TrainResult", "train"]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'llm360.train' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"llm360.train.{home}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_HOMES})

