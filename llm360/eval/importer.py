"""``llm360 eval import``: attach results computed elsewhere to a run's checkpoints.

Reads lm-evaluation-harness 0.4 results (``lm_eval --output_path``), the older 0.3 format
(Pythia's files, Amber's per-branch ``eval_*.json``) and Open LLM Leaderboard v1 details. The
checkpoint comes from the file (``config.model_revision``, ``revision=`` in ``model_args``, or a
``pretrained=`` folder named like one of the run's checkpoints) or from ``checkpoint=``; the
step and tokens from that checkpoint's trainer state. Every file is read and checked before
anything is written: a placeholder (``running...``), a file that is not JSON, or a checkpoint
the run lacks stops the import with one line naming the file.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from llm360.errors import InputError
from llm360.eval.formats import ParsedFile, load_document, parse_results
from llm360.eval.store import (
    CheckpointFacts,
    load_rows,
    merge_rows,
    raw_bytes,
    rows_for,
    run_checkpoints,
    store_raw,
    write_rows,
)
from llm360.registry import layout
from llm360.registry.manifest.serialize import read_bytes
from llm360.registry.run.formats import MAX_DOCUMENT_BYTES
from llm360.registry.run.lock import lock_run

__all__ = ["ImportedFile", "ImportResult", "import_results", "checkpoint_of"]


@dataclass(frozen=True, kw_only=True)
class ImportedFile:
    source: str          # the file as given
    checkpoint: str
    raw: str             # where the run keeps it
    format: str
    rows: int
    limit: float | None


@dataclass(frozen=True, kw_only=True)
class ImportResult:
    run: Path
    files: tuple[ImportedFile, ...]
    rows: int            # rows kept in the run after the import
    superseded: int      # rows replaced by a newer run of the same evaluation, in all


def checkpoint_of(parsed: ParsedFile, *, option: str | None,
                  checkpoints: dict[str, CheckpointFacts], source: str) -> CheckpointFacts:
    """The checkpoint a results file belongs to (see the module's doc)."""
    named = parsed.revision  # a branch; a commit id or "main" names no checkpoint
    if named is not None and layout.checkpoint_name_problem(named) is not None:
        named = None
    folder = PurePosixPath(parsed.pretrained.replace("\\", "/")).name \
        if parsed.pretrained else None
    if option is not None:
        if named is not None and named != option:
            raise InputError(f"{source}: the file names revision {named!r}, --checkpoint "
                             f"says {option!r}",
                             hint="pass the checkpoint the file was computed on")
        chosen, how = option, "--checkpoint"
    elif named is not None:
        chosen, how = named, "its model revision"
    elif folder in checkpoints:
        chosen, how = folder, "its pretrained= folder"
    else:
        raise InputError(f"{source}: cannot tell which checkpoint the results are for (no "
                         "model revision in the file)",
                         hint="pass --checkpoint NAME (e.g. the Hub branch the file came from)")
    if chosen not in checkpoints:
        listed = ", ".join(list(checkpoints)[:8]) + (", ..." if len(checkpoints) > 8 else "")
        raise InputError(f"{source}: {how} names checkpoint {chosen!r}, which the run does not "
                         f"have ({listed})",
                         hint="import it into the run that holds that checkpoint")
    return checkpoints[chosen]


def import_results(run: Path, files: Sequence[Path], *,
                   checkpoint: str | None = None) -> ImportResult:
    """Import results ``files`` into ``run`` (all checked first, then written under the run's
    lock)."""
    run = Path(run)
    if not files:
        raise InputError("no results files given")
    checkpoints = run_checkpoints(run)
    plans = []
    for path in map(Path, files):
        source = str(path)
        if not path.is_file():
            raise InputError(f"{source}: {'not a file' if path.exists() else 'no such file'}")
        data = load_document(read_bytes(path, source, limit=MAX_DOCUMENT_BYTES), source=source)
        parsed = parse_results(data, source=source)
        ckpt = checkpoint_of(parsed, option=checkpoint, checkpoints=checkpoints, source=source)
        plans.append((source, parsed, ckpt, raw_bytes(data, source=source)))
    imported = []
    with lock_run(run, command="llm360 eval import"):
        rows = load_rows(run)
        for source, parsed, ckpt, data in plans:
            rel, digest = store_raw(run, ckpt.name, data)
            new = rows_for(parsed, ckpt, raw=rel, raw_sha256=digest, origin="import")
            rows = merge_rows(rows, new)
            imported.append(ImportedFile(source=source, checkpoint=ckpt.name, raw=rel,
                                         format=parsed.format, rows=len(new),
                                         limit=parsed.limit))
        write_rows(run, rows)
    return ImportResult(run=run, files=tuple(imported), rows=len(rows.rows),
                        superseded=len(rows.superseded))
