"""What the registry's queries return: frozen, keyword-only records (``as_data`` for --json)."""

from __future__ import annotations

from dataclasses import Field, asdict, dataclass
from typing import TYPE_CHECKING, Any, ClassVar

__all__ = ["ReleaseRef", "ReleaseSummary", "CheckpointRef", "CheckpointInfo", "Link",
           "Evaluation", "VerificationEvent", "ReleaseDetail", "Training", "ChunkResult",
           "LineageResult", "CheckpointDetail", "AddResult", "ReverifyResult", "CrossEdge"]


class _Data:
    if TYPE_CHECKING:  # every subclass is a dataclass
        __dataclass_fields__: ClassVar[dict[str, Field[Any]]]

    def as_data(self) -> dict[str, Any]:
        """The record as JSON data (``--json``)."""
        return asdict(self)


@dataclass(frozen=True, kw_only=True)
class ReleaseRef(_Data):
    """A release as other records name it."""

    id: int
    name: str
    version: str
    manifest_sha256: str
    repo: str | None


@dataclass(frozen=True, kw_only=True)
class VerificationEvent(_Data):
    """One verification of a release: when, where, under which policy, and the outcome."""

    at: str
    action: str
    location: str
    ok: bool
    allow_unverified: bool
    signer: str | None
    policy: str
    summary: str


@dataclass(frozen=True, kw_only=True)
class ReleaseSummary(_Data):
    """A row of ``registry list``; ``last`` is the newest verification event."""

    release: ReleaseRef
    created: str
    signer: str | None
    location: str
    indexed_at: str
    checkpoints: int
    chunks: int
    last: VerificationEvent | None

    @property
    def state(self) -> str:
        """``verified``, ``failed`` (the newest verification failed) or ``unverified`` (added
        with --allow-unverified, or never verified)."""
        if self.last is None:
            return "unverified"
        if self.last.ok:
            return "verified"
        return "unverified" if self.last.allow_unverified and self.last.action == "add" \
            else "failed"

    def as_data(self) -> dict[str, Any]:
        return {**asdict(self), "state": self.state}


@dataclass(frozen=True, kw_only=True)
class CheckpointRef(_Data):
    """A checkpoint of an indexed release."""

    id: int
    release: ReleaseRef
    name: str
    step: int
    tokens_seen: int
    root_digest: str

    @property
    def label(self) -> str:
        who = self.release.repo or self.release.name
        return f"{who}@{self.name}"


@dataclass(frozen=True, kw_only=True)
class Link(_Data):
    """A lineage edge from ``child`` (a checkpoint of this release) to its parent: inside the
    release (``kind='parent'``) or in another release (``kind='derived_from'``)."""

    kind: str
    child: str
    parent_name: str
    parent_digest: str
    parent_repo: str | None
    parent_revision: str | None
    parent_manifest_sha256: str | None
    relation: str | None


@dataclass(frozen=True, kw_only=True)
class CrossEdge(_Data):
    """A lineage edge between releases: ``parent`` (None where that checkpoint is not
    indexed; ``parent_label`` names it then) to ``child``."""

    parent_digest: str
    parent: CheckpointRef | None
    parent_label: str
    child: CheckpointRef


@dataclass(frozen=True, kw_only=True)
class CheckpointInfo(_Data):
    checkpoint: CheckpointRef
    parents: tuple[str, ...]
    metrics: tuple[tuple[str, float], ...]


@dataclass(frozen=True, kw_only=True)
class Evaluation(_Data):
    checkpoint: str
    step: int
    tokens_seen: int
    metric: str
    value: float


@dataclass(frozen=True, kw_only=True)
class ReleaseDetail(_Data):
    """``registry show`` of a release."""

    summary: ReleaseSummary
    description: str | None
    schema_version: str
    signer_method: str | None
    signer_issuer: str | None
    checkpoints: tuple[CheckpointInfo, ...]
    derived_from: tuple[Link, ...]
    history: tuple[VerificationEvent, ...]

    def as_data(self) -> dict[str, Any]:
        return {**asdict(self), "summary": self.summary.as_data()}


@dataclass(frozen=True, kw_only=True)
class Training(_Data):
    """A checkpoint that trained on a chunk, in steps ``first_step`` to ``last_step``."""

    checkpoint: CheckpointRef
    chunk_index: int
    sha256: str
    merkle_root: str
    sequences: int
    tokens: int
    first_step: int
    last_step: int


@dataclass(frozen=True, kw_only=True)
class ChunkResult(_Data):
    """``registry chunk``: who trained on the chunk, and (through lineage) what derives from
    those checkpoints in other releases."""

    query: str
    trained: tuple[Training, ...]
    derived: tuple[CheckpointRef, ...]


@dataclass(frozen=True, kw_only=True)
class LineageResult(_Data):
    """``registry derived`` / ``registry ancestors``: the checkpoints reached from ``start``."""

    query: str
    direction: str
    start: tuple[CheckpointRef, ...]
    found: tuple[CheckpointRef, ...]


@dataclass(frozen=True, kw_only=True)
class CheckpointDetail(_Data):
    """``registry show RELEASE@CKPT``: one checkpoint, its chunks, metrics and relatives."""

    info: CheckpointInfo
    trained: tuple[Training, ...]
    derived: tuple[CheckpointRef, ...]
    ancestors: tuple[CheckpointRef, ...]
    derived_from: tuple[Link, ...]


@dataclass(frozen=True, kw_only=True)
class AddResult(_Data):
    """``registry add``: the release, whether it was new, and the event recorded."""

    release: ReleaseRef
    new: bool
    event: VerificationEvent
    problems: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class ReverifyResult(_Data):
    """``registry verify``: one outcome per release re-verified."""

    outcomes: tuple[AddResult, ...]

    @property
    def ok(self) -> bool:
        return all(o.event.ok for o in self.outcomes)
