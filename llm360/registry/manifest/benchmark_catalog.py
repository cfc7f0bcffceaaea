"""The benchmarks the Open LLM Leaderboard (v1) and LLM360's cards report, as each results
format names them, with the dataset and headline metric the Hub's ``model-index`` gives them.

Names per format: lm-evaluation-harness 0.4 (``arc_challenge``, metric keys ``acc_norm,none``),
the older 0.3 (``truthfulqa_mc`` with ``mc2``, ``hendrycksTest-<subject>``) and the Leaderboard's
lighteval details (``harness|arc:challenge|25``). A task outside this table keeps the dataset
its harness configuration names, and its first usual metric as the headline.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Benchmark", "BENCHMARKS", "by_task", "by_lighteval_name", "MMLU_SUBTASK_PREFIXES",
           "MMLU_SUBJECTS", "PRIMARY_PREFERENCE", "metric_label"]


@dataclass(frozen=True, kw_only=True)
class Benchmark:
    id: str                       # one name across formats (the lm-eval 0.4 task name)
    title: str                    # the Leaderboard's pretty name, without the shots
    dataset_type: str             # model-index dataset.type
    config: str | None
    split: str
    metric: str                   # the headline metric as lm-eval 0.4 names it
    filter: str = "none"
    hub_metric: str               # model-index metrics[].type
    shots: int | None             # the Leaderboard's n-shot
    v03_names: tuple[str, ...] = ()
    v03_metric: str | None = None
    lighteval_names: tuple[str, ...] = ()
    lighteval_metric: str | None = None


BENCHMARKS: tuple[Benchmark, ...] = (
    Benchmark(id="arc_challenge", title="AI2 Reasoning Challenge", dataset_type="ai2_arc",
              config="ARC-Challenge", split="test", metric="acc_norm", hub_metric="acc_norm",
              shots=25, v03_names=("arc_challenge",), v03_metric="acc_norm",
              lighteval_names=("arc:challenge",), lighteval_metric="acc_norm"),
    Benchmark(id="hellaswag", title="HellaSwag", dataset_type="hellaswag", config=None,
              split="validation", metric="acc_norm", hub_metric="acc_norm", shots=10,
              v03_names=("hellaswag",), v03_metric="acc_norm",
              lighteval_names=("hellaswag",), lighteval_metric="acc_norm"),
    Benchmark(id="mmlu", title="MMLU", dataset_type="cais/mmlu", config="all", split="test",
              metric="acc", hub_metric="acc", shots=5),
    Benchmark(id="truthfulqa_mc2", title="TruthfulQA", dataset_type="truthful_qa",
              config="multiple_choice", split="validation", metric="acc", hub_metric="mc2",
              shots=0, v03_names=("truthfulqa_mc",), v03_metric="mc2",
              lighteval_names=("truthfulqa:mc",), lighteval_metric="mc2"),
    Benchmark(id="winogrande", title="Winogrande", dataset_type="winogrande",
              config="winogrande_xl", split="validation", metric="acc", hub_metric="acc",
              shots=5, v03_names=("winogrande",), v03_metric="acc",
              lighteval_names=("winogrande",), lighteval_metric="acc"),
    Benchmark(id="gsm8k", title="GSM8k", dataset_type="gsm8k", config="main", split="test",
              metric="exact_match", filter="flexible-extract", hub_metric="acc", shots=5,
              v03_names=("gsm8k",), v03_metric="acc",
              lighteval_names=("gsm8k",), lighteval_metric="acc"),
    Benchmark(id="humaneval", title="HumanEval", dataset_type="openai_humaneval", config=None,
              split="test", metric="pass@1", filter="create_test", hub_metric="pass@1",
              shots=0),
    Benchmark(id="mbpp", title="MBPP", dataset_type="mbpp", config="full", split="test",
              metric="pass_at_1", hub_metric="pass@1", shots=3),
)
_BY_TASK = {b.id: b for b in BENCHMARKS} | {n: b for b in BENCHMARKS for n in b.v03_names}
_BY_LIGHTEVAL = {n: b for b in BENCHMARKS for n in b.lighteval_names}
#: MMLU subtasks in the older formats (the Leaderboard averages the 57 subjects, unweighted)
MMLU_SUBTASK_PREFIXES = ("hendrycksTest-",)
MMLU_SUBJECTS = 57
#: the headline metric of a task outside the table: the first of these it reports
PRIMARY_PREFERENCE = ("acc_norm", "acc", "exact_match", "pass@1", "pass_at_1", "mc2", "f1",
                      "em", "word_perplexity")
_LABELS = {"acc": "accuracy", "acc_norm": "normalized accuracy", "mc2": "mc2",
           "exact_match": "exact match", "pass@1": "pass@1", "pass_at_1": "pass@1"}


def by_task(name: str) -> Benchmark | None:
    """The benchmark an lm-eval task name (0.4 or 0.3) measures, else None."""
    return _BY_TASK.get(name)


def by_lighteval_name(name: str) -> Benchmark | None:
    """The benchmark of a Leaderboard details task (``arc:challenge``), else None."""
    return _BY_LIGHTEVAL.get(name)


def metric_label(metric: str) -> str:
    """A metric's name for people (``acc_norm`` -> normalized accuracy)."""
    return _LABELS.get(metric, metric.replace("_", " "))
