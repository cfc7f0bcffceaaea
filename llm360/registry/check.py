"""``check_run``: validate a run directory written by anyone, listing every problem at once.

The rules are those of ``release build`` (schemas, required records, no pickle, no links, chunk
digests against the index, parent root digests against the parents on disk, lineage and
references of the manifest the run would build), plus each chunk's Merkle root. Where a record
is broken, the checks that need it are skipped and the others still run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from llm360.errors import InputError, Llm360Error
from llm360.registry import layout, lineage
from llm360.registry._run import RunProblem, RunScan, scan_run
from llm360.registry._safetensors import read_rows
from llm360.registry.hashing import FileDigest, HashCache, hash_files, root_digest, rows_merkle_root
from llm360.registry.schema import iter_errors
from llm360.registry.serialize import to_data

__all__ = ["RunCheck", "RunProblem", "check_run"]


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
    return RunProblem(code=code, file=rel, json_path=json_path, message=message,
                      error=InputError(f"{rel}: {json_path + ': ' if json_path else ''}"
                                       f"{message}"))


def check_run(run_dir: Path, *, use_cache: bool = True,
              progress: Callable[[int], None] | None = None) -> RunCheck:
    """Every problem of the run at ``run_dir`` (an empty tuple: ``release build`` accepts it).

    Raises ``InputError`` only when ``run_dir`` is not a directory at all.
    """
    scan = scan_run(Path(run_dir))
    problems = list(scan.problems)
    cache = HashCache(scan.root / layout.HASH_CACHE) if use_cache else None
    digests: dict[str, FileDigest] = {}
    try:
        digests = {d.path: d for d in hash_files(scan.root, list(scan.files), cache=cache,
                                                 progress=progress)}
    except Llm360Error as exc:
        problems.append(RunProblem(code="io", file="", json_path=None, message=exc.message,
                                   error=exc))
    problems += _chunk_problems(scan, digests)
    problems += _parent_problems(scan, digests)
    problems += _manifest_problems(scan, digests, skip=problems)
    return RunCheck(root=scan.root, problems=tuple(problems), files=len(scan.files),
                    bytes=sum(d.size for d in digests.values()),
                    checkpoints=len(scan.trainer_states),
                    chunks=len(scan.data_index["chunks"]) if scan.data_index else 0)


def _chunk_problems(scan: RunScan, digests: dict[str, FileDigest]) -> list[RunProblem]:
    out: list[RunProblem] = []
    if scan.data_index is None:
        return out
    for i, chunk in enumerate(scan.data_index["chunks"]):
        rel = chunk["path"]
        if rel not in digests:
            out.append(_problem("reference", layout.DATA_INDEX,
                                f"{rel} is not in the run", f"$.chunks[{i}].path"))
            continue
        if digests[rel].sha256 != chunk["sha256"]:
            out.append(_problem("digest", layout.DATA_INDEX, f"{chunk['sha256'][:12]}... is not "
                                f"the sha256 of {rel} ({digests[rel].sha256[:12]}...)",
                                f"$.chunks[{i}].sha256"))
            continue
        try:
            rows = read_rows(scan.root / rel)
        except Llm360Error as exc:
            out.append(RunProblem(code="data", file=rel, json_path=None, message=exc.message,
                                  error=exc))
            continue
        if rows.shape[1] != scan.data_index["seq_len"]:
            out.append(_problem("data", layout.DATA_INDEX, f"is not the row length of {rel} "
                                f"({rows.shape[1]} tokens)", "$.seq_len"))
        if rows.shape[0] != chunk["sequences"] or rows.size != chunk["tokens"]:
            out.append(_problem("data", layout.DATA_INDEX, f"sequences/tokens differ from {rel} "
                                f"({rows.shape[0]} rows, {rows.size} tokens)",
                                f"$.chunks[{i}]"))
        if rows_merkle_root(rows) != chunk["merkle_root"]:
            out.append(_problem("digest", layout.DATA_INDEX, f"is not the Merkle root of the "
                                f"rows of {rel}", f"$.chunks[{i}].merkle_root"))
    return out


def _folder_digest(scan: RunScan, digests: dict[str, FileDigest], name: str) -> str | None:
    prefix = layout.checkpoint_dir(name) + "/"
    files = [p for p in scan.files if p.startswith(prefix)]
    if not files or any(p not in digests for p in files):
        return None
    return root_digest((p[len(prefix):], digests[p].sha256) for p in files)


def _parent_problems(scan: RunScan, digests: dict[str, FileDigest]) -> list[RunProblem]:
    out: list[RunProblem] = []
    for name, state in sorted(scan.trainer_states.items()):
        rel = layout.checkpoint_file(name, layout.TRAINER_STATE)
        for j, parent in enumerate(state["parents"]):
            folder = scan.root / layout.checkpoint_dir(parent["name"])
            if not folder.is_dir():
                out.append(_problem("lineage", rel, f"parent {parent['name']} is not in the run",
                                    f"$.parents[{j}].name"))
                continue
            have = _folder_digest(scan, digests, parent["name"])
            if have is not None and have != parent["root_digest"]:
                out.append(_problem("digest", rel, f"root digest of parent {parent['name']} "
                                    f"does not match {layout.checkpoint_dir(parent['name'])} "
                                    "as it is on disk", f"$.parents[{j}].root_digest"))
    return out


def _manifest_problems(scan: RunScan, digests: dict[str, FileDigest],
                       skip: list[RunProblem]) -> list[RunProblem]:
    """Lineage and references of the manifest the run would build (when it can be built)."""
    if scan.records is None or any(p.code == "io" for p in skip):
        return []
    from llm360.registry.build import assemble, format_created

    try:
        manifest = assemble(scan.records, digests, created=format_created())
    except Llm360Error as exc:
        return [RunProblem(code="build", file="", json_path=None, message=exc.message,
                           error=exc)]
    except (KeyError, TypeError, ValueError) as exc:
        return [_problem("build", "", f"the manifest cannot be assembled: {exc!r}")]
    known = {(p.file, p.code) for p in skip}
    out: list[RunProblem] = []
    for p in lineage.check(manifest):
        rel = (layout.checkpoint_file(p.path, layout.TRAINER_STATE)
               if "/" not in p.path and p.path in scan.trainer_states else p.path)
        if (rel, "lineage") in known or (rel, "digest") in known:
            continue
        if "parent" in p.message and "is not in the release" in p.message:
            continue  # reported above, against the trainer state that names it
        out.append(_problem(p.code, rel, p.message))
    for err in iter_errors(to_data(manifest), "manifest"):
        out.append(_problem("schema", layout.MANIFEST, err.message, err.json_path))
    return out
