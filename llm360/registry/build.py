"""Run directory -> release.

``assemble`` turns a run's validated records plus file digests into a ``Manifest`` (pure, used by
both build and verify). ``build_release`` reads, hashes (with the cache), checks every claim it
is about to sign against the bytes, lays the release out in a staging folder (artifacts, the
manifest, checkpoint signatures, whatever ``BuildStep``s render, the signed list of release
files, the release signature) and swaps it into place, never half-written.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Protocol

from llm360.errors import InputError, Llm360Error, UnsafePathError
from llm360.registry import layout, lineage
from llm360.registry._chunks import ChunkCache, ChunkFacts
from llm360.registry._files import Syncer, list_files, write_atomic
from llm360.registry._run import RunRecords, artifact_kind, list_run, read_run
from llm360.registry._safetensors import count_parameters
from llm360.registry.hashing import (
    FileDigest, HashCache, HashJob, hash_files, keep_entries_across_links, root_digest,
    start_hashing,
)
from llm360.registry.merkle import LEGACY
from llm360.registry.models import (
    LEGACY_SCHEMA_VERSION, SCHEMA_VERSION, Artifact, Checkpoint, Code, Data, DataChunk,
    Environment, Licenses, Manifest, Model, Release, Training,
)
from llm360.registry.mof import default_component_licenses
from llm360.registry.release_dir import (
    INCOMPLETE_MARK,
    MANIFEST_FILE,
    RELEASE_FILES,
    ReleaseFile,
    ReleaseFiles,
    discard,
    finish_staging,
    materialize,
    new_staging,
    prepare_out,
    release_files_bytes,
    swap_into_place,
)
from llm360.registry.schema import Validated
from llm360.registry.serialize import canonical_json, to_data
from llm360.registry.signing import (
    BUNDLE_FILE,
    SignatureInfo,
    Signer,
    describe_signature,
)

__all__ = ["BuildContext", "BuildOptions", "BuildResult", "BuildStep", "DraftContext",
           "RESERVED_NAMES",
           "assemble", "build_manifest", "build_release", "format_created", "CACHE_FILE"]

#: the hash cache, inside the run directory (never an artifact)
CACHE_FILE = Path(layout.HASH_CACHE)
#: documents found valid before, inside the run directory (``schema.Validated``)
VALIDATED = Path(layout.VALID_CACHE)
#: top-level names a release writes itself; a run file of that name would collide with them
RESERVED_NAMES = frozenset(layout.RELEASE_NAMES)


@dataclass(frozen=True, kw_only=True)
class BuildOptions:
    """How to build: ``created`` pins the release time; ``use_cache`` trusts the run's hash
    cache (stat-checked); ``metadata_only`` leaves the artifacts in the run directory (the
    release then verifies with ``--root RUN`` only); ``allow_missing_records`` accepts a
    checkpoint without its eval or the log lines of its steps."""

    created: str | None = None
    use_cache: bool = True
    metadata_only: bool = False
    allow_missing_records: bool = False


@dataclass(frozen=True, kw_only=True)
class BuildContext:
    """What a build step sees: the release being assembled in ``release_dir`` (a staging
    folder until the swap), the validated run, and the release it will replace, if any."""

    run_dir: Path
    release_dir: Path
    manifest: Manifest
    manifest_bytes: bytes
    records: RunRecords
    signature: SignatureInfo
    previous: Path | None


@dataclass(frozen=True, kw_only=True)
class DraftContext:
    """What a step may prepare from while the run's files are still being hashed: the
    validated records and a draft of the manifest whose artifact digests and sizes are not
    known yet (every sha256 is zeros, every size 0). What a step derives from the draft must
    not depend on them; ``run`` gets the real manifest."""

    run_dir: Path
    records: RunRecords
    draft: Manifest
    hashing: bool  # files are still being hashed: work that may turn out unneeded is free


class BuildStep(Protocol):
    """A step that writes release files (cards, plots) into ``ctx.release_dir``.

    ``prepare`` runs while the build hashes the run's files (on other threads), with what is
    known before the digests: work done there (plots drawn from the records) overlaps the
    hashing instead of following it. ``run`` runs after the checkpoint signatures and before
    the release signature, which covers what it wrote; a step may skip work whose inputs are
    unchanged since ``ctx.previous``. ``close`` runs last, whether the build succeeded or
    not (a step stops there what ``prepare`` started). One step object serves one build."""

    name: str

    def prepare(self, draft: DraftContext) -> None: ...

    def run(self, ctx: BuildContext) -> None: ...

    def close(self) -> None: ...


@dataclass(frozen=True, kw_only=True)
class BuildResult:
    manifest: Manifest
    manifest_path: Path
    manifest_sha256: str
    files: int
    bytes: int
    linked: int = 0
    copied: int = 0
    release_files: int = 0


def format_created(when: datetime | None = None) -> str:
    """A UTC time as the manifest writes it: 2026-11-27T00:00:00Z."""
    when = when or datetime.now(timezone.utc)
    return when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def assemble(records: RunRecords, digests: dict[str, FileDigest], *, created: str,
             chunks: dict[str, ChunkFacts] | None = None,
             schema_version: str = SCHEMA_VERSION) -> Manifest:
    """The manifest a run's records and file digests describe, in ``schema_version`` (verify
    rebuilds an ``llm360.manifest/v1`` manifest as v1: four licenses, legacy Merkle roots);
    ``chunks`` (facts read from the chunk files) replace what ``data/index.json`` claims."""
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
            metrics=metrics, eval=eval_path,
        ))
    checkpoints.sort(key=lambda c: (c.step, c.tokens_seen, c.name))
    index = records.data_index
    facts = chunks or {}
    data_chunks = []
    for c in index["chunks"]:
        got = facts.get(c["path"])
        data_chunks.append(DataChunk(
            index=c["index"], path=c["path"],
            sha256=digests[c["path"]].sha256 if c["path"] in digests else c["sha256"],
            sequences=got.sequences if got else c["sequences"],
            tokens=got.tokens if got else c["tokens"],
            merkle_root=got.merkle_root if got else c["merkle_root"]))
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
                  merkle=None if legacy else merkle_format),
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
                  repository=code["repository"], commit=code["commit"], dirty=code["dirty"]),
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
    if not allow_missing_records:
        problems += _missing_records(records, manifest)
    return problems


def _missing_records(records: RunRecords, manifest: Manifest) -> list[tuple[str, str]]:
    """A checkpoint whose eval or whose log lines are missing (a run killed mid-save)."""
    problems = []
    evaluated = {rec["checkpoint"] for rec in records.evals.values()}
    steps = records.logged_steps
    by_name = {c.name: c for c in manifest.checkpoints}
    for ckpt in manifest.checkpoints:
        where = layout.checkpoint_dir(ckpt.name)
        if ckpt.name not in evaluated:
            problems.append((where, f"checkpoint {ckpt.name} has no eval "
                             f"({layout.eval_path(ckpt.name)})"))
        start = max((by_name[p].step for p in ckpt.parents if p in by_name), default=0)
        missing = [s for s in range(start + 1, ckpt.step + 1) if s not in steps]
        if missing:
            problems.append((where, f"checkpoint {ckpt.name}: {len(missing)} of its steps "
                             f"have no log line (first: step {missing[0]})"))
    return problems


def build_manifest(run_dir: Path, *, created: str, progress: Callable[[int], None] | None = None,
                   on_total: Callable[[int], None] | None = None, use_cache: bool = True,
                   allow_missing_records: bool = False, steps: Sequence[BuildStep] = (),
                   alongside: Callable[[Validated], None] | None = None
                   ) -> tuple[Manifest, RunRecords]:
    """Read, hash, check every claim against the bytes and assemble; raises ``InputError``
    on any inconsistency (naming the first and counting the rest).

    The files are hashed on worker threads while this thread runs ``alongside`` (the build
    checks its output folder there), validates the records and runs each step's
    ``prepare``; an error in any of them stops the hashing. With the cache, records and
    the manifest whose exact bytes an earlier build found valid are not validated again
    (``RUN/.llm360/validated.json``, handed to ``alongside`` too)."""
    manifest, records, _ = _build_manifest(
        run_dir, created=created, progress=progress, on_total=on_total, use_cache=use_cache,
        allow_missing_records=allow_missing_records, steps=steps, alongside=alongside)
    return manifest, records


def _build_manifest(run_dir: Path, *, created: str, progress: Callable[[int], None] | None,
                    on_total: Callable[[int], None] | None, use_cache: bool,
                    allow_missing_records: bool, steps: Sequence[BuildStep],
                    alongside: Callable[[Validated], None] | None
                    ) -> tuple[Manifest, RunRecords, bytes]:
    """``build_manifest``, with the manifest's canonical bytes (serialised once)."""
    root = Path(run_dir)
    listing = list_run(root)
    cache_dir = _cache_dir(root) if use_cache else None
    validated = Validated(cache_dir / VALIDATED.name if cache_dir is not None else None)
    cache = HashCache(cache_dir / CACHE_FILE.name) if cache_dir is not None else None
    if on_total is not None:
        on_total(sum(os.stat(root / p).st_size for p in listing.files))
    job = start_hashing(root, listing.files, cache=cache, progress=progress,
                        first=[p for p in listing.files if layout.chunk_index(p) is not None])
    try:
        if alongside is not None:
            alongside(validated)
        records = read_run(root, listing=listing, validated=validated)
        _prepare(steps, records, created, hashing=job.running)
        chunks = _chunk_facts(records, job, cache_dir)  # the chunks are hashed first
        digests = {d.path: d for d in job.result()}
    except BaseException:
        job.cancel()
        raise
    manifest = assemble(records, digests, created=created, chunks=chunks)
    problems = consistency_problems(records, manifest, chunks=chunks,
                                    allow_missing_records=allow_missing_records)
    problems += [(p.path, p.message) for p in lineage.check(manifest)]
    if problems:
        path, message = problems[0]
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        hint = "the run directory is inconsistent; fix it before releasing"
        if any("no eval" in m or "no log line" in m for _, m in problems):
            hint = ("resume the run to redo what is missing, or pass --allow-missing-records "
                    "if it is absent on purpose")
        raise InputError(f"{records.root / path}: {message}{more}", hint=hint)
    data = to_data(manifest)
    raw = canonical_json(data)
    validated.check(data, "manifest", raw, source="manifest.json (built)")
    validated.save()
    return manifest, records, raw


def _chunk_facts(records: RunRecords, job: HashJob, cache_dir: Path | None
                 ) -> dict[str, ChunkFacts]:
    """Rows, tokens and Merkle root read from each chunk the index lists, once its digest is
    known (cached by it), while the other files are still being hashed."""
    on_disk = set(records.files)
    paths = [c["path"] for c in records.data_index["chunks"] if c["path"] in on_disk]
    fmt = records.data_index.get("merkle", LEGACY)
    cache = ChunkCache(cache_dir)
    digests = job.wait(paths)
    facts = {rel: cache.facts(records.root, rel, digests[rel].sha256, fmt=fmt) for rel in paths}
    cache.save()
    return facts


def _prepare(steps: Sequence[BuildStep], records: RunRecords, created: str, *,
             hashing: bool) -> None:
    """Each step's ``prepare`` over a draft manifest (digests unknown: zeros)."""
    if not steps:
        return
    unknown = "0" * 64
    try:
        draft = assemble(records, {p: FileDigest(path=p, size=0, sha256=unknown)
                                   for p in records.files}, created=created)
    except Llm360Error:
        return  # the build names the problem once the digests are known
    ctx = DraftContext(run_dir=records.root, records=records, draft=draft, hashing=hashing)
    for step in steps:
        step.prepare(ctx)


def _cache_dir(root: Path) -> Path:
    """``RUN/.llm360``, refused when it (or what it holds) is a symbolic link: the build
    writes its caches there and must never write outside the run."""
    folder = root / CACHE_FILE.parent
    for path in (folder, folder / CACHE_FILE.name):
        if path.is_symlink():
            raise UnsafePathError(f"{path}: is a symbolic link; llm360 writes its cache there "
                                  "and refuses links in a run",
                                  hint="remove the link (the folder holds only caches)")
    return folder


def build_release(run_dir: Path, out_dir: Path, *, options: BuildOptions = BuildOptions(),
                  signer: Signer | None = None, steps: Sequence[BuildStep] = (),
                  progress: Callable[[int], None] | None = None,
                  on_total: Callable[[int], None] | None = None) -> BuildResult:
    """Build the release of ``run_dir`` into ``out_dir``, all or nothing.

    ``out_dir`` must be new, empty, or a release this tool wrote (nothing else in it); it is
    never inside the run and never holds it. The order is fixed: artifacts, manifest,
    checkpoint signatures, ``steps``, ``release-files.json``, the release signature, swap.
    """
    try:
        return _build_release(run_dir, out_dir, options=options, signer=signer, steps=steps,
                              progress=progress, on_total=on_total)
    finally:
        for step in steps:
            step.close()


def _build_release(run_dir: Path, out_dir: Path, *, options: BuildOptions, signer: Signer | None,
                   steps: Sequence[BuildStep], progress: Callable[[int], None] | None,
                   on_total: Callable[[int], None] | None) -> BuildResult:
    run_dir, out_dir = Path(run_dir).resolve(), Path(out_dir).resolve()
    started_ns = time.time_ns()  # linking moves the run files' ctime: see the end
    checked: list[tuple[Path | None, Validated]] = []

    def check_out(validated: Validated) -> None:
        checked.append((prepare_out(out_dir, run_dir, validated=validated), validated))

    manifest, records, raw = _build_manifest(
        run_dir, created=options.created or format_created(), progress=progress,
        on_total=on_total, use_cache=options.use_cache,
        allow_missing_records=options.allow_missing_records, steps=steps, alongside=check_out)
    previous, validated = checked[0]
    artifact_paths = [a.path for a in manifest.artifacts]
    if not options.metadata_only:
        clash = sorted(p for p in artifact_paths if p.split("/")[0] in RESERVED_NAMES)
        if clash:
            raise InputError(f"{run_dir / clash[0]}: the release writes a file of this name "
                             "itself", hint="rename or move it out of the run directory, or "
                             "build with --metadata-only")
    manifest_sha = hashlib.sha256(raw).hexdigest()
    staging = new_staging(out_dir)
    syncer = Syncer(staging)  # files written below are made durable as the build goes on
    try:
        placed = (materialize(run_dir, staging, artifact_paths) if not options.metadata_only
                  else None)
        write_atomic(staging / MANIFEST_FILE, raw, durable=False)  # synced by the syncer
        syncer.add([MANIFEST_FILE])
        signature = SignatureInfo(method="unsigned")
        if signer is not None:
            for name, bundle in signer.sign_checkpoints(manifest).items():
                write_atomic(staging / layout.signature_path(name), bundle, durable=False)
                syncer.add([layout.signature_path(name)])
            if manifest.checkpoints:
                first = manifest.checkpoints[0].name
                signature = dataclasses.replace(describe_signature(
                    staging / layout.signature_path(first)), bundle=BUNDLE_FILE)
            else:
                signature = SignatureInfo(method=signer.method)
        ctx = BuildContext(run_dir=run_dir, release_dir=staging, manifest=manifest,
                           manifest_bytes=raw, records=records, signature=signature,
                           previous=previous)
        for step in steps:
            step.run(ctx)
        release_files = _release_files(staging, manifest_sha, set(artifact_paths),
                                       metadata_only=options.metadata_only)
        syncer.add(f.path for f in release_files.files)
        if signer is not None:
            bundle = signer.sign_release(manifest, raw,
                                         release_files=release_files_bytes(release_files),
                                         train_config=records.train_config)
            write_atomic(staging / BUNDLE_FILE, bundle, durable=False)
        finish_staging(staging, release_files, syncer)
        # written here from typed data: the next build need not validate these bytes again
        validated.add("release_files", release_files_bytes(release_files))
        swap_into_place(staging, out_dir)
    except BaseException:
        syncer.close()
        discard(staging)
        raise
    validated.save()
    if options.use_cache and placed is not None and placed.linked:
        keep_entries_across_links(run_dir, artifact_paths, since_ns=started_ns)
    return BuildResult(manifest=manifest, manifest_path=out_dir / MANIFEST_FILE,
                       manifest_sha256=manifest_sha, files=len(manifest.artifacts),
                       bytes=sum(a.size for a in manifest.artifacts),
                       linked=placed.linked if placed else 0,
                       copied=placed.copied if placed else 0,
                       release_files=len(release_files.files))


def _release_files(staging: Path, manifest_sha: str, artifacts: set[str], *,
                   metadata_only: bool) -> ReleaseFiles:
    own = [p for p in list_files(staging)
           if p not in artifacts and p not in (MANIFEST_FILE, INCOMPLETE_MARK, BUNDLE_FILE,
                                                RELEASE_FILES)]
    return ReleaseFiles(
        manifest_sha256=manifest_sha, layout="metadata-only" if metadata_only else "full",
        files=tuple(ReleaseFile(path=d.path, size=d.size, sha256=d.sha256)
                    for d in hash_files(staging, own)))
