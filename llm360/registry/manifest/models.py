"""The release manifest v1 as frozen, keyword-only dataclasses.

These mirror ``schemas/manifest.v1.schema.json`` one to one; ``serialize`` converts them to and
from canonical JSON. Optional fields are ``None`` when absent and are left out of the JSON.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from types import MappingProxyType

__all__ = [
    "SCHEMA_VERSION",
    "SCHEMA_VERSIONS",
    "LEGACY_SCHEMA_VERSION",
    "Licenses",
    "Release",
    "Model",
    "Artifact",
    "SourceCount",
    "DataChunk",
    "MixtureSource",
    "StageSource",
    "StageCategory",
    "Stage",
    "Mixture",
    "Data",
    "CodeArchive",
    "MIXTURE_SCHEMA_VERSION",
    "DERIVED_SCHEMA_VERSION",
    "RELATIONS",
    "ParentSigner",
    "ParentRelease",
    "ParentCheckpoint",
    "DerivedFrom",
    "Checkpoint",
    "Training",
    "Code",
    "Environment",
    "Manifest",
    "fork_line",
    "final_checkpoint",
]

#: what ``release build`` writes: v1 plus ``data.merkle`` and ``release.licenses.components``
SCHEMA_VERSION = "llm360.manifest/v1.1"
#: v1.1 plus the data mixture (sources, stages, per-chunk counts), each checkpoint's stage and
#: the trainer's source archive: what ``release build`` writes for a run that records one
MIXTURE_SCHEMA_VERSION = "llm360.manifest/v1.2"
#: v1.2 plus ``derived_from``: what ``release build`` writes for a run that continues a
#: checkpoint of another release (``config/derived_from.json``)
DERIVED_SCHEMA_VERSION = "llm360.manifest/v1.3"
#: the first manifest version (chunk roots in the legacy Merkle format, four licenses)
LEGACY_SCHEMA_VERSION = "llm360.manifest/v1"
#: every version this llm360 reads and verifies
SCHEMA_VERSIONS = (LEGACY_SCHEMA_VERSION, SCHEMA_VERSION, MIXTURE_SCHEMA_VERSION,
                   DERIVED_SCHEMA_VERSION)
#: how a release derives from its parent checkpoint: ``continuation`` (same data order and
#: hyperparameters), ``fork`` (other data or hyperparameters), ``finetune`` (steps and tokens
#: count from the fine-tune's start), ``new-stage`` (a next training stage)
RELATIONS = ("continuation", "fork", "finetune", "new-stage")


@dataclass(frozen=True, kw_only=True)
class Licenses:
    """SPDX ids: four per kind, and (manifest v1.1) one per Model Openness Framework component
    (``llm360.registry.analysis.mof.COMPONENT_KEYS``)."""

    weights: str
    code: str
    data: str
    documentation: str
    components: Mapping[str, str] | None = None


@dataclass(frozen=True, kw_only=True)
class Release:
    name: str
    version: str
    created: str
    licenses: Licenses
    description: str | None = None
    authors: tuple[str, ...] = ()
    language: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    links: Mapping[str, str] = field(default_factory=dict)
    #: the checkpoint llm360.yaml names final (v1.1); read it through ``final_checkpoint``
    final_checkpoint: str | None = None


@dataclass(frozen=True, kw_only=True)
class Model:
    architecture: str
    parameters: int
    config: str
    config_sha256: str
    tokenizer: str | None = None
    tokenizer_sha256: str | None = None


@dataclass(frozen=True, kw_only=True)
class Artifact:
    path: str
    kind: str
    size: int
    sha256: str


@dataclass(frozen=True, kw_only=True)
class SourceCount:
    """Rows of one source (or category) in a chunk, read from the chunk's ``sources`` column:
    ``repeated_sequences`` are rows of a second or later epoch of their source."""

    sequences: int
    tokens: int
    repeated_sequences: int


@dataclass(frozen=True, kw_only=True)
class DataChunk:
    """A data chunk; in a mixture run (v1.2) also its stage and its rows per source."""

    index: int
    path: str
    sha256: str
    sequences: int
    tokens: int
    merkle_root: str
    stage: str | None = None
    sources: Mapping[str, SourceCount] | None = None


@dataclass(frozen=True, kw_only=True)
class MixtureSource:
    """A source of the mixture: ``sequences``/``tokens`` it offered for training (held-out
    rows excluded); its index in this tuple is the one chunk files' ``sources`` column holds."""

    name: str
    category: str
    license: str
    reader: str
    documents: int
    sequences: int
    tokens: int


@dataclass(frozen=True, kw_only=True)
class StageSource:
    """One source in one stage: its target and realised share of the stage's tokens, what the
    stage took of it, and ``epochs`` (rows taken / the source's rows)."""

    name: str
    category: str
    target_ratio: float
    realised_ratio: float
    max_repetition_ratio: float
    sequences: int
    tokens: int
    repeated_sequences: int
    epochs: float


@dataclass(frozen=True, kw_only=True)
class StageCategory:
    name: str
    target_ratio: float
    realised_ratio: float
    sequences: int
    tokens: int
    repeated_sequences: int


@dataclass(frozen=True, kw_only=True)
class Stage:
    """A stage of the mixture: its chunks (in training order) and its realised mixture,
    counted from the chunk files; ``schedule``: its own learning-rate schedule, if any."""

    name: str
    chunks: tuple[int, ...]
    sequences: int
    tokens: int
    sources: tuple[StageSource, ...]
    categories: tuple[StageCategory, ...]
    schedule: Mapping[str, float] | None = None
    requested_tokens: int | None = None


@dataclass(frozen=True, kw_only=True)
class Mixture:
    """The data mixture (v1.2): ``definition`` is the mixture file as given, in the run."""

    sources: tuple[MixtureSource, ...]
    stages: tuple[Stage, ...]
    definition: str | None = None


@dataclass(frozen=True, kw_only=True)
class Data:
    """The data chunks; ``merkle`` names the format of their Merkle roots (None in a v1
    manifest, whose roots are ``legacy``; see ``llm360.registry.build.merkle``); ``mixture`` (v1.2)
    the sources and stages the chunks were drawn from."""

    index: str
    seq_len: int
    chunks: tuple[DataChunk, ...]
    merkle: str | None = None
    mixture: Mixture | None = None

    @property
    def merkle_format(self) -> str:
        """The Merkle format of the chunk roots: ``rfc6962`` or ``legacy``."""
        return self.merkle or "legacy"


@dataclass(frozen=True, kw_only=True)
class Checkpoint:
    """One checkpoint: a node of the lineage graph.

    ``data_chunks`` are the chunks trained on between the parents and this checkpoint;
    ``root_digest`` is the OMS v1.0 root digest of ``files`` (see ``hashing.root_digest``).
    """

    name: str
    step: int
    tokens_seen: int
    parents: tuple[str, ...]
    data_chunks: tuple[int, ...]
    files: tuple[str, ...]
    root_digest: str
    metrics: Mapping[str, float]
    eval: str | None = None
    stage: str | None = None   # the mixture stage this checkpoint ends (v1.2)


@dataclass(frozen=True, kw_only=True)
class ParentSigner:
    """Who signed the parent release: ``method`` "key" (``key_fingerprint``: sha256 of the PEM
    public key, as the bundle's hint and ``llm360 keygen`` give it), "sigstore" (``identity``
    and ``issuer``) or "unsigned"."""

    method: str
    key_fingerprint: str | None = None
    identity: str | None = None
    issuer: str | None = None


@dataclass(frozen=True, kw_only=True)
class ParentRelease:
    """The release a run continues: its name, version and manifest (sha256 of its bytes) and
    signer; on the Hub also ``repo`` (ORG/NAME), ``revision`` (the commit its manifest was
    read at) and ``data_repo``."""

    name: str
    version: str
    manifest_sha256: str
    signer: ParentSigner
    repo: str | None = None
    revision: str | None = None
    data_repo: str | None = None


@dataclass(frozen=True, kw_only=True)
class ParentCheckpoint:
    """The checkpoint of the parent release the run's first checkpoints continue."""

    name: str
    step: int
    tokens_seen: int
    root_digest: str


@dataclass(frozen=True, kw_only=True)
class DerivedFrom:
    """Where a run (and its release, manifest v1.3) comes from: a checkpoint of another
    release, and how it derives from it (``RELATIONS``). The run records it in
    ``config/derived_from.json``; the release references the parent checkpoint, never holds
    it."""

    relation: str
    release: ParentRelease
    checkpoint: ParentCheckpoint

    @property
    def label(self) -> str:
        """``ORG/NAME@ckpt_001`` (``NAME VERSION@ckpt_001`` for a release not on the Hub)."""
        where = self.release.repo or f"{self.release.name} {self.release.version}"
        return f"{where}@{self.checkpoint.name}"

    @property
    def location(self) -> str:
        """``hub:ORG/NAME@COMMIT`` (or the release's name and version)."""
        if self.release.repo:
            rev = f"@{self.release.revision}" if self.release.revision else ""
            return f"hub:{self.release.repo}{rev}"
        return f"{self.release.name} {self.release.version}"


@dataclass(frozen=True, kw_only=True)
class Training:
    config: str
    backend: str
    world_size: int
    precision: str
    data_config: str | None = None
    seed: int | None = None


@dataclass(frozen=True, kw_only=True)
class CodeArchive:
    """The trainer's source code in the release (v1.2): an artifact, the package and version
    it is, and which Model Openness Framework component each of its files is."""

    path: str
    sha256: str
    package: str
    version: str
    components: Mapping[str, str]


@dataclass(frozen=True, kw_only=True)
class Code:
    packages: Mapping[str, str]
    provenance: str | None = None
    repository: str | None = None
    commit: str | None = None
    dirty: bool | None = None
    archive: CodeArchive | None = None


@dataclass(frozen=True, kw_only=True)
class Environment:
    python: str
    platform: str
    hardware: str


@dataclass(frozen=True, kw_only=True)
class Manifest:
    release: Release
    model: Model
    artifacts: tuple[Artifact, ...]
    data: Data
    checkpoints: tuple[Checkpoint, ...]
    training: Training
    logs: tuple[str, ...]
    evals: tuple[str, ...]
    code: Code
    environment: Environment
    schema_version: str = SCHEMA_VERSION
    derived_from: DerivedFrom | None = None   # v1.3: the other release's checkpoint continued

    def artifact(self, path: str) -> Artifact | None:
        """The artifact at ``path``, or None (O(1): an index built on first use)."""
        return self.artifacts_by_path.get(path)

    def checkpoint(self, name: str) -> Checkpoint | None:
        """The checkpoint called ``name``, or None (O(1))."""
        return self.checkpoints_by_name.get(name)

    # The indexes are computed once per (immutable) manifest and kept in the instance's
    # __dict__ by cached_property, which writes there directly and so works on a frozen
    # dataclass; they are not fields (not compared, hashed, printed or serialized), and
    # copies and pickles leave them out (a copy builds its own on first use).
    def __getstate__(self) -> dict[str, object]:
        return {k: v for k, v in self.__dict__.items()
                if k not in ("artifacts_by_path", "checkpoints_by_name")}

    @cached_property
    def artifacts_by_path(self) -> Mapping[str, Artifact]:
        """Artifacts by path (read-only; the last one where a path is listed twice)."""
        return MappingProxyType({a.path: a for a in self.artifacts})

    @cached_property
    def checkpoints_by_name(self) -> Mapping[str, Checkpoint]:
        """Checkpoints by name (read-only; the first one where a name is listed twice)."""
        index: dict[str, Checkpoint] = {}
        for ckpt in self.checkpoints:
            index.setdefault(ckpt.name, ckpt)
        return MappingProxyType(index)


_FORK_NAME = re.compile(r"^ckpt_\d+-(.+)$")


def fork_line(name: str) -> str | None:
    """The line of training a checkpoint's name puts it on, by the name ``llm360 train`` gives
    forks (``ckpt_002-fork1`` -> ``fork1``); None for a name of the main line."""
    m = _FORK_NAME.match(name)
    return m.group(1) if m else None


def final_checkpoint(manifest: Manifest) -> Checkpoint | None:
    """The release's final checkpoint: the one answer the cards, the Hub's ``main`` branch,
    push, ``verify --hub`` and the audit share.

    The checkpoint ``release.final_checkpoint`` names (llm360.yaml's ``final_checkpoint``;
    None if it names none of the manifest's, which ``lineage.check`` reports), else the last
    checkpoint (manifest order: by step) whose name is not a fork's, else the last checkpoint.
    """
    named = manifest.release.final_checkpoint
    if named is not None:
        return manifest.checkpoint(named)
    main = [c for c in manifest.checkpoints if fork_line(c.name) is None]
    found = main or manifest.checkpoints
    return found[-1] if found else None
