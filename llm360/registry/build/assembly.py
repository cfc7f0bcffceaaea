"""A run's records and file digests -> the manifest they describe (used by ``release build``,
``verify`` and ``run check``: a release verifies when its manifest is what its run's files
assemble to). Where the records disagree with the bytes is ``run.checks``."""

from __future__ import annotations

from llm360.errors import InputError
from llm360.registry import layout
from llm360.registry.analysis.mof import default_component_licenses
from llm360.registry.build.hashing import FileDigest, root_digest
from llm360.registry.build.merkle import LEGACY
from llm360.registry.manifest.models import (
    DERIVED_SCHEMA_VERSION,
    LEGACY_SCHEMA_VERSION,
    MIXTURE_SCHEMA_VERSION,
    SCHEMA_VERSION,
    Artifact,
    Checkpoint,
    Code,
    CodeArchive,
    Data,
    DataChunk,
    Environment,
    Licenses,
    Manifest,
    Model,
    Release,
    Training,
)
from llm360.registry.run.chunks import ChunkFacts
from llm360.registry.run.mixture import chunk_sources, mixture_of
from llm360.registry.run.reader import RunRecords, artifact_kind
from llm360.registry.run.safetensors_header import count_parameters

__all__ = ["assemble"]


def _version_of(records: RunRecords) -> str:
    """The lowest manifest version that describes the run: v1.3 for a run that continues a
    checkpoint of another release, v1.2 for a data mixture, a stage or the trainer's source
    archive, else v1.1."""
    if records.derived_from is not None:
        return DERIVED_SCHEMA_VERSION
    if (records.data_index.mixture is not None or records.provenance.code.archive is not None
            or any(st.stage is not None for st in records.trainer_states.values())):
        return MIXTURE_SCHEMA_VERSION
    return SCHEMA_VERSION


def _archive(records: RunRecords, digests: dict[str, FileDigest]) -> CodeArchive | None:
    claim = records.provenance.code.archive
    if claim is None:
        return None
    found = digests.get(claim.path)
    return CodeArchive(path=claim.path, sha256=found.sha256 if found else claim.sha256,
                       package=claim.package, version=claim.version,
                       components=dict(claim.components))


def assemble(records: RunRecords, digests: dict[str, FileDigest], *, created: str,
             chunks: dict[str, ChunkFacts] | None = None,
             schema_version: str | None = None) -> Manifest:
    """The manifest a run's records and file digests describe, in ``schema_version`` (verify
    rebuilds a manifest in its own version: an ``llm360.manifest/v1`` one as v1, four
    licenses and legacy Merkle roots); None: the lowest version that describes the run
    (v1.2 for a mixture or a source archive, else v1.1). ``chunks`` (facts read from the chunk
    files) replace what ``data/index.json`` claims, the rows per source included."""
    schema_version = schema_version or _version_of(records)
    mixed = schema_version in (MIXTURE_SCHEMA_VERSION, DERIVED_SCHEMA_VERSION)
    meta = records.metadata
    legacy = schema_version == LEGACY_SCHEMA_VERSION
    merkle_format = records.data_index.merkle or LEGACY
    if legacy and merkle_format != LEGACY:
        raise InputError(f"{records.root}/{layout.DATA_INDEX}: Merkle roots in the {merkle_format} "
                         f"format cannot be described by a {schema_version} manifest")
    four = meta.licenses.four
    licenses = Licenses(**four, components=None if legacy else default_component_licenses(
        four, meta.licenses.components))
    parent_copy = set(records.parent_files)  # referenced by derived_from, not released
    artifacts = tuple(Artifact(path=d.path, kind=artifact_kind(d.path), size=d.size,
                               sha256=d.sha256) for d in sorted(digests.values(),
                                                                key=lambda d: d.path)
                      if d.path not in parent_copy)
    evals_by_ckpt = {rec.checkpoint: path for path, rec in records.evals.items()}
    checkpoints = []
    for name, state in records.trainer_states.items():
        prefix = layout.checkpoint_dir(name) + "/"
        files = tuple(p for p in records.files if p.startswith(prefix))
        metrics = dict(state.metrics or {})
        eval_path = evals_by_ckpt.get(name)
        if eval_path is not None:
            metrics.update(records.evals[eval_path].metrics)
        checkpoints.append(Checkpoint(
            name=name, step=state.step, tokens_seen=state.tokens_seen,
            parents=tuple(p.name for p in state.parents),
            data_chunks=tuple(state.data_chunks), files=files,
            root_digest=root_digest((p[len(prefix):], digests[p].sha256) for p in files),
            metrics=metrics, eval=eval_path, stage=state.stage if mixed else None,
        ))
    checkpoints.sort(key=lambda c: (c.step, c.tokens_seen, c.name))
    index = records.data_index
    facts = chunks or {}
    mix = index.mixture if mixed else None
    data_chunks, per_chunk = [], {}
    for c in index.chunks:
        got = facts.get(c.path)
        sources = chunk_sources(mix, c, got) if mix is not None else None
        per_chunk[c.index] = sources or {}
        data_chunks.append(DataChunk(
            index=c.index, path=c.path,
            sha256=digests[c.path].sha256 if c.path in digests else c.sha256,
            sequences=got.sequences if got else c.sequences,
            tokens=got.tokens if got else c.tokens,
            merkle_root=got.merkle_root if got else c.merkle_root,
            stage=c.stage if mix is not None else None, sources=sources))
    named = None if legacy else meta.final_checkpoint
    if named is not None and not any(c.name == named for c in checkpoints):
        raise InputError(f"{records.root}/{layout.RUN_METADATA}: $.final_checkpoint: {named!r} "
                         "is not a checkpoint of this run",
                         hint="name one of checkpoints/ckpt_XXX, or leave it out (the last "
                              "checkpoint of the main line)")
    final = _final_weights(checkpoints)
    train = records.train_config
    prov = records.provenance
    code = prov.code
    return Manifest(
        release=Release(
            name=meta.name, version=str(meta.version), created=created,
            licenses=licenses, description=meta.description,
            authors=meta.authors or (), language=meta.language or (),
            tags=meta.tags or (), links=dict(meta.links or {}),
            final_checkpoint=named,
        ),
        model=Model(
            architecture=records.model_config.architectures[0],
            parameters=count_parameters(records.root / final) if final else 0,
            config=layout.MODEL_CONFIG, config_sha256=digests[layout.MODEL_CONFIG].sha256,
            tokenizer=records.tokenizer,
            tokenizer_sha256=digests[records.tokenizer].sha256 if records.tokenizer else None,
        ),
        artifacts=artifacts,
        data=Data(index=layout.DATA_INDEX, seq_len=index.seq_len, chunks=tuple(data_chunks),
                  merkle=None if legacy else merkle_format,
                  mixture=mixture_of(mix, index.seq_len, per_chunk) if mix is not None
                  else None),
        checkpoints=tuple(checkpoints),
        training=Training(
            config=layout.TRAIN_CONFIG, backend=train.backend,
            world_size=train.world_size, precision=train.precision,
            data_config=layout.DATA_CONFIG if records.data_config is not None else None,
            seed=train.seed,
        ),
        logs=records.logs,
        evals=tuple(sorted(records.evals)),
        code=Code(packages=dict(prov.packages), provenance=layout.PROVENANCE,
                  repository=code.repository, commit=code.commit, dirty=code.dirty,
                  archive=_archive(records, digests) if mixed else None),
        environment=Environment(python=prov.environment.python,
                                platform=prov.environment.platform,
                                hardware=prov.environment.hardware),
        schema_version=schema_version,
        derived_from=records.derived_from if schema_version == DERIVED_SCHEMA_VERSION
        else None,
    )


def _final_weights(checkpoints: list[Checkpoint]) -> str | None:
    for ckpt in reversed(checkpoints):
        for path in ckpt.files:
            if artifact_kind(path) == "weights":
                return path
    return None
