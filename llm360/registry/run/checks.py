"""The build's checks of a run: each place the run's own records disagree with its bytes, each
checkpoint without its eval or log lines, and the lineage of the manifest the run builds, as
``Problem``s. ``release build`` stops at the first; ``run check`` lists them all.
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping

from llm360.registry import layout
from llm360.registry.analysis import lineage
from llm360.registry.build.hashing import FileDigest, root_digest
from llm360.registry.manifest.models import Manifest
from llm360.registry.manifest.problems import RECORDS, Problem
from llm360.registry.run.archive import source_archive_names
from llm360.registry.run.benchmarks import benchmark_problems
from llm360.registry.run.chunks import ChunkFacts
from llm360.registry.run.mixture import mixture_problems
from llm360.registry.run.reader import RunRecords
from llm360.registry.run.records import DataIndex, TrainerState

__all__ = ["run_problems", "consistency_problems", "digest_problems", "derived_problems"]


def run_problems(records: RunRecords, manifest: Manifest, *,
                 chunks: Mapping[str, ChunkFacts] | None = None,
                 allow_missing_records: bool = False,
                 digests: Mapping[str, FileDigest] | None = None) -> list[Problem]:
    """Every problem the build finds in a run whose records are valid: its records against
    its bytes, missing evals and log lines (unless ``allow_missing_records``), and the lineage
    of ``manifest`` (what the run assembles to). ``digests``: every file of the run hashed,
    the run's copy of a parent checkpoint of another release included."""
    return (consistency_problems(records, manifest, chunks=chunks,
                                 allow_missing_records=allow_missing_records)
            + derived_problems(records, digests or {})
            + lineage.check(manifest))


def derived_problems(records: RunRecords, digests: Mapping[str, FileDigest]) -> list[Problem]:
    """Where a run that continues another release's checkpoint (``config/derived_from.json``)
    disagrees with it: a checkpoint naming that checkpoint as its parent with another root
    digest, or the run's copy of it (pulled; not released) with other bytes."""
    link = records.derived_from
    if link is None:
        return []
    name, want = link.checkpoint.name, link.checkpoint.root_digest
    problems = []
    for child, state in sorted(records.trainer_states.items()):
        for j, parent in enumerate(state.parents):
            if parent.name == name and parent.root_digest != want:
                problems.append(Problem(
                    code="digest", file=layout.checkpoint_file(child, layout.TRAINER_STATE),
                    json_path=f"$.parents[{j}].root_digest",
                    message=f"is not the root digest {layout.DERIVED_FROM} records for "
                            f"{link.label} ({want})"))
    prefix = layout.checkpoint_dir(name) + "/"
    copy = [p for p in records.parent_files if p in digests]
    if copy and len(copy) == len(records.parent_files):
        have = root_digest((p[len(prefix):], digests[p].sha256) for p in copy)
        if have != want:
            problems.append(Problem(
                code="digest", file=layout.DERIVED_FROM, json_path="$.checkpoint.root_digest",
                message=f"the run's copy of {link.label} ({layout.checkpoint_dir(name)}/) has "
                        f"root digest {have}, not the recorded {want}"))
    return problems


def consistency_problems(records: RunRecords, manifest: Manifest, *,
                         chunks: Mapping[str, ChunkFacts] | None = None,
                         allow_missing_records: bool = False) -> list[Problem]:
    """Each place the run's own records disagree with its bytes (and, unless
    ``allow_missing_records``, each checkpoint without its eval or log lines)."""
    problems = digest_problems(records.data_index, records.trainer_states,
                               {a.path: a.sha256 for a in manifest.artifacts},
                               {c.name: c.root_digest for c in manifest.checkpoints},
                               chunks or {})
    problems += mixture_problems(records.data_index, chunks or {})
    problems += _archive_problems(records, manifest)
    if records.benchmarks is not None:
        problems += benchmark_problems(
            records.benchmarks, digests={a.path: a.sha256 for a in manifest.artifacts},
            checkpoints={c.name: (c.step, c.tokens_seen) for c in manifest.checkpoints})
    if not allow_missing_records:
        problems += _missing_records(records, manifest)
    return problems


def digest_problems(index: DataIndex | None, states: Mapping[str, TrainerState],
                    digests: Mapping[str, str], roots: Mapping[str, str],
                    chunks: Mapping[str, ChunkFacts]) -> list[Problem]:
    """Each chunk whose sha256, rows, tokens or Merkle root differ from what ``data/index.json``
    says, each parent whose root digest differs from the parent's files. ``digests``: the
    sha256 of each file of the run; ``roots``: each checkpoint's root digest, from its files;
    ``chunks``: the facts read from the chunk files. ``run check`` runs it on the records that
    are valid where the manifest cannot be assembled."""
    problems = []
    chunk_list, seq_len = (index.chunks, index.seq_len) if index is not None else ((), 0)
    for i, chunk in enumerate(chunk_list):
        where = f"$.chunks[{i}]"
        have = digests.get(chunk.path)
        if have is None:
            problems.append(Problem(code="reference", file=layout.DATA_INDEX,
                                    json_path=f"{where}.path",
                                    message=f"{chunk.path} is not in the run"))
            continue
        if have != chunk.sha256:
            problems.append(Problem(code="digest", file=layout.DATA_INDEX,
                                    json_path=f"{where}.sha256",
                                    message=f"is not the sha256 of {chunk.path} ({have[:12]}...)"))
        got = chunks.get(chunk.path)
        if got is None:
            continue
        for field in ("sequences", "tokens", "merkle_root"):
            claim, real = getattr(chunk, field), getattr(got, field)
            if claim != real:
                problems.append(Problem(
                    code="digest" if field == "merkle_root" else "data",
                    file=layout.DATA_INDEX, json_path=f"{where}.{field}",
                    message=f"says {claim!r}, the chunk file {chunk.path} gives {real!r}"))
        if got.seq_len != seq_len:
            problems.append(Problem(code="data", file=chunk.path, message=(
                f"rows of {got.seq_len} tokens, {layout.DATA_INDEX} $.seq_len says "
                f"{seq_len}")))
    for name, state in sorted(states.items()):
        for j, parent in enumerate(state.parents):
            have = roots.get(parent.name)
            if have is not None and have != parent.root_digest:
                problems.append(Problem(
                    code="digest", file=layout.checkpoint_file(name, layout.TRAINER_STATE),
                    json_path=f"$.parents[{j}].root_digest",
                    message=f"does not match checkpoint {parent.name} as it is on disk"))
    return problems


def _archive_problems(records: RunRecords, manifest: Manifest) -> list[Problem]:
    """The source archive ``code/provenance.json`` names: in the run, with the sha256 and the
    files it records."""
    claim = records.provenance.code.archive
    if claim is None:
        return []
    art = manifest.artifact(claim.path)
    if art is None:
        return [Problem(code="reference", file=layout.PROVENANCE,
                        json_path="$.code.archive.path",
                        message=f"{claim.path} is not in the run")]
    if art.sha256 != claim.sha256:
        return [Problem(code="digest", file=layout.PROVENANCE,
                        json_path="$.code.archive.sha256",
                        message=f"is not the sha256 of {claim.path} ({art.sha256[:12]}...)")]
    names = set(source_archive_names(records.root / claim.path))
    return [Problem(code="data", file=layout.PROVENANCE,
                    json_path=f"$.code.archive.components.{key}",
                    message=f"{claim.path} holds no {file}")
            for key, file in sorted(claim.components.items()) if file not in names]


def _missing_records(records: RunRecords, manifest: Manifest) -> list[Problem]:
    """A checkpoint whose eval or whose log lines are missing (a run killed mid-save)."""
    problems = []
    evaluated = {rec.checkpoint for rec in records.evals.values()}
    ordered = sorted(records.logged_steps)
    by_name = {c.name: c for c in manifest.checkpoints}
    for ckpt in manifest.checkpoints:
        where = layout.checkpoint_dir(ckpt.name)
        if ckpt.name not in evaluated:
            problems.append(Problem(code=RECORDS, file=layout.eval_path(ckpt.name),
                                    message=f"missing: checkpoint {ckpt.name} has no eval"))
        start = max((by_name[p].step for p in ckpt.parents if p in by_name), default=0)
        link = records.derived_from
        if link is not None and link.relation != "finetune" \
                and link.checkpoint.name in ckpt.parents and link.checkpoint.name not in by_name:
            start = max(start, link.checkpoint.step)  # the parent of another release
        # counted in the sorted logged steps, never by walking start..step (a step may be
        # 2**62)
        lo = bisect.bisect_right(ordered, start)
        logged = bisect.bisect_right(ordered, ckpt.step) - lo
        if logged < ckpt.step - start:
            first = start + 1
            while lo < len(ordered) and ordered[lo] == first:
                lo, first = lo + 1, first + 1
            problems.append(Problem(code=RECORDS, file=where, message=(
                f"checkpoint {ckpt.name}: {ckpt.step - start - logged} of its steps have no "
                f"log line (first: step {first})")))
    return problems
