"""A checkpoint's eval and log lines land with it, or are redone.

Before a checkpoint folder is renamed into ``checkpoints/``, its eval record and its log lines
are written to a journal, ``RUN/.llm360/pending/<checkpoint>.json`` (atomically). After the
rename they go to ``evals/<checkpoint>.json`` and ``logs/train*.jsonl`` and the journal is
removed. A process killed anywhere in between leaves the journal; the next ``llm360 train`` on
the run (any of its invocations) finishes it first: the records of a checkpoint that exists are
written, the journal of one that was never renamed into place is dropped.
"""

from __future__ import annotations

import json
from pathlib import Path

from llm360.errors import InputError
from llm360.registry import layout
from llm360.registry._files import resolve_inside, write_atomic
from llm360.registry.manifest.serialize import canonical_json
from llm360.registry.run.records import EvalRecord, LogLine
from llm360.train.checkpoint import check_run_paths

__all__ = ["PENDING", "RunLog", "write_pending", "apply_pending", "recover_pending"]

PENDING = Path(layout.PENDING)


class RunLog:
    """``logs/train{suffix}.jsonl``: one line a step."""

    def __init__(self, run_dir: Path, suffix: str) -> None:
        self.rel = layout.log_path(suffix)
        self.path = resolve_inside(Path(run_dir), self.rel, where="training log")

    def _existing(self) -> list[tuple[int, bytes]]:
        if not self.path.exists():
            return []
        out = []
        for line in self.path.read_bytes().splitlines():
            if line.strip():
                out.append((int(json.loads(line)["step"]), line))
        return out

    def write(self, lines: list[dict], *, after_step: int, replace: bool) -> None:
        """``replace``: a new checkpoint; the lines past ``after_step`` (an abandoned
        continuation) give way to ``lines``. Otherwise (a reproduced checkpoint) only the steps
        the log lacks are added, and every line already there is kept byte for byte."""
        old = self._existing()
        if replace:
            kept = [raw for step, raw in old if step <= after_step]
            merged = kept + [_line(r, self.rel) for r in lines]
        else:
            have = {step for step, _ in old}
            new = [(int(r["step"]), _line(r, self.rel)) for r in lines if r["step"] not in have]
            if not new:
                return
            merged = [raw for _, raw in sorted(old + new, key=lambda x: x[0])]
        write_atomic(self.path, b"".join(raw + b"\n" for raw in merged))


def _line(record: dict, source: str) -> bytes:
    """One log line, schema-checked as it is written (the same bytes as canonical JSON)."""
    return LogLine.from_data(record).to_json(source=source)


def _journal(run_dir: Path, name: str) -> Path:
    return resolve_inside(Path(run_dir), f"{layout.PENDING}/{name}.json", where="journal")


def write_pending(run_dir: Path, name: str, *, eval_record: dict, log_suffix: str,
                  lines: list[dict], after_step: int) -> Path:
    """Journal checkpoint ``name``'s eval and log lines before the checkpoint is renamed."""
    check_run_paths(run_dir)
    path = _journal(run_dir, name)
    write_atomic(path, canonical_json({"checkpoint": name, "eval": eval_record,
                                       "log_suffix": log_suffix, "lines": lines,
                                       "after_step": after_step}))
    return path


def apply_pending(run_dir: Path, path: Path, *, status: str | None = None) -> str | None:
    """Write the records a journal holds if its checkpoint exists, then remove the journal.
    ``status`` ``written`` (a new checkpoint) replaces the log past the parent's step;
    otherwise (a reproduced checkpoint, or recovery) only the missing steps are added. The
    checkpoint's name, or None when it was never renamed into place."""
    run_dir = Path(run_dir)
    try:
        doc = json.loads(Path(path).read_bytes())
        name = doc["checkpoint"]
        record, suffix, lines = doc["eval"], doc["log_suffix"], doc["lines"]
        after_step = int(doc["after_step"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise InputError(f"{path}: unreadable journal of an interrupted run ({exc})",
                         hint="remove it; the checkpoint it names lacks its eval or log "
                              "lines") from exc
    if not isinstance(name, str) or "/" in name or name.startswith("."):
        raise InputError(f"{path}: names no checkpoint of this run")
    if not (run_dir / layout.checkpoint_dir(name)).is_dir():
        Path(path).unlink()
        return None
    check_run_paths(run_dir)
    rel = layout.eval_path(name)
    write_atomic(resolve_inside(run_dir, rel),
                 EvalRecord.from_data(record).to_json(source=rel))
    RunLog(run_dir, suffix).write(lines, after_step=after_step,
                                  replace=(status or "written") == "written")
    Path(path).unlink()
    return name


def recover_pending(run_dir: Path) -> list[str]:
    """Finish what an interrupted ``train`` left: the names whose records were completed."""
    check_run_paths(run_dir)
    folder = Path(run_dir) / PENDING
    if not folder.is_dir():
        return []
    done = []
    for path in sorted(folder.glob("*.json")):
        if path.is_file() and not path.is_symlink():
            name = apply_pending(run_dir, path, status="identical")
            if name is not None:
                done.append(name)
    return done
