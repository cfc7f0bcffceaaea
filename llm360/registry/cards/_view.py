"""The typed view of a release that the card templates read.

Every field is a fact of the manifest or of a run record it lists, already formatted for a
Markdown page (numbers as text); a fact that is not recorded is ``None`` or an empty tuple and
the templates leave it out. ``build_view`` (``_assemble``) is the only code that fills it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from llm360.registry import layout
from llm360.registry.cards._metrics import EvalSet
from llm360.registry.manifest.models import Code, Environment, Model, Release, Training
from llm360.registry.signing import SignatureInfo

if TYPE_CHECKING:
    from llm360.registry.cards._benchmarks import BenchmarkSection
    from llm360.registry.cards._mixture import StageView

__all__ = ["Row", "MetricView", "FileRow", "LineView", "ConfigDiff", "CheckpointView",
           "ChunkView", "SourceRow", "HeldoutView", "DataView", "PlotRef", "HubLinks",
           "EvalGroup", "DerivedView", "ReleaseView"]

HUB_URL = "https://huggingface.co"


@dataclass(frozen=True, kw_only=True)
class Row:
    """A (key, value) row of a settings table."""

    key: str
    value: str


@dataclass(frozen=True, kw_only=True)
class MetricView:
    key: str
    label: str
    value: str            # formatted for a table
    raw: float            # for the Hub's model-index
    eval_set: EvalSet | None


@dataclass(frozen=True, kw_only=True)
class FileRow:
    path: str
    size: str
    sha256: str


@dataclass(frozen=True, kw_only=True)
class LineView:
    name: str
    label: str
    is_main: bool
    fork_point: str | None
    checkpoints: tuple[str, ...]
    config_source: str | None  # where the line's configuration is recorded; None: not recorded


@dataclass(frozen=True, kw_only=True)
class ConfigDiff:
    """A setting whose value differs between lines: one value per line (``lines`` order)."""

    key: str
    values: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class CheckpointView:
    name: str
    step: str
    tokens_seen: str
    parents: tuple[str, ...]
    children: tuple[str, ...]
    line: str
    line_label: str
    is_fork: bool           # not on the main line
    is_final: bool
    fork_point: str | None  # set on the first checkpoint of a fork: the checkpoint it left
    data_chunks: tuple[int, ...]
    data_seen: tuple[int, ...]
    tokens_in_seen: str
    metrics: tuple[MetricView, ...]
    cells: tuple[str, ...]  # the model card's checkpoint table, one cell per column
    root_digest: str
    files: tuple[FileRow, ...]
    oms_command: str | None
    config: tuple[Row, ...]
    config_source: str | None
    config_vs_main: tuple[ConfigDiff, ...]  # values: (this checkpoint's, the main line's)
    step_int: int
    tokens_seen_int: int


@dataclass(frozen=True, kw_only=True)
class ChunkView:
    index: int
    path: str
    sequences: str
    tokens: str
    sha256: str
    merkle_root: str
    trained_in: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class SourceRow:
    source: str
    bytes: str | None
    documents: str | None
    chunks: tuple[int, ...]
    recorded: str  # the source's other recorded fields, as `key`: value pairs


@dataclass(frozen=True, kw_only=True)
class HeldoutView:
    path: str
    sha256: str | None
    sequences: str | None
    tokens: str | None
    fraction: str | None
    evaluated: str | None  # rows each evaluation used, as its eval records state


@dataclass(frozen=True, kw_only=True)
class DataView:
    index: str
    seq_len: int
    chunks: tuple[ChunkView, ...]
    total_tokens: str
    total_sequences: int
    sources: tuple[SourceRow, ...]
    documents_from_index: bool  # the documents column counts documents found in data/index.json
    shuffle: str | None
    heldout: HeldoutView | None
    tokenizer: tuple[Row, ...]
    config: tuple[Row, ...]
    license: str
    merkle_format: str  # how the chunk roots are computed ("rfc6962" or "legacy")
    stages: tuple[StageView, ...] = ()   # a mixture's stages (manifest v1.2)
    mixture_plot: PlotRef | None = None  # category shares across chunks


@dataclass(frozen=True, kw_only=True)
class PlotRef:
    key: str
    path: str
    title: str


@dataclass(frozen=True, kw_only=True)
class HubLinks:
    """The Hub repositories llm360.yaml's links declare; the cards link there (absolute URLs:
    a card is read in the release folder, on ``main`` and as a branch's README.md alike)."""

    repo: str | None
    data_repo: str | None
    base_model: str | None

    @property
    def model_url(self) -> str | None:
        """The release's model card on the Hub (``main``)."""
        return f"{HUB_URL}/{self.repo}" if self.repo else None

    @property
    def data_card_url(self) -> str | None:
        """The data card: the dataset repository's, else DATA_CARD.md on ``main``."""
        if self.data_repo:
            return f"{HUB_URL}/datasets/{self.data_repo}"
        return f"{HUB_URL}/{self.repo}/blob/main/{layout.DATA_CARD}" if self.repo else None

    def branch_url(self, name: str) -> str | None:
        """Checkpoint ``name``'s branch."""
        return f"{HUB_URL}/{self.repo}/tree/{name}" if self.repo else None


@dataclass(frozen=True, kw_only=True)
class DerivedView:
    """What the release continues (manifest v1.3 ``derived_from``): the parent checkpoint of
    another release, referenced, not held; ``branch_url``: its branch on the Hub (None for a
    parent not published there); ``hub_relation``: the card metadata's
    ``base_model_relation`` (None: left out, the Hub infers it)."""

    relation: str
    relation_text: str
    label: str              # ORG/NAME@ckpt_001
    repo: str | None
    revision: str | None
    release: str            # NAME VERSION
    checkpoint: str
    step: str
    tokens_seen: str
    root_digest: str
    manifest_sha256: str
    signer: str
    branch_url: str | None
    hub_relation: str | None
    continued_by: tuple[str, ...]   # this release's checkpoints that start from it


@dataclass(frozen=True, kw_only=True)
class EvalGroup:
    """The metrics of one checkpoint measured on one evaluation set."""

    eval_set: EvalSet
    metrics: tuple[MetricView, ...]


@dataclass(frozen=True, kw_only=True)
class ReleaseView:
    release: Release
    name: str
    version: str
    description: str
    authors: str
    links: tuple[Row, ...]
    model: Model
    parameters: str
    training: Training
    environment: Environment
    code: Code
    packages: tuple[Row, ...]
    hyperparameters: tuple[Row, ...]
    train_config_path: str
    lines: tuple[LineView, ...]
    config_diffs: tuple[ConfigDiff, ...]
    data: DataView
    checkpoints: tuple[CheckpointView, ...]
    columns: tuple[str, ...]
    final: CheckpointView | None
    final_named: bool          # llm360.yaml names the final checkpoint
    final_last_of_main: bool   # the final checkpoint is the last of the main line
    final_evals: tuple[EvalGroup, ...]
    training_plots: tuple[PlotRef, ...]
    eval_plots: tuple[PlotRef, ...]
    hub: HubLinks
    manifest_sha256: str
    signature: SignatureInfo
    verify_command: str
    licenses: tuple[Row, ...]
    openness: str  # the Model Openness Framework class the release reaches
    benchmarks: BenchmarkSection | None = None   # evals/benchmarks/rows.json, when released
    benchmark_plots: tuple[PlotRef, ...] = ()
    derived: DerivedView | None = None   # the other release's checkpoint it continues

    def checkpoint(self, name: str) -> CheckpointView:
        return next(c for c in self.checkpoints if c.name == name)
