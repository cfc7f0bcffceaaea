"""``check_run``: validate a run directory written by anyone, listing every problem at once.

The rules are those of ``release build``, through the build's own functions: schemas and
required records, no pickle, no links, chunk sha256, rows, tokens and Merkle roots against
``data/index.json``, each parent's root digest against the parent on disk, an eval and log lines
for every checkpoint, and the lineage and references of the manifest the run would build.
Where a record is broken, the checks that need it are skipped (or done on what is valid) and
the others still run.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from llm360.errors import InputError, Llm360Error
from llm360.registry import layout, lineage, merkle
from llm360.registry._chunks import ChunkCache, ChunkFacts
from llm360.registry._run import RunProblem, RunScan, scan_run
from llm360.registry.assembly import assemble, consistency_problems
from llm360.registry.build import format_created
from llm360.registry.hashing import FileDigest, HashCache, hash_files, root_digest
from llm360.registry.schema import iter_errors
from llm360.registry.serialize import to_data

__all__ = ["RunCheck", "RunProblem", "check_run"]

_JSON_PATH = re.compile(r"^(\$\S*) (.*)$", re.S)
_CLAIM = re.compile(r"(\S+\.json) (\$[^\s:]+)")


@dataclass(frozen=True, kw_only=True)
class RunCheck:
    """The outcome of ``check_run``: every problem, and what was looked at."""

    root: Path
    problems: tuple[RunProblem, ...]
    files: int
    bytes: int
    checkpoints: int
    chunks: int

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_data(self) -> dict:
        return {"ok": self.ok, "run": str(self.root), "files": self.files, "bytes": self.bytes,
                "checkpoints": self.checkpoints, "chunks": self.chunks,
                "problems": [p.as_data() for p in self.problems]}


def _problem(code: str, rel: str, message: str, json_path: str | None = None) -> RunProblem:
    """A problem of ``rel``; a message that starts with a JSON path, or names the record and
    JSON path of the claim the bytes contradict (``data/index.json $.chunks[1].sha256``),
    gives them their own fields."""
    if json_path is None and (m := _JSON_PATH.match(message)):
        json_path, message = m.group(1).rstrip(":"), m.group(2)
    elif json_path is None and (m := _CLAIM.search(message)):
        message = f"{rel}: {message}"
        rel, json_path = m.group(1), m.group(2)
    where = f"{rel}: {json_path}" if json_path else rel
    return RunProblem(code=code, file=rel, json_path=json_path, message=message,
                      error=InputError(f"{where}: {message}"))


def _code(message: str) -> str:
    if "no eval" in message or "no log line" in message:
        return "records"
    if any(word in message for word in ("sha256", "root_digest", "merkle_root")):
        return "digest"
    return "data"


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
        problems.append(RunProblem(code="io", file="", json_path=None, message=exc.message,
                                   error=exc))
    facts = _chunk_facts(scan, digests, cache_dir, problems)
    if scan.records is not None and not any(p.code == "io" for p in problems):
        problems += _build_problems(scan, digests, facts, allow_missing_records)
    else:
        problems += _partial_problems(scan, digests, facts)
    return RunCheck(root=scan.root, problems=tuple(problems), files=len(scan.files),
                    bytes=sum(d.size for d in digests.values()),
                    checkpoints=len(scan.trainer_states),
                    chunks=len(scan.data_index["chunks"]) if scan.data_index else 0)


def _chunk_facts(scan: RunScan, digests: dict[str, FileDigest], cache_dir: Path | None,
                 problems: list[RunProblem]) -> dict[str, ChunkFacts]:
    facts: dict[str, ChunkFacts] = {}
    cache = ChunkCache(cache_dir)
    for chunk in (scan.data_index or {}).get("chunks", []):
        rel = chunk["path"]
        if rel not in digests:
            continue
        try:
            facts[rel] = cache.facts(scan.root, rel, digests[rel].sha256,
                                     fmt=scan.data_index.get("merkle", merkle.LEGACY))
        except Llm360Error as exc:
            problems.append(RunProblem(code="data", file=rel, json_path=None,
                                       message=exc.message, error=exc))
    cache.save()
    return facts


def _build_problems(scan: RunScan, digests: dict[str, FileDigest],
                    facts: dict[str, ChunkFacts], allow_missing_records: bool
                    ) -> list[RunProblem]:
    """The build's own consistency and lineage checks on the manifest the run would build."""
    try:
        manifest = assemble(scan.records, digests, created=format_created(), chunks=facts)
    except Llm360Error as exc:
        return [RunProblem(code="build", file="", json_path=None, message=exc.message,
                           error=exc)]
    except (KeyError, TypeError, ValueError) as exc:
        return [_problem("build", "", f"the manifest cannot be assembled: {exc!r}")]
    broken = {p.file.split(":")[0] for p in scan.problems}
    out = [_problem(_code(message), rel, message) for rel, message in consistency_problems(
        scan.records, manifest, chunks=facts, allow_missing_records=allow_missing_records)
        if not any(f"({b})" in message for b in broken)]  # said already: the record is broken
    for p in lineage.check(manifest):
        rel = (layout.checkpoint_file(p.path, layout.TRAINER_STATE)
               if p.path in scan.trainer_states else p.path)
        out.append(_problem(p.code, rel, p.message))
    for err in iter_errors(to_data(manifest), "manifest"):
        out.append(_problem("schema", layout.MANIFEST, err.message, err.json_path))
    return out


def _partial_problems(scan: RunScan, digests: dict[str, FileDigest],
                      facts: dict[str, ChunkFacts]) -> list[RunProblem]:
    """Where the manifest cannot be assembled: the digest checks on the records that are
    valid (chunks against the index, parents against the folders on disk)."""
    out: list[RunProblem] = []
    index = scan.data_index
    for i, chunk in enumerate(index["chunks"] if index else []):
        rel = chunk["path"]
        if rel not in digests:
            out.append(_problem("reference", layout.DATA_INDEX, f"{rel} is not in the run",
                                f"$.chunks[{i}].path"))
            continue
        if digests[rel].sha256 != chunk["sha256"]:
            out.append(_problem("digest", layout.DATA_INDEX, f"is not the sha256 of {rel}",
                                f"$.chunks[{i}].sha256"))
        got = facts.get(rel)
        for field in ("sequences", "tokens", "merkle_root"):
            if got is not None and getattr(got, field) != chunk[field]:
                out.append(_problem(_code(field), layout.DATA_INDEX, f"says {chunk[field]!r}, "
                                    f"the chunk file gives {getattr(got, field)!r}",
                                    f"$.chunks[{i}].{field}"))
    for name, state in sorted(scan.trainer_states.items()):
        rel = layout.checkpoint_file(name, layout.TRAINER_STATE)
        for j, parent in enumerate(state["parents"]):
            prefix = layout.checkpoint_dir(parent["name"]) + "/"
            files = [p for p in scan.files if p.startswith(prefix)]
            if not files or any(p not in digests for p in files):
                continue
            have = root_digest((p[len(prefix):], digests[p].sha256) for p in files)
            if have != parent["root_digest"]:
                out.append(_problem("digest", rel, f"does not match checkpoint "
                                    f"{parent['name']} as it is on disk",
                                    f"$.parents[{j}].root_digest"))
    return out
