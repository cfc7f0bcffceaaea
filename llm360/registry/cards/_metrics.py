"""Metric names and the evaluation set each metric was measured on.

* the run's held-out set (``heldout_*``, ``next_token_accuracy``): rows of the run's data that no
  checkpoint trained on;
* the training data (``memorization_*``): the memorization score of Biderman et al. 2023 on rows
  the checkpoint has seen;
* a benchmark, when the eval file names one: ``benchmarks: [{"dataset": "ORG/NAME", "name":
  ..., "split": ..., "config": ..., "metrics": {"<metric key>": "<Hub metric type>"}}]``
  (``schemas/eval.v1.schema.json``);
* anything else is the release's own evaluation, named as such.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from llm360.registry.run.records import EvalDetails, EvalRecord

__all__ = ["EvalSet", "metric_label", "eval_set_for", "memorization_label", "HELDOUT",
           "TRAINING", "OTHER", "MEMORIZATION_SCORE", "MEMORIZATION_EXACT"]

MEMORIZATION_SCORE = "memorization_score"
MEMORIZATION_EXACT = "memorization_exact_match"
HELDOUT, TRAINING, OTHER = "heldout", "training", "other"

_LABELS = {
    "train_loss": "Train loss (mean over the chunk's steps)", "heldout_loss": "Held-out loss",
    "heldout_perplexity": "Held-out perplexity",
    "next_token_accuracy": "Next-token accuracy",
    MEMORIZATION_EXACT: "Memorization exact match (share of rows with score 1)",
    "memorization": "Memorization (exact-match fraction of sampled rows)",
    "eval_loss": "Eval loss",
}

_HUB_TYPES = {"heldout_loss": "loss", "heldout_perplexity": "perplexity",
              "next_token_accuracy": "accuracy"}


@dataclass(frozen=True, kw_only=True)
class EvalSet:
    """An evaluation set as the Hub's model-index names it."""

    key: str               # "heldout", "training", "other" or "benchmark:<dataset id>"
    name: str              # a pretty name
    hub_type: str          # the dataset id (a Hub dataset id where there is one)
    split: str | None = None
    config: str | None = None
    metric_types: Mapping[str, str] | None = None  # metric key -> Hub metric type

    def metric_type(self, key: str) -> str:
        """The Hub metric id: the eval file's, else the standard one, else the key itself."""
        return (self.metric_types or {}).get(key) or _HUB_TYPES.get(key) or key


def memorization_label(details: EvalDetails | None) -> str:
    """The memorization score's name with its k (prefix) and l (continuation) lengths: those the
    eval record states, else the definition's k = l = 32."""
    mem = details.memorization if details is not None else None
    k = mem.prefix if mem is not None and mem.prefix is not None else 32
    ell = mem.continuation if mem is not None and mem.continuation is not None else 32
    lengths = f"k=l={k}" if k == ell else f"k={k}, l={ell}"
    return f"Memorization score (Biderman et al. 2023, {lengths})"


def metric_label(key: str, details: EvalDetails | None = None) -> str:
    if key == MEMORIZATION_SCORE:
        return memorization_label(details)
    return _LABELS.get(key, key.replace("_", " ").capitalize())


def eval_set_for(key: str, record: EvalRecord | None, *, release: str,
                 data_repo: str | None) -> EvalSet | None:
    """The evaluation set metric ``key`` of an eval ``record`` was measured on; None for
    training metrics (``train_*``), which are not evaluations."""
    if key.startswith("train_"):
        return None
    for bench in (record.benchmarks or ()) if record is not None else ():
        if key in bench.metrics:
            dataset = bench.dataset
            return EvalSet(key=f"benchmark:{dataset}", name=bench.name or dataset,
                           hub_type=dataset, split=bench.split or None,
                           config=bench.config or None, metric_types=dict(bench.metrics))
    if key.startswith("heldout_") or key == "next_token_accuracy":
        return EvalSet(key=HELDOUT, name=f"{release} held-out set",
                       hub_type=data_repo or f"{release}-heldout",
                       split="heldout" if data_repo else None)
    if key.startswith("memorization"):
        return EvalSet(key=TRAINING, name=f"{release} training data (rows seen)",
                       hub_type=data_repo or f"{release}-train",
                       split="train" if data_repo else None)
    return EvalSet(key=OTHER, name=f"{release} evaluations", hub_type=f"{release}-eval")
