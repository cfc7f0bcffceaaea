"""The data card's part of the view: chunks, corpus sources, the held-out set, the tokenizer."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from llm360.registry.cards._inputs import RunInputs
from llm360.registry.cards._lines import flatten
from llm360.registry.cards._mixture import mixture_plots, mixture_stages
from llm360.registry.cards._view import (CheckpointView, ChunkView, DataView, HeldoutView,
                                         PlotRef, Row, SourceRow)
from llm360.registry.models import Manifest

__all__ = ["data_view"]

_SHOWN = ("name", "kind", "bytes", "documents")


def _source_name(source: Mapping) -> str:
    if isinstance(source.get("name"), str):
        return source["name"]
    if source.get("kind") == "python-stdlib":
        files = source.get("files")
        count = f", {files:,} files" if isinstance(files, int) else ""
        version = f" {source['python']}" if source.get("python") else ""
        return f"Python{version} standard library{count}"
    return str(source.get("kind") or "source")


def _doc_prefix(source: Mapping) -> str | None:
    """How the document ids of this source begin in data/index.json."""
    if isinstance(source.get("name"), str):
        return source["name"]
    if isinstance(source.get("kind"), str):
        return source["kind"]
    return None


def _belongs(doc: str, prefix: str) -> bool:
    return doc == prefix or doc.startswith(prefix + ":")


def _sources(inputs: RunInputs, num: Callable) -> tuple[tuple[SourceRow, ...], bool]:
    raw = (inputs.data_config or {}).get("sources")
    if not isinstance(raw, list):
        return (), False
    index_chunks = [c for c in (inputs.data_index or {}).get("chunks", [])
                    if isinstance(c, Mapping)]
    rows, counted = [], False
    for source in raw:
        if not isinstance(source, Mapping):
            rows.append(SourceRow(source=str(source), bytes=None, documents=None, chunks=(),
                                  recorded=""))
            continue
        prefix = _doc_prefix(source)
        docs: set[str] = set()
        chunks: list[int] = []
        for c in index_chunks:
            found = {d for d in c.get("sources") or [] if isinstance(d, str) and prefix
                     and _belongs(d, prefix)}
            if found and isinstance(c.get("index"), int):
                chunks.append(c["index"])
            docs |= found
        documents = source.get("documents")
        if isinstance(documents, int):
            shown = num(documents)
        elif docs:
            shown, counted = num(len(docs)), True
        else:
            shown = None
        extra = {k: v for k, v in source.items() if k not in _SHOWN}
        rows.append(SourceRow(
            source=_source_name(source),
            bytes=num(source["bytes"]) if isinstance(source.get("bytes"), int) else None,
            documents=shown, chunks=tuple(sorted(chunks)),
            recorded="; ".join(f"`{k}`: {num(v)}" for k, v in flatten(extra))))
    return tuple(rows), counted


def _heldout(manifest: Manifest, inputs: RunInputs, num: Callable) -> HeldoutView | None:
    held = (inputs.data_config or {}).get("heldout")
    if not isinstance(held, Mapping) or not isinstance(held.get("path"), str):
        return None
    art = manifest.artifact(held["path"])
    seqs = held.get("sequences")
    evaluated = {rec.get("details", {}).get("heldout_sequences")
                 for rec in inputs.evals.values() if isinstance(rec.get("details"), Mapping)}
    evaluated.discard(None)
    fraction = held.get("fraction")
    return HeldoutView(
        path=held["path"], sha256=art.sha256 if art else None,
        sequences=num(seqs) if isinstance(seqs, int) else None,
        tokens=num(seqs * manifest.data.seq_len) if isinstance(seqs, int) else None,
        fraction=num(fraction) if isinstance(fraction, (int, float)) else None,
        evaluated=" or ".join(num(e) for e in sorted(evaluated)) if evaluated else None)


def data_view(manifest: Manifest, inputs: RunInputs, checkpoints: Sequence[CheckpointView],
              num: Callable) -> DataView:
    chunks = tuple(ChunkView(index=ch.index, path=ch.path, sequences=num(ch.sequences),
                             tokens=num(ch.tokens), sha256=ch.sha256,
                             merkle_root=ch.merkle_root,
                             trained_in=tuple(c.name for c in checkpoints
                                              if ch.index in c.data_chunks))
                   for ch in manifest.data.chunks)
    sources, counted = _sources(inputs, num)
    data_config = inputs.data_config or {}
    tokenizer = data_config.get("tokenizer")
    shuffle = data_config.get("shuffle")
    held = _heldout(manifest, inputs, num)
    held_rows = (data_config.get("heldout") or {}).get("sequences") if held else None
    return DataView(
        index=manifest.data.index, seq_len=manifest.data.seq_len, chunks=chunks,
        total_tokens=num(sum(c.tokens for c in manifest.data.chunks)),
        total_sequences=sum(c.sequences for c in manifest.data.chunks)
        + (held_rows if isinstance(held_rows, int) else 0),
        sources=sources, documents_from_index=counted,
        shuffle=shuffle if isinstance(shuffle, str) else None, heldout=held,
        tokenizer=tuple(Row(key=k, value=num(v)) for k, v in flatten(tokenizer))
        if isinstance(tokenizer, Mapping) else (),
        config=tuple(Row(key=k, value=num(v)) for k, v in flatten(data_config)
                     if not k.startswith(("sources", "tokenizer.", "heldout.", "shuffle"))),
        license=manifest.release.licenses.data, merkle_format=manifest.data.merkle_format,
        stages=mixture_stages(manifest, num),
        mixture_plot=next((PlotRef(key=s.key, path=s.path, title=s.title)
                           for s in mixture_plots(manifest)), None))
