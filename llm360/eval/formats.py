"""Read the results files of lm-evaluation-harness (0.4 and 0.3) and of the Open LLM
Leaderboard (v1 details) into one shape: typed results plus what the file says about the model
(revision, checkpoint folder), the harness and the run's settings.

Parsing rules (lm-eval 0.4, ``lm_eval/evaluator_utils.py``): a metric key is
``"<metric>,<filter>"`` split on the first comma; ``<metric>_stderr,<filter>`` is its standard
error, a number or the string ``"N/A"`` (kept as none); ``name``, ``alias``, ``sample_len`` and
``samples`` are not metrics; a group whose only other key is ``" "`` is a placeholder. The
number of documents is ``n-samples[task].effective``. The 0.3 format has no filter and one
``config.num_fewshot`` for the file; the Leaderboard's keys are ``suite|task|n_shot``. No
harness is imported here.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from llm360.errors import InputError
from llm360.registry.manifest import benchmark_catalog as catalog
from llm360.registry.run.benchmarks import BenchmarkDataset, Harness

__all__ = ["ParsedResult", "ParsedFile", "parse_results", "FORMAT_V04", "FORMAT_V03",
           "FORMAT_LEADERBOARD"]

FORMAT_V04, FORMAT_V03, FORMAT_LEADERBOARD = ("lm-eval/0.4", "lm-eval/0.3",
                                              "open-llm-leaderboard/v1")
_NOT_METRICS = frozenset({"name", "alias", "sample_len", "samples", " "})


@dataclass(frozen=True, kw_only=True)
class ParsedResult:
    task: str
    benchmark: str
    metric: str
    filter: str
    n_shot: int | None
    value: float
    stderr: float | None
    samples: int | None
    primary: bool
    dataset: BenchmarkDataset
    task_version: str | None
    task_hash: str | None


@dataclass(frozen=True, kw_only=True)
class ParsedFile:
    format: str
    results: tuple[ParsedResult, ...]
    revision: str | None          # config.model_revision, or revision= in model_args
    pretrained: str | None        # pretrained= in model_args (a Hub id or a folder)
    date: str | None              # when the harness ran, ISO 8601 UTC
    limit: float | None
    harness: Harness


def _number(value: Any) -> float | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 \
        else None


def _text(value: Any) -> str | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return value if isinstance(value, str) and value else None


def _dict(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def _iso(value: Any) -> str | None:
    """A harness date (seconds since the epoch) as ISO 8601 UTC."""
    seconds = _number(value)
    if seconds is None or not 0 <= seconds < 253402300800:
        return None
    return datetime.fromtimestamp(seconds, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def model_args(value: Any) -> dict[str, str]:
    """``model_args`` as a mapping: a ``"k=v,k=v"`` string (as the CLI takes it) or a dict."""
    if isinstance(value, dict):
        return {str(k): str(v) for k, v in value.items() if v is not None}
    if not isinstance(value, str):
        return {}
    out = {}
    for part in value.split(","):
        key, sep, val = part.partition("=")
        if sep:
            out[key.strip()] = val.strip()
    return out


def _shots_name(title: str, n: int | None) -> str:
    return f"{title} ({n}-Shot)" if n is not None else title


def _dataset(task: str, bench: catalog.Benchmark | None, n_shot: int | None,
             config: Mapping) -> BenchmarkDataset:
    if bench is not None:
        return BenchmarkDataset(type=bench.dataset_type, name=_shots_name(bench.title, n_shot),
                                config=bench.config, split=bench.split)
    meta = _dict(_dict(config.get("metadata")).get("hub_dataset"))
    if isinstance(meta.get("type"), str) and meta["type"]:  # a task that names its dataset
        return BenchmarkDataset(type=meta["type"], name=_text(meta.get("name")) or task,
                                config=_text(meta.get("config")), split=_text(meta.get("split")))
    split = _text(config.get("test_split")) or _text(config.get("validation_split"))
    return BenchmarkDataset(type=_text(config.get("dataset_path")) or task,
                            name=_shots_name(task, n_shot),
                            config=_text(config.get("dataset_name")), split=split)


def _primary_metric(metrics: list[tuple[str, str]]) -> tuple[str, str] | None:
    for wanted in catalog.PRIMARY_PREFERENCE:
        found = sorted(f for m, f in metrics if m == wanted)
        if found:
            return wanted, "none" if "none" in found else found[0]
    return min(metrics) if metrics else None


def detect(data: dict) -> str | None:
    results = data.get("results")
    if not isinstance(results, dict) or not results:
        return None
    if "config_general" in data or any("|" in str(k) for k in results):
        return FORMAT_LEADERBOARD
    if any(k in data for k in ("n-shot", "configs", "lm_eval_version", "n-samples")) or any(
            "," in str(key) for entry in results.values() if isinstance(entry, dict)
            for key in entry):
        return FORMAT_V04
    if all(isinstance(entry, dict) for entry in results.values()):
        return FORMAT_V03
    return None


def parse_results(data: Any, *, source: str) -> ParsedFile:
    """The results of one results file's JSON ``data``; ``InputError`` naming ``source`` for
    anything that is not one of the three formats."""
    kind = detect(data) if isinstance(data, dict) else None
    if kind is None:
        raise InputError(f"{source}: not an lm-evaluation-harness or Open LLM Leaderboard "
                         "results file (no 'results' object of tasks)",
                         hint="pass the results_*.json that lm_eval --output_path writes")
    parse = {FORMAT_V04: _v04, FORMAT_V03: _v03, FORMAT_LEADERBOARD: _leaderboard}[kind]
    parsed = parse(data)
    if not parsed.results:
        raise InputError(f"{source}: no numeric results in the file")
    return parsed


def _v04(data: dict) -> ParsedFile:
    config = _dict(data.get("config"))
    args = model_args(config.get("model_args"))
    configs, shots = _dict(data.get("configs")), _dict(data.get("n-shot"))
    samples, versions = _dict(data.get("n-samples")), _dict(data.get("versions"))
    hashes = _dict(data.get("task_hashes"))
    members = {t for subs in _dict(data.get("group_subtasks")).values()
               if isinstance(subs, list) for t in subs}
    out = []
    for task, entry in sorted(_dict(data.get("results")).items()):
        entry = _dict(entry)
        metrics = []
        for key, value in entry.items():
            metric, sep, filt = str(key).partition(",")
            if sep and key not in _NOT_METRICS and not metric.endswith("_stderr") \
                    and _number(value) is not None:
                metrics.append((metric, filt))
        if not metrics:
            continue  # a group placeholder, or no numbers
        bench = catalog.by_task(task)
        n_shot = _int(shots.get(task))
        if bench is not None and (bench.metric, bench.filter) in metrics:
            headline = (bench.metric, bench.filter)
        else:
            headline = _primary_metric(metrics) if task not in members else None
        n_docs = _int(_dict(samples.get(task)).get("effective"))
        dataset = _dataset(task, bench, n_shot, _dict(configs.get(task)))
        for metric, filt in sorted(metrics):
            out.append(ParsedResult(
                task=task, benchmark=bench.id if bench else task, metric=metric, filter=filt,
                n_shot=n_shot, value=_number(entry[f"{metric},{filt}"]),
                stderr=_number(entry.get(f"{metric}_stderr,{filt}")),
                samples=n_docs if n_docs is not None else _int(entry.get("sample_len")),
                primary=(metric, filt) == headline, dataset=dataset,
                task_version=_text(versions.get(task)), task_hash=_text(hashes.get(task))))
    return ParsedFile(format=FORMAT_V04, results=tuple(out),
                      revision=_text(config.get("model_revision")) or args.get("revision"),
                      pretrained=args.get("pretrained"), date=_iso(data.get("date")),
                      limit=_number(config.get("limit")),
                      harness=Harness(name="lm-evaluation-harness",
                                      version=_text(data.get("lm_eval_version")),
                                      commit=_text(data.get("git_hash"))))


def _flat(task: str, entry: dict, bench: catalog.Benchmark | None, headline: str | None,
          n_shot: int | None, version: str | None, *, subtask: bool) -> list[ParsedResult]:
    """Results of a format without filters: ``acc``, ``acc_stderr``, ..."""
    out = []
    dataset = _dataset(task, bench, n_shot, {})
    names = [k for k in entry if not str(k).endswith("_stderr") and k not in _NOT_METRICS
             and _number(entry[k]) is not None]
    if headline is None and bench is None and not subtask:
        found = _primary_metric([(k, "none") for k in names])
        headline = found[0] if found else None
    for metric in sorted(names):
        out.append(ParsedResult(
            task=task, benchmark=bench.id if bench else task, metric=metric, filter="none",
            n_shot=n_shot, value=_number(entry[metric]),
            stderr=_number(entry.get(f"{metric}_stderr")), samples=None,
            primary=metric == headline, dataset=dataset, task_version=version, task_hash=None))
    return out


def _mmlu_subtask(task: str) -> bool:
    return task.startswith(catalog.MMLU_SUBTASK_PREFIXES)


def _mmlu_mean(accs: list[float], n_shot: int | None) -> list[ParsedResult]:
    """The Leaderboard's MMLU: the unweighted mean ``acc`` of its 57 subjects (none when a
    subject is missing)."""
    if len(accs) != catalog.MMLU_SUBJECTS:
        return []
    bench = catalog.by_task("mmlu")
    return [ParsedResult(task="mmlu", benchmark="mmlu", metric="acc", filter="none",
                         n_shot=n_shot, value=sum(accs) / len(accs), stderr=None, samples=None,
                         primary=True, dataset=_dataset("mmlu", bench, n_shot, {}),
                         task_version=None, task_hash=None)]


def _v03(data: dict) -> ParsedFile:
    config = _dict(data.get("config"))
    args = model_args(config.get("model_args"))
    n_shot = _int(config.get("num_fewshot"))
    versions = _dict(data.get("versions"))
    out: list[ParsedResult] = []
    for task, entry in sorted(_dict(data.get("results")).items()):
        bench = catalog.by_task(task)
        out += _flat(task, _dict(entry), bench, bench.v03_metric if bench else None, n_shot,
                     _text(versions.get(task)), subtask=_mmlu_subtask(task))
    out += _mmlu_mean([r.value for r in out if _mmlu_subtask(r.task) and r.metric == "acc"],
                      n_shot)
    return ParsedFile(format=FORMAT_V03, results=tuple(out), revision=args.get("revision"),
                      pretrained=args.get("pretrained"), date=_iso(data.get("date")),
                      limit=_number(config.get("limit")),
                      harness=Harness(name="lm-evaluation-harness", version=None,
                                      commit=_text(data.get("git_hash"))))


def _leaderboard(data: dict) -> ParsedFile:
    general = _dict(data.get("config_general"))
    versions = _dict(data.get("versions"))
    out: list[ParsedResult] = []
    mmlu: dict[int, list[float]] = {}
    for key, entry in sorted(_dict(data.get("results")).items()):
        parts = str(key).split("|")
        if len(parts) != 3 or not parts[2].isdigit():
            continue  # "all": the Leaderboard's own average
        name, n_shot = parts[1], int(parts[2])
        bench = catalog.by_lighteval_name(name)
        rows = _flat(str(key), _dict(entry), bench, bench.lighteval_metric if bench else None,
                     n_shot, _text(versions.get(key)), subtask=_mmlu_subtask(name))
        out += rows
        if _mmlu_subtask(name):
            mmlu.setdefault(n_shot, []).extend(r.value for r in rows if r.metric == "acc")
    for n_shot, accs in sorted(mmlu.items()):
        out += _mmlu_mean(accs, n_shot)
    return ParsedFile(format=FORMAT_LEADERBOARD, results=tuple(out),
                      revision=_text(general.get("model_revision")), pretrained=None,
                      date=_iso(general.get("start_time")),
                      limit=_number(general.get("max_samples")),
                      harness=Harness(name="lighteval", version=None,
                                      commit=_text(general.get("lighteval_sha"))))


def load_document(raw: bytes, *, source: str) -> Any:
    """JSON ``raw`` (NaN and infinities, which Python's json writes, read as null); one line
    naming ``source`` for anything else (a crashed run's ``running...`` placeholder)."""
    try:
        return json.loads(raw.decode("utf-8"), parse_constant=lambda _name: None)
    except RecursionError:
        raise InputError(f"{source}: JSON nested too deeply") from None
    except (UnicodeDecodeError, ValueError):
        head = raw[:40].decode("utf-8", "replace").strip().splitlines()
        what = f"it starts {head[0]!r}" if head else "it is empty"
        raise InputError(f"{source}: not a JSON results file ({what}); a run that crashed "
                         "or is still running leaves such a placeholder",
                         hint="evaluate that checkpoint again, then import its results") \
            from None
