"""A benchmark the harness can run offline: built from the run's own held-out set.

``llm360_next_segment`` (lm-evaluation-harness ``multiple_choice``): each item is a window of a
held-out row, its first three quarters as the context and four candidate continuations, the true
next segment of the text and the next segments of three other items; ``acc`` is the share of
items whose true segment the model finds likeliest (chance: 25 %), ``acc_norm`` the same with
likelihoods per byte. No checkpoint trained on these rows. The task YAML and its data (JSON
Lines, sorted keys) are written into the run under ``evals/benchmarks/tasks/``, once, from the
held-out tokens, the tokenizer and the data seed, so the same run always gives the same bytes;
the release lists them as artifacts. The YAML names its data by a path relative to the run
(or release) folder: from there, ``lm_eval --include_path evals/benchmarks/tasks`` runs it too.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from llm360.errors import InputError
from llm360.registry import layout
from llm360.registry._files import resolve_inside
from llm360.registry.build.hashing import write_recorded
from llm360.registry.manifest.serialize import canonical_json, parse_json, parse_yaml, read_bytes

__all__ = ["NEXT_SEGMENT", "EMBEDDED_TASKS", "ensure_task", "task_config", "ITEMS"]

NEXT_SEGMENT = "llm360_next_segment"
EMBEDDED_TASKS = (NEXT_SEGMENT,)
#: items of the task (fewer when the held-out set is small); 4 choices each
ITEMS, CHOICES = 40, 4
#: tokens per window: three quarters context, one quarter the segment to choose
WINDOW = 64


def _run_field(run: Path, rel: str, parse: Callable[..., Any], key: str, kind: type,
               default: Any) -> Any:
    """``key`` of the mapping in the run's file ``rel`` where it is a ``kind``, else ``default``."""
    path = resolve_inside(run, rel)
    data = parse(read_bytes(path), source=str(path)) if path.is_file() else None
    value = data.get(key) if isinstance(data, dict) else None
    return value if isinstance(value, kind) else default


def _items(run: Path) -> list[dict]:
    """The task's documents, from the held-out rows (deterministic)."""
    import numpy as np
    from tokenizers import Tokenizer

    from llm360.registry.run.safetensors_header import read_rows

    held, tok_file = (resolve_inside(run, layout.HELDOUT),
                      resolve_inside(run, layout.TOKENIZER))
    for path, what in ((held, "held-out set"), (tok_file, "tokenizer")):
        if not path.is_file():
            raise InputError(f"{path}: missing; the embedded task {NEXT_SEGMENT} is built from "
                             f"the run's {what}",
                             hint="prepare the run with `llm360 data prepare`, or evaluate "
                                  "other --tasks")
    rows = np.asarray(read_rows(held))
    width = min(WINDOW, rows.shape[1])
    if width < 8:
        raise InputError(f"{held}: rows of {rows.shape[1]} tokens are too short for "
                         f"{NEXT_SEGMENT} (8 at least)")
    tail = max(1, width // 4)
    tokenizer = Tokenizer.from_file(str(tok_file))
    windows = [(r, s) for s in range(0, rows.shape[1] - width + 1, width)
               for r in range(rows.shape[0])][:ITEMS]
    texts = [(tokenizer.decode(rows[r, s:s + width - tail].tolist()),
              tokenizer.decode(rows[r, s + width - tail:s + width].tolist()))
             for r, s in windows]
    seed = _run_field(run, layout.DATA_CONFIG, parse_json, "seed", int, 0)
    rng = np.random.Generator(np.random.PCG64(seed))
    items = []
    for i, ((row, start), (context, truth)) in enumerate(zip(windows, texts)):
        others = [texts[j][1] for j in rng.permutation(len(texts)).tolist()
                  if windows[j][0] != row]
        distractors = list(dict.fromkeys(t for t in others if t != truth))[:CHOICES - 1]
        if len(distractors) < CHOICES - 1 or not context.strip():
            continue
        choices = [truth, *distractors]
        order = rng.permutation(CHOICES).tolist()
        items.append({"id": i, "row": row, "offset": start, "context": context,
                      "choices": [choices[k] for k in order], "label": order.index(0)})
    if len(items) < 2:
        raise InputError(f"{held}: too few distinct held-out segments for {NEXT_SEGMENT}")
    return items


def _yaml(run: Path, data_rel: str, n: int) -> bytes:
    import yaml

    release = _run_field(run, layout.RUN_METADATA, parse_yaml, "name", str, run.name)
    config = {
        "task": NEXT_SEGMENT, "dataset_path": "json",
        "dataset_kwargs": {"data_files": {"test": data_rel}}, "test_split": "test",
        "output_type": "multiple_choice", "doc_to_text": "context", "doc_to_choice": "choices",
        "doc_to_target": "label", "target_delimiter": "", "num_fewshot": 0,
        "metric_list": [{"metric": m, "aggregation": "mean", "higher_is_better": True}
                        for m in ("acc", "acc_norm")],
        "metadata": {"version": 1, "items": n, "hub_dataset": {
            "type": f"{release}-heldout", "config": NEXT_SEGMENT, "split": "heldout",
            "name": f"{release} held-out next segment (0-Shot)"}},
    }
    head = ("# llm360 embedded benchmark: choose the true next segment of held-out text among "
            f"{CHOICES}.\n# Built by `llm360 eval` from data/heldout.safetensors; run it from "
            "the run or release folder:\n#   lm_eval --model hf --model_args "
            "pretrained=checkpoints/ckpt_000 --include_path evals/benchmarks/tasks --tasks "
            f"{NEXT_SEGMENT}\n")
    return (head + yaml.safe_dump(config, sort_keys=True, allow_unicode=True)).encode("utf-8")


def ensure_task(run: Path, name: str) -> tuple[str, str]:
    """(YAML path, data path) of embedded task ``name`` in ``run``, written first if absent
    (existing files are kept as they are: a run's task never changes under its results)."""
    if name not in EMBEDDED_TASKS:
        raise InputError(f"{name}: not an embedded task ({', '.join(EMBEDDED_TASKS)})")
    yaml_rel = layout.benchmark_task_path(name, ".yaml")
    data_rel = layout.benchmark_task_path(name, ".jsonl")
    if not resolve_inside(run, yaml_rel).is_file():
        items = _items(run)
        data = b"".join(canonical_json(item) + b"\n" for item in items)
        write_recorded(run, data_rel, data)
        write_recorded(run, yaml_rel, _yaml(run, data_rel, len(items)))
    return yaml_rel, data_rel


def task_config(run: Path, name: str) -> dict:
    """The embedded task's harness configuration, its data path made absolute for this run."""
    yaml_rel, _ = ensure_task(run, name)
    path = resolve_inside(run, yaml_rel)
    config = parse_yaml(read_bytes(path), source=str(path))
    kwargs = config.get("dataset_kwargs") if isinstance(config, dict) else None
    files = kwargs.get("data_files") if isinstance(kwargs, dict) else None
    if not (isinstance(files, dict) and all(isinstance(v, str) for v in files.values())):
        raise InputError(f"{path}: $.dataset_kwargs.data_files: expected a mapping of split "
                         "to file")
    config["dataset_kwargs"]["data_files"] = {
        split: str(resolve_inside(run, rel, where=f"{path} data file"))
        for split, rel in files.items()}
    return config
