"""Run directory -> release manifest.

``assemble`` turns a run's validated records plus file digests into a ``Manifest`` (pure, used by
both build and verify); ``build_release`` reads, hashes (with the cache), assembles, validates and
writes ``RELEASE/manifest.json`` atomically.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from llm360.errors import InputError
from llm360.registry import lineage
from llm360.registry._files import write_atomic
from llm360.registry._run import RunRecords, artifact_kind, read_run
from llm360.registry._safetensors import count_parameters
from llm360.registry.hashing import FileDigest, HashCache, hash_files, root_digest
from llm360.registry.merkle import LEGACY
from llm360.registry.models import (
    LEGACY_SCHEMA_VERSION, SCHEMA_VERSION, Artifact, Checkpoint, Code, Data, DataChunk,
    Environment, Licenses, Manifest, Model, Release, Training,
)
from llm360.registry.mof import default_component_licenses
from llm360.registry.schema import validate
from llm360.registry.serialize import manifest_to_bytes, to_data

__all__ = ["BuildResult", "assemble", "build_manifest", "build_release", "format_created",
           "SOURCE_FILE", "CACHE_FILE"]

#: where a release remembers the run directory it was built from (not part of the release)
SOURCE_FILE = ".llm360-source.json"
#: the hash cache, inside the run directory (never an artifact)
CACHE_FILE = Path(".llm360") / "hash-cache.json"


@dataclass(frozen=True, kw_only=True)
class BuildResult:
    manifest: Manifest
    manifest_path: Path
    manifest_sha256: str
    files: int
    bytes: int


def format_created(when: datetime | None = None) -> str:
    """A UTC time as the manifest writes it: 2026-11-27T00:00:00Z."""
    when = when or datetime.now(timezone.utc)
    return when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def assemble(records: RunRecords, digests: dict[str, FileDigest], *, created: str,
             schema_version: str = SCHEMA_VERSION) -> Manifest:
    """The manifest a run's records and file digests describe, in ``schema_version`` (verify
    rebuilds an ``llm360.manifest/v1`` manifest as v1: four licenses, legacy Merkle roots)."""
    meta = records.metadata
    legacy = schema_version == LEGACY_SCHEMA_VERSION
    merkle_format = records.data_index.get("merkle", LEGACY)
    if legacy and merkle_format != LEGACY:
        raise InputError(f"{records.root}/data/index.json: Merkle roots in the {merkle_format} "
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
        prefix = f"checkpoints/{name}/"
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
    chunks = tuple(DataChunk(index=c["index"], path=c["path"],
                             sha256=digests[c["path"]].sha256 if c["path"] in digests
                             else c["sha256"],
                             sequences=c["sequences"], tokens=c["tokens"],
                             merkle_root=c["merkle_root"]) for c in index["chunks"])
    final = _final_weights(records, checkpoints)
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
            config="config/model.json", config_sha256=digests["config/model.json"].sha256,
            tokenizer=records.tokenizer,
            tokenizer_sha256=digests[records.tokenizer].sha256 if records.tokenizer else None,
        ),
        artifacts=artifacts,
        data=Data(index="data/index.json", seq_len=index["seq_len"], chunks=chunks,
                  merkle=None if legacy else merkle_format),
        checkpoints=tuple(checkpoints),
        training=Training(
            config="config/train.json", backend=train["backend"],
            world_size=train["world_size"], precision=train["precision"],
            data_config="config/data.json" if records.data_config is not None else None,
            seed=train["seed"],
        ),
        logs=records.logs,
        evals=tuple(sorted(records.evals)),
        code=Code(packages=dict(prov["packages"]), provenance="code/provenance.json",
                  repository=code["repository"], commit=code["commit"], dirty=code["dirty"]),
        environment=Environment(**{k: prov["environment"][k]
                                   for k in ("python", "platform", "hardware")}),
        schema_version=schema_version,
    )


def _final_weights(records: RunRecords, checkpoints: list[Checkpoint]) -> str | None:
    for ckpt in reversed(checkpoints):
        for path in ckpt.files:
            if artifact_kind(path) == "weights":
                return path
    return None


def consistency_problems(records: RunRecords, manifest: Manifest) -> list[tuple[str, str]]:
    """(path, message) for each place the run's own records disagree with its bytes."""
    problems = []
    for i, chunk in enumerate(records.data_index["chunks"]):
        art = manifest.artifact(chunk["path"])
        if art is None:
            problems.append(("data/index.json",
                             f"$.chunks[{i}].path: {chunk['path']} is not in the run"))
        elif art.sha256 != chunk["sha256"]:
            problems.append((chunk["path"], f"sha256 {art.sha256[:12]}... differs from "
                             f"data/index.json $.chunks[{i}].sha256 {chunk['sha256'][:12]}..."))
    roots = {c.name: c.root_digest for c in manifest.checkpoints}
    for name, state in records.trainer_states.items():
        for j, parent in enumerate(state["parents"]):
            have = roots.get(parent["name"])
            if have is not None and have != parent["root_digest"]:
                problems.append((f"checkpoints/{name}/trainer_state.json",
                                 f"$.parents[{j}].root_digest does not match checkpoint "
                                 f"{parent['name']} as it is on disk"))
    return problems


def build_manifest(run_dir: Path, *, created: str, progress: Callable[[int], None] | None = None,
                   on_total: Callable[[int], None] | None = None,
                   use_cache: bool = True) -> tuple[Manifest, RunRecords]:
    """Read, hash and assemble; raises ``InputError`` on any inconsistency."""
    records = read_run(run_dir)
    if on_total is not None:
        on_total(sum(os.stat(records.root / p).st_size for p in records.files))
    cache = HashCache(records.root / CACHE_FILE) if use_cache else None
    digests = {d.path: d for d in hash_files(records.root, records.files, cache=cache,
                                             progress=progress)}
    manifest = assemble(records, digests, created=created)
    problems = consistency_problems(records, manifest)
    problems += [(p.path, p.message) for p in lineage.check(manifest)]
    if problems:
        path, message = problems[0]
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise InputError(f"{records.root / path}: {message}{more}",
                         hint="the run directory is inconsistent; fix it before releasing")
    validate(to_data(manifest), "manifest", source="manifest.json (built)")
    return manifest, records


def build_release(run_dir: Path, out_dir: Path, *, created: str | None = None,
                  progress: Callable[[int], None] | None = None,
                  on_total: Callable[[int], None] | None = None,
                  extra_steps: tuple[Callable[[Path, Manifest, bytes, RunRecords], None], ...] = (),
                  use_cache: bool = True) -> BuildResult:
    """Build the release of ``run_dir`` into ``out_dir``, all or nothing.

    The release is assembled in a temporary sibling folder (``extra_steps`` add signatures,
    cards and plots there) and then moved into place, so ``out_dir`` is never half-written.
    """
    run_dir, out_dir = Path(run_dir).resolve(), Path(out_dir).resolve()
    if out_dir == run_dir or run_dir in out_dir.parents:
        raise InputError(f"{out_dir}: the release folder must not be inside the run directory",
                         hint="choose --out outside RUN")
    if out_dir.exists() and not (out_dir / "manifest.json").is_file() and any(out_dir.iterdir()):
        raise InputError(f"{out_dir}: exists and is not a release; refusing to overwrite it")
    manifest, records = build_manifest(run_dir, created=created or format_created(),
                                       progress=progress, on_total=on_total, use_cache=use_cache)
    raw = manifest_to_bytes(manifest)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    try:
        write_atomic(staging / "manifest.json", raw)
        write_atomic(staging / SOURCE_FILE, manifest_source_json(run_dir))
        for step in extra_steps:
            step(staging, manifest, raw, records)
        _swap_into_place(staging, out_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return BuildResult(manifest=manifest, manifest_path=out_dir / "manifest.json",
                       manifest_sha256=hashlib.sha256(raw).hexdigest(),
                       files=len(manifest.artifacts),
                       bytes=sum(a.size for a in manifest.artifacts))


def manifest_source_json(run_dir: Path) -> bytes:
    import json

    return json.dumps({"run": str(run_dir)}, sort_keys=True).encode("utf-8")


def _swap_into_place(staging: Path, out_dir: Path) -> None:
    os.chmod(staging, 0o755)
    if not out_dir.exists():
        os.rename(staging, out_dir)
        return
    old = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.old.", dir=out_dir.parent))
    os.rmdir(old)
    os.rename(out_dir, old)
    try:
        os.rename(staging, out_dir)
    except BaseException:
        os.rename(old, out_dir)
        raise
    shutil.rmtree(old, ignore_errors=True)
