"""A run's records and file digests -> the manifest they describe, and the places where the
run's own records disagree with its bytes (used by ``release build``, ``verify`` and ``run
check``: a release verifies when its manifest is what its run's files assemble to)."""

from __future__ import annotations

import bisect

from llm360.errors import InputError
from llm360.registry import layout
from llm360.registry._archive import source_archive_names
from llm360.registry._chunks import ChunkFacts
from llm360.registry._run import RunRecords, artifact_kind
from llm360.registry.benchmarks import BenchmarkRows, benchmark_problems
from llm360.registry._safetensors import count_parameters
from llm360.registry.hashing import FileDigest, root_digest
from llm360.registry.merkle import LEGACY
from llm360.registry.mixture import chunk_sources, mixture_of, mixture_problems
from llm360.registry.models import (
    LEGACY_SCHEMA_VERSION, MIXTURE_SCHEMA_VERSION, SCHEMA_VERSION, Artifact, Checkpoint, Code,
    CodeArchive, Data, DataChunk, Environment, Licenses, Manifest, Model, Release, Training,
)
from llm360.registry.mof import default_component_licenses

__all__ = ["assemble", "consistency_problems"]


def _version_of(records: RunRecords) -> str:
    """The lowest manifest version that describes the run: v1.2 for a data mixture, a stage
    or the trainer's source archive, else v1.1."""
    if ("mixture" in records.data_index or "archive" in records.provenance["code"]
            or any("stage" in st for st in records.trainer_states.values())):
        return MIXTURE_SCHEMA_VERSION
    return SCHEMA_VERSION


def _archive(records: RunRecords, digests: dict[str, FileDigest]) -> CodeArchive | None:
    claim = records.provenance["code"].get("archive")
    if claim is None:
        return None
    found = digests.get(claim["path"])
    return CodeArchive(path=claim["path"], sha256=found.sha256 if found else claim["sha256"],
                       package=claim["package"], version=claim["version"],
                       components=dict(claim["components"]))


def assemble(records: RunRecords, digests: dict[str, FileDigest], *, created: str,
             chunks: dict[str, ChunkFacts] | None = None,
             schema_version: str | None = None) -> Manifest:
    """The manifest a run's records and file digests describe, in ``schema_version`` (verify
    rebuilds a manifest in its own version: an ``llm360.manifest/v1`` one as v1, four
    licenses and legacy Merkle roots); None: the lowest version that describes the run
    (v1.2 for a mixture or a source archive, else v1.1). ``chunks`` (facts read from the chunk
    files) replace what ``data/index.json`` claims, the rows per source included."""
    schema_version = schema_version or _version_of(records)
    mixed = schema_version == MIXTURE_SCHEMA_VERSION
    meta = records.metadata
    legacy = schema_version == LEGACY_SCHEMA_VERSION
    merkle_format = records.data_index.get("merkle", LEGACY)
    if legacy and merkle_format != LEGACY:
        raise InputError(f"{records.root}/{layout.DATA_INDEX}: Merkle roots in the {merkle_format} "
                         f"format cannot be described by a {schema_version} manifest")
    four = {k: meta["licenses"][k] for k in ("weights", "code", "data", "documentation")}
    licenses = Licenses(**four, components=None if legacy else default_component_licenses(
        four, meta["licenses"].get("components")))
    artifacts = tuple(Artifact(path=d.path, kind=artifact_kind(d.path), size=d.size,
                               sha256=d.sha256) for d in sorted(digests.values(),
                                                                key=lambda d: d.path))
    evals_by_ckpt = {rec["checkpoint"]: path for path, rec in records.evals.items()}
    checkpoints = []
    for name, state in records.trainer_states.items():
        prefix = layout.checkpoint_dir(name) + "/"
        files = tuple(p for p in records.files if p.startswith(prefix))
        metrics = dict(state.get("metrics", {}))
        eval_path = evals_by_ckpt.get(name)
        if eval_path is not None:
            metrics.update(records.evals[eval_path]["metrics"])
        checkpoints.append(Checkpoint(
            name=name, step=state["step"], tokens_seen=state["tokens_seen"],
            parents=tuple(p["name"] for p in state["parents"]),
            data_chunks=tuple(state["data_chunks"]), files=files,
            root_digest=root_digest((p[len(prefix):], digests[p].sha256) for p in files),
            metrics=metrics, eval=eval_path, stage=state.get("stage") if mixed else None,
        ))
    checkpoints.sort(key=lambda c: (c.step, c.tokens_seen, c.name))
    index = records.data_index
    facts = chunks or {}
    mixture = "mixture" in index and mixed
    data_chunks, per_chunk = [], {}
    for c in index["chunks"]:
        got = facts.get(c["path"])
        sources = chunk_sources(index, c, got) if mixture else None
        per_chunk[c["index"]] = sources or {}
        data_chunks.append(DataChunk(
            index=c["index"], path=c["path"],
            sha256=digests[c["path"]].sha256 if c["path"] in digests else c["sha256"],
            sequences=got.sequences if got else c["sequences"],
            tokens=got.tokens if got else c["tokens"],
            merkle_root=got.merkle_root if got else c["merkle_root"],
            stage=c.get("stage") if mixture else None, sources=sources))
    named = None if legacy else meta.get("final_checkpoint")
    if named is not None and not any(c.name == named for c in checkpoints):
        raise InputError(f"{records.root}/{layout.RUN_METADATA}: $.final_checkpoint: {named!r} "
                         "is not a checkpoint of this run",
                         hint="name one of checkpoints/ckpt_XXX, or leave it out (the last "
                              "checkpoint of the main line)")
    final = _final_weights(checkpoints)
    train = records.train_config
    prov = records.provenance
    code = prov["code"]
    return Manifest(
        release=Release(
            name=meta["name"], version=str(meta["version"]), created=created,
            licenses=licenses, description=meta.get("description"),
            authors=tuple(meta.get("authors", ())), language=tuple(meta.get("language", ())),
            tags=tuple(meta.get("tags", ())), links=dict(meta.get("links", {})),
            final_checkpoint=named,
        ),
        model=Model(
            architecture=records.model_config["architectures"][0],
            parameters=count_parameters(records.root / final) if final else 0,
            config=layout.MODEL_CONFIG, config_sha256=digests[layout.MODEL_CONFIG].sha256,
            tokenizer=records.tokenizer,
            tokenizer_sha256=digests[records.tokenizer].sha256 if records.tokenizer else None,
        ),
        artifacts=artifacts,
        data=Data(index=layout.DATA_INDEX, seq_len=index["seq_len"], chunks=tuple(data_chunks),
                  merkle=None if legacy else merkle_format,
                  mixture=mixture_of(index, per_chunk) if mixture else None),
        checkpoints=tuple(checkpoints),
        training=Training(
            config=layout.TRAIN_CONFIG, backend=train["backend"],
            world_size=train["world_size"], precision=train["precision"],
            data_config=layout.DATA_CONFIG if records.data_config is not None else None,
            seed=train["seed"],
        ),
        logs=records.logs,
        evals=tuple(sorted(records.evals)),
        code=Code(packages=dict(prov["packages"]), provenance=layout.PROVENANCE,
                  repository=code["repository"], commit=code["commit"], dirty=code["dirty"],
                  archive=_archive(records, digests) if mixed else None),
        environment=Environment(**{k: prov["environment"][k]
                                   for k in ("python", "platform", "hardware")}),
        schema_version=schema_version,
    )


def _final_weights(checkpoints: list[Checkpoint]) -> str | None:
    for ckpt in reversed(checkpoints):
        for path in ckpt.files:
            if artifact_kind(path) == "weights":
                return path
    return None


def consistency_problems(records: RunRecords, manifest: Manifest, *,
                         chunks: dict[str, ChunkFacts] | None = None,
                         allow_missing_records: bool = False) -> list[tuple[str, str]]:
    """(path, message) for each place the run's own records disagree with its bytes."""
    problems = []
    seq_len = records.data_index["seq_len"]
    for i, chunk in enumerate(records.data_index["chunks"]):
        art = manifest.artifact(chunk["path"])
        where = f"$.chunks[{i}]"
        if art is None:
            problems.append((layout.DATA_INDEX,
                             f"{where}.path: {chunk['path']} is not in the run"))
            continue
        if art.sha256 != chunk["sha256"]:
            problems.append((chunk["path"], f"sha256 {art.sha256[:12]}... differs from "
                             f"{layout.DATA_INDEX} {where}.sha256 {chunk['sha256'][:12]}..."))
        got = (chunks or {}).get(chunk["path"])
        if got is None:
            continue
        for field, have in (("sequences", got.sequences), ("tokens", got.tokens),
                            ("merkle_root", got.merkle_root)):
            if chunk[field] != have:
                problems.append((layout.DATA_INDEX, f"{where}.{field}: says {chunk[field]!r}, "
                                 f"the chunk file gives {have!r}"))
        if got.seq_len != seq_len:
            problems.append((chunk["path"], f"rows of {got.seq_len} tokens, {layout.DATA_INDEX} "
                             f"$.seq_len says {seq_len}"))
    roots = {c.name: c.root_digest for c in manifest.checkpoints}
    for name, state in records.trainer_states.items():
        for j, parent in enumerate(state["parents"]):
            have = roots.get(parent["name"])
            if have is not None and have != parent["root_digest"]:
                problems.append((layout.checkpoint_file(name, layout.TRAINER_STATE),
                                 f"$.parents[{j}].root_digest does not match checkpoint "
                                 f"{parent['name']} as it is on disk"))
    problems += mixture_problems(records.data_index, chunks or {})
    problems += _archive_problems(records, manifest)
    if records.benchmarks is not None:
        problems += benchmark_problems(
            BenchmarkRows.from_data(records.benchmarks),
            digests={a.path: a.sha256 for a in manifest.artifacts},
            checkpoints={c.name: (c.step, c.tokens_seen) for c in manifest.checkpoints})
    if not allow_missing_records:
        problems += _missing_records(records, manifest)
    return problems


def _archive_problems(records: RunRecords, manifest: Manifest) -> list[tuple[str, str]]:
    """The source archive ``code/provenance.json`` names: in the run, with the sha256 and the
    files it records."""
    claim = records.provenance["code"].get("archive")
    if claim is None:
        return []
    art = manifest.artifact(claim["path"])
    if art is None:
        return [(layout.PROVENANCE, f"$.code.archive.path: {claim['path']} is not in the run")]
    if art.sha256 != claim["sha256"]:
        return [(claim["path"], f"sha256 {art.sha256[:12]}... differs from "
                 f"{layout.PROVENANCE} $.code.archive.sha256 {claim['sha256'][:12]}...")]
    names = set(source_archive_names(records.root / claim["path"]))
    return [(claim["path"], f"holds no {file} ({layout.PROVENANCE} $.code.archive.components."
             f"{key})") for key, file in sorted(claim["components"].items())
            if file not in names]


def _missing_records(records: RunRecords, manifest: Manifest) -> list[tuple[str, str]]:
    """A checkpoint whose eval or whose log lines are missing (a run killed mid-save)."""
    problems = []
    evaluated = {rec["checkpoint"] for rec in records.evals.values()}
    ordered = sorted(records.logged_steps)
    by_name = {c.name: c for c in manifest.checkpoints}
    for ckpt in manifest.checkpoints:
        where = layout.checkpoint_dir(ckpt.name)
        if ckpt.name not in evaluated:
            problems.append((where, f"checkpoint {ckpt.name} has no eval "
                             f"({layout.eval_path(ckpt.name)})"))
        start = max((by_name[p].step for p in ckpt.parents if p in by_name), default=0)
        # counted in the sorted logged steps, never by walking start..step (a step may be
        # 2**62)
        lo = bisect.bisect_right(ordered, start)
        logged = bisect.bisect_right(ordered, ckpt.step) - lo
        if logged < ckpt.step - start:
            first = start + 1
            while lo < len(ordered) and ordered[lo] == first:
                lo, first = lo + 1, first + 1
            problems.append((where, f"checkpoint {ckpt.name}: {ckpt.step - start - logged} "
                             f"of its steps have no log line (first: step {first})"))
    return problems
