"""The data card's part of the view: chunks, corpus sources, the held-out set, the tokenizer."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from llm360.registry.cards._inputs import RunInputs
from llm360.registry.cards._lines import flatten
from llm360.registry.cards._mixture import mixture_plots, mixture_stages
from llm360.registry.cards._view import (
    CheckpointView,
    ChunkView,
    DataView,
    HeldoutView,
    PlotRef,
    Row,
    SourceRow,
)
from llm360.registry.manifest.models import Manifest
from llm360.registry.run.records import DataSource

__all__ = ["data_view"]

_SHOWN = ("name", "kind", "bytes", "documents")


def _source_name(source: DataSource) -> str:
    if source.name is not None:
        return source.name
    if source.kind == "python-stdlib":
        count = f", {source.files:,} files" if source.files is not None else ""
        version = f" {source.python}" if source.python else ""
        return f"Python{version} standard library{count}"
    return source.kind or "source"


def _doc_prefix(source: DataSource) -> str | None:
    """How the document ids of this source begin in data/index.json."""
    return source.name if source.name is not None else source.kind


def _belongs(doc: str, prefix: str) -> bool:
    return doc == prefix or doc.startswith(prefix + ":")


def _sources(inputs: RunInputs, num: Callable[[object], str]
             ) -> tuple[tuple[SourceRow, ...], bool]:
    config = inputs.data_config
    if config is None or config.sources is None:
        return (), False
    index_chunks = inputs.data_index.chunks if inputs.data_index is not None else ()
    rows, counted = [], False
    for source in config.sources:
        if not isinstance(source, DataSource):
            rows.append(SourceRow(source=str(source), bytes=None, documents=None, chunks=(),
                                  recorded=""))
            continue
        prefix = _doc_prefix(source)
        docs: set[str] = set()
        chunks: list[int] = []
        for c in index_chunks:
            found = {d for d in c.sources or () if prefix and _belongs(d, prefix)}
            if found:
                chunks.append(c.index)
            docs |= found
        if source.documents is not None:
            shown = num(source.documents)
        elif docs:
            shown, counted = num(len(docs)), True
        else:
            shown = None
        extra = {k: v for k, v in source.to_data().items() if k not in _SHOWN}
        rows.append(SourceRow(
            source=_source_name(source),
            bytes=num(source.bytes) if source.bytes is not None else None,
            documents=shown, chunks=tuple(sorted(chunks)),
            recorded="; ".join(f"`{k}`: {num(v)}" for k, v in flatten(extra))))
    return tuple(rows), counted


def _heldout(manifest: Manifest, inputs: RunInputs, num: Callable[[object], str]
             ) -> HeldoutView | None:
    held = inputs.data_config.heldout if inputs.data_config is not None else None
    if held is None or held.path is None:
        return None
    art = manifest.artifact(held.path)
    seqs = held.sequences
    evaluated = {rec.details.heldout_sequences for rec in inputs.evals.values()
                 if rec.details is not None and rec.details.heldout_sequences is not None}
    return HeldoutView(
        path=held.path, sha256=art.sha256 if art else None,
        sequences=num(seqs) if seqs is not None else None,
        tokens=num(seqs * manifest.data.seq_len) if seqs is not None else None,
        fraction=num(held.fraction) if held.fraction is not None else None,
        evaluated=" or ".join(num(e) for e in sorted(evaluated)) if evaluated else None)


def data_view(manifest: Manifest, inputs: RunInputs, checkpoints: Sequence[CheckpointView],
              num: Callable[[object], str]) -> DataView:
    chunks = tuple(ChunkView(index=ch.index, path=ch.path, sequences=num(ch.sequences),
                             tokens=num(ch.tokens), sha256=ch.sha256,
                             merkle_root=ch.merkle_root,
                             trained_in=tuple(c.name for c in checkpoints
                                              if ch.index in c.data_chunks))
                   for ch in manifest.data.chunks)
    sources, counted = _sources(inputs, num)
    config = inputs.data_config
    tokenizer = config.tokenizer if config is not None else None
    held = _heldout(manifest, inputs, num)
    held_rows = config.heldout.sequences if held and config and config.heldout else None
    return DataView(
        index=manifest.data.index, seq_len=manifest.data.seq_len, chunks=chunks,
        total_tokens=num(sum(c.tokens for c in manifest.data.chunks)),
        total_sequences=sum(c.sequences for c in manifest.data.chunks)
        + (held_rows or 0),
        sources=sources, documents_from_index=counted,
        shuffle=config.shuffle if config is not None else None, heldout=held,
        tokenizer=tuple(Row(key=k, value=num(v)) for k, v in flatten(tokenizer.to_data()))
        if tokenizer is not None else (),
        config=tuple(Row(key=k, value=num(v))
                     for k, v in flatten(config.to_data() if config is not None else {})
                     if not k.startswith(("sources", "tokenizer.", "heldout.", "shuffle"))),
        license=manifest.release.licenses.data, merkle_format=manifest.data.merkle_format,
        stages=mixture_stages(manifest, num),
        mixture_plot=next((PlotRef(key=s.key, path=s.path, title=s.title)
                           for s in mixture_plots(manifest)), None))
