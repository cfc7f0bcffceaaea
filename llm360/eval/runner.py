"""``llm360 eval RUN``: run EleutherAI's lm-evaluation-harness on a run's checkpoints.

Each checkpoint folder is evaluated through the harness's Python API
(``lm_eval.simple_evaluate`` with its Hugging Face model class, ``model="hf"``,
``pretrained=<checkpoint folder>``; the tokenizer is the one the folder carries, else the
run's). The harness's results document is kept per checkpoint in
``evals/benchmarks/raw/<checkpoint>/`` as sorted-key JSON, with two changes, both so the file
describes the release rather than this machine: paths inside the run are written relative to
it (``pretrained=checkpoints/ckpt_000``), and ``git_hash`` (which lm-eval takes from the
folder it runs in) is the harness's own commit where its installation records one, else null.
``task_hashes`` is filled as ``lm_eval --log_samples`` fills it. The rows of every checkpoint
are merged into ``evals/benchmarks/rows.json`` as soon as it is done.

A checkpoint whose rows already hold every task with the same n-shot and limit is skipped.
The harness is imported here only (the ``eval`` extra); nothing in ``llm360.registry`` needs it.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llm360.errors import InputError
from llm360.eval import embedded
from llm360.eval.formats import load_document, parse_results
from llm360.eval.store import (
    CheckpointFacts,
    evaluated,
    load_rows,
    merge_rows,
    raw_bytes,
    rows_for,
    run_checkpoints,
    store_raw,
    write_rows,
)
from llm360.registry import layout
from llm360.registry.run.benchmarks import BenchmarkRow
from llm360.registry.run.lock import lock_run

__all__ = ["EvalOptions", "CheckpointOutcome", "EvalResult", "evaluate_run", "harness_version"]

_QUIET_LOGGERS = ("lm_eval", "transformers", "datasets", "evaluate", "accelerate", "torch")


@dataclass(frozen=True, kw_only=True)
class EvalOptions:
    tasks: tuple[str, ...]
    checkpoints: tuple[str, ...] | None = None   # None: every checkpoint
    num_fewshot: int | None = None                # None: each task's own
    limit: float | None = None                    # the harness's --limit (marked wherever shown)
    batch_size: int = 8
    device: str = "auto"


@dataclass(frozen=True, kw_only=True)
class CheckpointOutcome:
    checkpoint: str
    step: int
    tokens_seen: int
    status: str                          # "evaluated" | "skipped"
    raw: str | None = None
    rows: tuple[BenchmarkRow, ...] = ()


@dataclass(frozen=True, kw_only=True)
class EvalResult:
    run: Path
    outcomes: tuple[CheckpointOutcome, ...]
    harness_version: str | None


def harness_version() -> tuple[str | None, str | None]:
    """(version, commit) of the installed lm-evaluation-harness; the commit only where the
    installation records one (a ``pip install git+...``)."""
    from importlib import metadata

    try:
        dist = metadata.distribution("lm_eval")
    except metadata.PackageNotFoundError:
        return None, None
    commit = None
    try:
        direct = json.loads(dist.read_text("direct_url.json") or "{}")
        commit = direct.get("vcs_info", {}).get("commit_id")
    except (ValueError, AttributeError):
        commit = None
    return dist.version, commit


def _harness() -> Any:
    try:
        import lm_eval
        import lm_eval.tasks  # noqa: F401
    except ImportError as exc:
        raise InputError(f"llm360 eval needs lm-evaluation-harness ({exc})",
                         hint="pip install 'llm360[eval]'") from None
    return lm_eval


def _select(checkpoints: dict[str, CheckpointFacts],
            wanted: Sequence[str] | None) -> list[CheckpointFacts]:
    if wanted is None:
        return list(checkpoints.values())
    missing = [w for w in wanted if w not in checkpoints]
    if missing:
        raise InputError(f"--checkpoints: {', '.join(missing)}: not a checkpoint of the run",
                         hint=f"the run has {', '.join(checkpoints)}")
    return [c for c in checkpoints.values() if c.name in set(wanted)]


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """The harness's logging and progress bars kept off the terminal (ours shows progress)."""
    levels = {name: logging.getLogger(name).level for name in _QUIET_LOGGERS}
    for name in _QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)
    try:
        with contextlib.redirect_stderr(io.StringIO()):
            yield
    finally:
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)


def _relative(data: Any, root: str) -> Any:
    """``data`` with the run's absolute folder written relative to it."""
    if isinstance(data, str):
        return data.replace(root + "/", "").replace(root, ".") if root in data else data
    if isinstance(data, list):
        return [_relative(v, root) for v in data]
    if isinstance(data, dict):
        return {k: _relative(v, root) for k, v in data.items()}
    return data


def _task_hashes(samples: Any) -> dict[str, str]:
    """Per task, sha256 over its samples' doc, prompt and target hashes (as lm-eval's
    ``EvaluationTracker`` computes ``task_hashes`` when samples are logged)."""
    import hashlib

    out = {}
    for task, items in (samples or {}).items():
        joined = "".join(s["doc_hash"] + s["prompt_hash"] + s["target_hash"] for s in items)
        out[task] = hashlib.sha256(joined.encode("utf-8")).hexdigest()
    return out


def _evaluate_one(lm_eval: Any, run: Path, ckpt: CheckpointFacts, tasks: list,
                  manager: Any, options: EvalOptions, device: str) -> dict:
    model_args = {"pretrained": str(ckpt.folder)}
    if not (ckpt.folder / "tokenizer.json").is_file() and (run / layout.TOKENIZER).is_file():
        model_args["tokenizer"] = str(run / layout.TOKENIZER_DIR)
    limit = options.limit
    results = lm_eval.simple_evaluate(
        model="hf", model_args=model_args, tasks=tasks, num_fewshot=options.num_fewshot,
        limit=int(limit) if limit is not None and limit >= 1 else limit,
        batch_size=options.batch_size, device=device, log_samples=True,
        task_manager=manager)
    samples = results.pop("samples", None)
    results["task_hashes"] = _task_hashes(samples)
    results["git_hash"] = harness_version()[1]
    return results


def evaluate_run(run: Path, options: EvalOptions, *,
                 progress: Callable[[int], None] | None = None,
                 set_total: Callable[[int], None] | None = None) -> EvalResult:
    """Evaluate the checkpoints of ``run`` on ``options.tasks`` (see the module's doc)."""
    run = Path(run).resolve()
    if not options.tasks:
        raise InputError("--tasks: name at least one task")
    if options.limit is not None and options.limit >= 1 and options.limit != int(options.limit):
        raise InputError(f"--limit {options.limit:g}: a whole number of documents, or a "
                         "fraction below 1")
    chosen = _select(run_checkpoints(run), options.checkpoints)
    rows = load_rows(run)
    todo = [c for c in chosen if not evaluated(rows, c.name, options.tasks,
                                               num_fewshot=options.num_fewshot,
                                               limit=options.limit)]
    outcomes = {c.name: CheckpointOutcome(checkpoint=c.name, step=c.step,
                                          tokens_seen=c.tokens_seen, status="skipped")
                for c in chosen}
    version = harness_version()[0]
    if set_total is not None:
        set_total(len(todo))
    if todo:
        lm_eval = _harness()
        from lm_eval.tasks import TaskManager

        from llm360.train.device import resolve_device

        device = str(resolve_device(options.device))
        with lock_run(run, command="llm360 eval"):
            tasks = [embedded.task_config(run, t) if t in embedded.EMBEDDED_TASKS else t
                     for t in options.tasks]
            needs_catalog = any(isinstance(t, str) for t in tasks)
            with _quiet():
                manager = TaskManager(include_defaults=needs_catalog)
            rows = load_rows(run)  # as it is now that the run is ours
            for ckpt in todo:
                with _quiet():
                    results = _evaluate_one(lm_eval, run, ckpt, tasks, manager, options, device)
                source = f"the harness's results for {ckpt.name}"
                data = _relative(load_document(json.dumps(results, default=_plain).encode(),
                                               source=source), str(run))
                parsed = parse_results(data, source=source)
                rel, digest = store_raw(run, ckpt.name, raw_bytes(data, source=source))
                new = rows_for(parsed, ckpt, raw=rel, raw_sha256=digest, origin="llm360 eval")
                rows = merge_rows(rows, new)
                write_rows(run, rows)
                outcomes[ckpt.name] = CheckpointOutcome(
                    checkpoint=ckpt.name, step=ckpt.step, tokens_seen=ckpt.tokens_seen,
                    status="evaluated", raw=rel, rows=tuple(new))
                if progress is not None:
                    progress(1)
    return EvalResult(run=run, outcomes=tuple(outcomes[c.name] for c in chosen),
                      harness_version=version)


def _plain(value: Any) -> Any:
    """What json cannot write (numpy numbers, dtypes, sets): as lm-eval's own writer does."""
    import numpy as np

    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, set):
        return sorted(value, key=str)
    return str(value)
