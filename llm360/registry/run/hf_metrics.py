"""The fields of a Hugging Face ``Trainer`` evaluation log that are results, and those that
are not.

``Trainer.evaluate`` logs its metrics (``eval_loss``, ``eval_accuracy``, ...) together with how
long and how fast it ran (``eval_runtime``, ``eval_samples_per_second``,
``eval_steps_per_second``, memory deltas) and where training stood (``epoch``). Only the first
are evaluation results; the others go to the eval record's ``details.runtime``, never to its
``metrics`` (where cards would show them as results and plot ``eval_eval_runtime``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

__all__ = ["metric_name", "split_eval_log", "RUNTIME_KEYS", "RUNTIME_SUFFIXES"]

#: fields about the run, not results
RUNTIME_KEYS = frozenset({"epoch", "step", "total_flos", "num_input_tokens_seen",
                          "learning_rate", "grad_norm", "loss"})
#: ``<prefix>_runtime``, ``<prefix>_samples_per_second``, ... (transformers' speed and memory
#: metrics)
RUNTIME_SUFFIXES = ("_runtime", "_samples_per_second", "_steps_per_second",
                    "_tokens_per_second", "_model_preparation_time", "_jit_compilation_time",
                    "_flos")
_MEMORY = re.compile(r"_mem_(cpu|gpu)_")


def metric_name(key: str) -> str:
    """A log key as a snake_case metric name (``eval/loss`` -> ``eval_loss``)."""
    return re.sub(r"[^a-z0-9_]", "_", key.lower()).strip("_") or "metric"


def _is_runtime(name: str) -> bool:
    return (name in RUNTIME_KEYS or name.endswith(RUNTIME_SUFFIXES)
            or _MEMORY.search(name) is not None)


def split_eval_log(entry: Mapping[str, Any]) -> tuple[dict[str, float], dict[str, float]]:
    """(evaluation results, runtime and throughput fields) of one evaluation log entry: the
    numeric fields, named as ``metric_name`` names them."""
    results: dict[str, float] = {}
    runtime: dict[str, float] = {}
    for key, value in entry.items():
        if not isinstance(value, (int, float)) or isinstance(value, bool) \
                or not math.isfinite(value):
            continue
        name = metric_name(str(key))
        (runtime if _is_runtime(name) else results)[name] = float(value)
    return results, runtime
