"""``check_run``: validate a run directory written by anyone, listing every problem at once.

The rules are those of ``release build``, through the build's own functions: schemas and
required records, no pickle, no links, chunk sha256, rows, tokens and Merkle roots against
``data/index.json``, each parent's root digest against the parent on disk, an eval and log lines
for every checkpoint, and the lineage and references of the manifest the run would build.
Where a record is broken, the checks that need it are skipped (or done on what is valid) and
the others still run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llm360.errors import InputError, Llm360Error
from llm360.registry import layout
from llm360.registry.build import merkle
from llm360.registry.build.assembly import assemble
from llm360.registry.build.hashing import FileDigest, HashCache, hash_files, root_digest
from llm360.registry.build.release import format_created
from llm360.registry.manifest.problems import Problem
from llm360.registry.manifest.schema import iter_errors
from llm360.registry.manifest.serialize import to_data
from llm360.registry.run.checks import digest_problems, run_problems
from llm360.registry.run.chunks import ChunkCache, ChunkFacts
from llm360.registry.run.reader import RunScan, scan_run

__all__ = ["RunCheck", "Problem", "check_run"]


@dataclass(frozen=True, kw_only=True)
class RunCheck:
    """The outcome of ``check_run``: every problem, and what was looked at."""

    root: Path
    problems: tuple[Problem, ...]
    files: int
    bytes: int
    checkpoints: int
    chunks: int

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_data(self) -> dict[str, Any]:
        return {"ok": self.ok, "run": str(self.root), "files": self.files, "bytes": self.bytes,
                "checkpoints": self.checkpoints, "chunks": self.chunks,
                "problems": [p.as_data() for p in self.problems]}


def check_run(run_dir: Path, *, use_cache: bool = True, allow_missing_records: bool = False,
              progress: Callable[[int], None] | None = None) -> RunCheck:
    """Every problem of the run at ``run_dir`` (none: ``release build`` accepts it).

    Raises ``InputError`` only when ``run_dir`` is not a directory at all, or is a release
    folder (it holds a manifest: its cards and plots are not a run's files).
    """
    if (Path(run_dir) / layout.MANIFEST).is_file():
        raise InputError(f"{run_dir}: a release folder (it holds {layout.MANIFEST}), not a run "
                         "directory", hint=f"check a release with `llm360 verify {run_dir}`; "
                         "`run check` checks the run directory a release is built from")
    scan = scan_run(Path(run_dir))
    problems = list(scan.problems)
    cache_dir = scan.root / layout.CACHE_DIR if use_cache else None
    if cache_dir is not None and cache_dir.is_symlink():
        cache_dir = None
    cache = HashCache(scan.root / layout.HASH_CACHE) if cache_dir is not None else None
    digests: dict[str, FileDigest] = {}
    try:
        digests = {d.path: d for d in hash_files(scan.root, list(scan.files), cache=cache,
                                                 progress=progress)}
    except Llm360Error as exc:
        problems.append(Problem(code="io", file="", message=exc.message, error=exc))
    facts = _chunk_facts(scan, digests, cache_dir, problems)
    if scan.records is not None and not any(p.code == "io" for p in problems):
        problems += _build_problems(scan, digests, facts, allow_missing_records)
    else:
        problems += _partial_problems(scan, digests, facts)
    return RunCheck(root=scan.root, problems=tuple(problems), files=len(scan.files),
                    bytes=sum(d.size for d in digests.values()),
                    checkpoints=len(scan.trainer_states),
                    chunks=len(scan.data_index.chunks) if scan.data_index else 0)


def _chunk_facts(scan: RunScan, digests: dict[str, FileDigest], cache_dir: Path | None,
                 problems: list[Problem]) -> dict[str, ChunkFacts]:
    facts: dict[str, ChunkFacts] = {}
    if scan.data_index is None:
        return facts
    cache = ChunkCache(cache_dir)
    fmt = scan.data_index.merkle or merkle.LEGACY
    for chunk in scan.data_index.chunks:
        if chunk.path not in digests:
            continue
        try:
            facts[chunk.path] = cache.facts(scan.root, chunk.path, digests[chunk.path].sha256,
                                            fmt=fmt)
        except Llm360Error as exc:
            problems.append(Problem(code="data", file=chunk.path, message=exc.message,
                                    error=exc))
    cache.save()
    return facts


def _build_problems(scan: RunScan, digests: dict[str, FileDigest],
                    facts: dict[str, ChunkFacts], allow_missing_records: bool
                    ) -> list[Problem]:
    """The build's own checks (``checks``) on the manifest the run would build; a
    problem of a file already found broken is not said twice."""
    assert scan.records is not None
    try:
        manifest = assemble(scan.records, digests, created=format_created(), chunks=facts)
    except Llm360Error as exc:
        return [Problem(code="build", file="", message=exc.message, error=exc)]
    except (KeyError, TypeError, ValueError) as exc:
        return [Problem(code="build", file="",
                        message=f"the manifest cannot be assembled: {exc!r}")]
    broken = {p.file.split(":")[0] for p in scan.problems}
    out = [p for p in run_problems(scan.records, manifest, chunks=facts,
                                   allow_missing_records=allow_missing_records,
                                   digests=digests)
           if p.file not in broken]
    for err in iter_errors(to_data(manifest), "manifest"):
        out.append(Problem(code="schema", file=layout.MANIFEST, json_path=err.json_path,
                           message=err.message))
    return out


def _partial_problems(scan: RunScan, digests: dict[str, FileDigest],
                      facts: dict[str, ChunkFacts]) -> list[Problem]:
    """Where the manifest cannot be assembled: the build's digest checks on the records that
    are valid (chunks against the index, parents against the folders on disk)."""
    roots = {}
    for state in scan.trainer_states.values():
        for parent in state.parents:
            prefix = layout.checkpoint_dir(parent.name) + "/"
            files = [p for p in scan.files if p.startswith(prefix)]
            if files and all(p in digests for p in files):
                roots[parent.name] = root_digest((p[len(prefix):], digests[p].sha256)
                                                 for p in files)
    return digest_problems(scan.data_index, scan.trainer_states,
                           {p: d.sha256 for p, d in digests.items()}, roots, facts)
