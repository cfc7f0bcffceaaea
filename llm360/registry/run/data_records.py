"""The data records of a run directory (v1) as typed, frozen dataclasses: ``data/index.json``
(chunks, and the mixture they were drawn from) and ``config/data.json``.

``config/data.json`` is open beyond its three required keys: its schema lets a run record
anything there. The parts llm360 reads (sources, tokenizer, corpus, held-out set, shuffle) are
lenient records (``_record``): a value of another type than the field's stays in ``extra``,
so each field holds what it says and the document reads back whole (``to_data``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from llm360.registry.run._record import Record, extra_field

__all__ = ["DATA_INDEX_VERSION", "RowCount", "ChunkCounts", "DataChunkRecord",
           "MixtureSourceRecord", "StageSourceRecord", "StageRecord", "MixtureRecord",
           "DataIndex", "DataSource", "TokenizerInfo", "CorpusInfo", "HeldOut", "DataConfig"]

DATA_INDEX_VERSION = "llm360.data_index/v1"


@dataclass(frozen=True, kw_only=True)
class RowCount(Record):
    """Rows, tokens and rows of a second or later epoch, of one source or category."""

    sequences: int
    tokens: int
    repeated_sequences: int


@dataclass(frozen=True, kw_only=True)
class ChunkCounts(Record):
    """A mixture chunk's rows per source and per category, as the index records them."""

    sources: Mapping[str, RowCount]
    categories: Mapping[str, RowCount]


@dataclass(frozen=True, kw_only=True)
class DataChunkRecord(Record):
    """One entry of ``data/index.json``: a chunk file and the digests of its rows."""

    index: int
    path: str
    sha256: str
    sequences: int
    tokens: int
    merkle_root: str
    sources: tuple[str, ...] | None = None    # the documents the chunk's rows come from
    stage: str | None = None                  # the mixture stage it belongs to
    counts: ChunkCounts | None = None         # a mixture chunk's rows per source, category
    extra: Mapping[str, Any] = extra_field()


@dataclass(frozen=True, kw_only=True)
class MixtureSourceRecord(Record):
    """One source of a data mixture (``mixture.sources``)."""

    source_name: str
    category: str
    license: str
    reader: str
    documents: int
    sequences: int
    heldout_sequences: int | None = None
    extra: Mapping[str, Any] = extra_field()


@dataclass(frozen=True, kw_only=True)
class StageSourceRecord(Record):
    """A source's part of one stage: its target share of tokens and its repetition cap."""

    source_name: str
    target_ratio: float
    max_repetition_ratio: float | None = None
    sequences: int | None = None
    extra: Mapping[str, Any] = extra_field()


@dataclass(frozen=True, kw_only=True)
class StageRecord(Record):
    """One stage of a mixture: its chunks (in training order) and its sources."""

    name: str
    chunks: tuple[int, ...]
    sources: tuple[StageSourceRecord, ...]
    sequences: int | None = None
    tokens: int | None = None
    requested_tokens: int | None = None
    schedule: Mapping[str, float] | None = None    # lr, min_lr, warmup_steps
    extra: Mapping[str, Any] = extra_field()


@dataclass(frozen=True, kw_only=True)
class MixtureRecord(Record):
    """``mixture`` of ``data/index.json``: the sources and stages the chunks were drawn from."""

    sources: tuple[MixtureSourceRecord, ...]
    stages: tuple[StageRecord, ...]
    definition: str | None = None    # the mixture file, as the run keeps it
    extra: Mapping[str, Any] = extra_field()

    @property
    def source_names(self) -> tuple[str, ...]:
        return tuple(s.source_name for s in self.sources)

    @property
    def categories(self) -> dict[str, str]:
        """source name -> its category"""
        return {s.source_name: s.category for s in self.sources}


@dataclass(frozen=True, kw_only=True)
class DataIndex(Record):
    """``data/index.json``: the data chunks in training order."""

    SCHEMA = "data_index"
    VERSION = DATA_INDEX_VERSION

    seq_len: int
    chunks: tuple[DataChunkRecord, ...]
    dtype: str = "int32"
    merkle: str | None = None    # the chunks' Merkle format (registry.build.merkle); None: legacy
    missing: str | None = None   # why the run records no data chunks
    mixture: MixtureRecord | None = None
    extra: Mapping[str, Any] = extra_field()


@dataclass(frozen=True, kw_only=True)
class DataSource(Record):
    """One corpus source of ``config/data.json`` (any key may be absent)."""

    LENIENT = True

    name: str | None = None
    kind: str | None = None        # e.g. python-stdlib
    python: str | None = None      # the Python version of a python-stdlib source
    files: int | None = None
    documents: int | None = None
    bytes: int | None = None
    sha256: str | None = None
    extra: Mapping[str, Any] = extra_field()


@dataclass(frozen=True, kw_only=True)
class TokenizerInfo(Record):
    """``tokenizer`` of ``config/data.json``: what the tokenizer is (any key may be absent)."""

    LENIENT = True

    type: str | None = None
    vocab_size: int | None = None
    eos_token_id: int | None = None
    library: str | None = None
    path: str | None = None        # the tokenizer file in the run
    sha256: str | None = None      # of that file
    extra: Mapping[str, Any] = extra_field()


@dataclass(frozen=True, kw_only=True)
class CorpusInfo(Record):
    """``corpus`` of ``config/data.json``: the documents the rows were cut from."""

    LENIENT = True

    documents: int | None = None
    sha256: str | None = None
    tokens: int | None = None
    extra: Mapping[str, Any] = extra_field()


@dataclass(frozen=True, kw_only=True)
class HeldOut(Record):
    """``heldout`` of ``config/data.json``: the held-out rows' file, count and share."""

    LENIENT = True

    path: str | None = None
    sequences: int | None = None
    fraction: float | None = None
    extra: Mapping[str, Any] = extra_field()


@dataclass(frozen=True, kw_only=True)
class DataConfig(Record):
    """``config/data.json``: corpus, tokenizer, sequence length, chunking, seed."""

    SCHEMA = "data_config"
    LENIENT = True

    seq_len: int
    num_chunks: int
    seed: int
    sources: tuple[DataSource | str, ...] | None = None
    tokenizer: TokenizerInfo | None = None
    corpus: CorpusInfo | None = None
    heldout: HeldOut | None = None
    shuffle: str | None = None
    extra: Mapping[str, Any] = extra_field()
