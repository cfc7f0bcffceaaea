"""``data prepare --mixture FILE``: sources -> tokenizer -> rows per source -> held-out rows ->
rows drawn stage by stage (``mixing``) -> data chunks that record each row's source.

Every chunk file holds ``tokens`` int32 [rows, seq_len] and ``sources`` int32 [rows, 2] (the
row's source index in ``data/index.json`` ``mixture.sources``, and its epoch: 0 the first time
the row is trained on), both covered by the chunk's sha256. ``data/index.json`` records each
chunk's stage and its sequences and tokens per source and per category (repeated rows counted
as such), and the mixture: sources (category, license, reader, size) and stages (chunks,
target ratios, repetition caps, learning-rate schedule). ``release build`` recomputes the
counts from the chunk files and refuses a run whose index disagrees.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from llm360.errors import SchemaError
from llm360.registry import layout
from llm360.registry.build import merkle
from llm360.registry.build.hashing import write_recorded
from llm360.registry.build.merkle import rows_merkle_root
from llm360.registry.manifest.schema import validate
from llm360.registry.manifest.serialize import canonical_json
from llm360.registry.run.records import DataChunkRecord, DataIndex, MixtureRecord
from llm360.train.data import (
    PrepareResult,
    chunk_bytes,
    cut_sequences,
    heldout_count,
    hf_tokenizer_files,
    tokenizer_record,
    train_tokenizer,
)
from llm360.train.mixing import DRAW_RULE, Drawn, draw_stages, split_heldout
from llm360.train.mixture import Mixture, read_mixture
from llm360.train.readers import read_source

__all__ = ["prepare_mixture", "MIXTURE_COPY", "chunk_counts"]

#: the mixture file as given, kept in the run (its sha256 in config/data.json)
MIXTURE_COPY = f"{layout.CONFIG_DIR}/mixture.yaml"


def chunk_counts(sources: np.ndarray, names: Sequence[str], categories: Sequence[str],
                 seq_len: int) -> dict:
    """A chunk's ``counts``: sequences, tokens and repeated sequences per source and per
    category, from its ``sources`` column (only those with rows)."""
    out: dict = {"sources": {}, "categories": {}}
    for i, name in enumerate(names):
        mine = sources[:, 0] == i
        n = int(mine.sum())
        if not n:
            continue
        rep = int((mine & (sources[:, 1] > 0)).sum())
        out["sources"][name] = {"sequences": n, "tokens": n * seq_len, "repeated_sequences": rep}
        cat = out["categories"].setdefault(categories[i], {"sequences": 0, "tokens": 0,
                                                           "repeated_sequences": 0})
        cat["sequences"] += n
        cat["tokens"] += n * seq_len
        cat["repeated_sequences"] += rep
    return out


def prepare_mixture(run_dir: Path, mixture_path: Path, *, seq_len: int, seed: int,
                    vocab_size: int, heldout_fraction: float) -> PrepareResult:
    """Write tokenizer/, data/, config/data.json and config/mixture.yaml of ``run_dir`` from
    the mixture file at ``mixture_path``."""
    mixture = read_mixture(mixture_path)
    read = [read_source(source, seed=seed, index=i) for i, source in enumerate(mixture.sources)]
    docs, records = [got for got, _ in read], [record for _, record in read]
    tok = train_tokenizer([d for group in docs for d in group], vocab_size)
    rows, row_docs = [], []
    for i, group in enumerate(docs):
        r, rd = cut_sequences(tok, group, seq_len)
        if not len(r):
            raise SchemaError(f"source {mixture.sources[i].name!r} gives no whole sequence of "
                              f"{seq_len} tokens", file=str(mixture.path),
                              json_path=f"$.sources[{i}]", hint="add data or lower --seq-len")
        rows.append(r)
        row_docs.append(rd)
    total_rows = sum(len(r) for r in rows)
    keep, held = split_heldout([len(r) for r in rows],
                               heldout_count(total_rows, heldout_fraction), seed=seed)
    drawn = draw_stages(mixture, [len(k) for k in keep], seq_len=seq_len, seed=seed,
                        path=mixture.path)
    tok_bytes = tok.to_str().encode("utf-8")
    for name, data in hf_tokenizer_files(tok_bytes, model_max_length=seq_len).items():
        write_recorded(run_dir, f"{layout.TOKENIZER_DIR}/{name}", data)
    write_recorded(run_dir, MIXTURE_COPY, mixture.raw)
    chunks, stages = _write_chunks(run_dir, mixture, drawn, rows, row_docs, keep, docs,
                                   seq_len)
    heldout = np.concatenate([rows[i][h] for i, h in enumerate(held)])
    heldout = heldout[np.random.Generator(np.random.PCG64([seed, 3])).permutation(len(heldout))]
    write_recorded(run_dir, layout.HELDOUT, chunk_bytes(heldout))
    sources = [{"source_name": s.name, "category": s.category, "license": s.license,
                "reader": s.reader, "documents": len(docs[i]), "sequences": int(len(keep[i])),
                "heldout_sequences": int(len(held[i]))}
               for i, s in enumerate(mixture.sources)]
    index = DataIndex(seq_len=seq_len, merkle=merkle.DEFAULT_FORMAT, chunks=tuple(chunks),
                      mixture=MixtureRecord.from_data({"definition": MIXTURE_COPY,
                                                       "sources": sources, "stages": stages}))
    write_recorded(run_dir, layout.DATA_INDEX, index.to_json(source=layout.DATA_INDEX))
    every = [d for group in docs for d in group]
    corpus_digest = hashlib.sha256(canonical_json(
        [[d.id, hashlib.sha256(d.text.encode("utf-8")).hexdigest()] for d in every])).hexdigest()
    spc = mixture.sequences_per_chunk
    data_cfg = {
        "seq_len": seq_len, "num_chunks": len(chunks), "seed": seed,
        "sequences_per_chunk": spc, "total_sequences": int(total_rows),
        "shuffle": f"rows are cut per source; {DRAW_RULE}; held out first: the Hamilton "
                   "apportionment of heldout.sequences by source size, the last rows of "
                   "Generator(PCG64([seed, 0, i])).permutation per source, shuffled by "
                   "Generator(PCG64([seed, 3]))",
        "heldout": {"path": layout.HELDOUT, "sequences": int(len(heldout)),
                    "fraction": heldout_fraction},
        "sources": records,
        "corpus": {"documents": len(every), "sha256": corpus_digest,
                   "tokens": int(total_rows * seq_len)},
        "mixture": {"path": MIXTURE_COPY, "file": mixture.path.name, "sha256": mixture.sha256,
                    "stages": [s["name"] for s in stages]},
        "tokenizer": tokenizer_record(tok, tok_bytes, vocab_size),
    }
    validate(data_cfg, "data_config", source=layout.DATA_CONFIG)
    write_recorded(run_dir, layout.DATA_CONFIG, canonical_json(data_cfg))
    return PrepareResult(run_dir=run_dir, chunks=len(chunks), sequences_per_chunk=spc,
                         heldout_sequences=int(len(heldout)), seq_len=seq_len,
                         vocab_size=tok.get_vocab_size(), tokens=len(chunks) * spc * seq_len,
                         chunk_sha256=tuple(c.sha256 for c in chunks),
                         stages=tuple((s["name"], len(s["chunks"])) for s in stages))


def _write_chunks(run_dir: Path, mixture: Mixture, drawn: list[Drawn], rows: list,
                  row_docs: list, keep: list, docs: list, seq_len: int
                  ) -> tuple[list[DataChunkRecord], list[dict]]:
    """Every chunk file, stage after stage: (index records, the index's stages)."""
    spc = mixture.sequences_per_chunk
    names = [s.name for s in mixture.sources]
    categories = [s.category for s in mixture.sources]
    records, stages, k = [], [], 0
    for d in drawn:
        stage = mixture.stages[d.stage]
        first = k
        for c in range(len(d.source) // spc):
            part = slice(c * spc, (c + 1) * spc)
            src, row, epoch = d.source[part], d.row[part], d.epoch[part]
            arr = np.empty((spc, seq_len), dtype=np.int32)
            doc_ids: set[str] = set()
            for i in np.unique(src).tolist():
                mine = src == i
                picked = keep[i][row[mine]]
                arr[mine] = rows[i][picked]
                doc_ids.update(docs[i][j].id for r in picked.tolist() for j in row_docs[i][r])
            column = np.stack([src, epoch], axis=1).astype(np.int32)
            raw = chunk_bytes(arr, column)
            rel = layout.chunk_path(k)
            write_recorded(run_dir, rel, raw)
            records.append(DataChunkRecord.from_data({
                "index": k, "path": rel, "sha256": hashlib.sha256(raw).hexdigest(),
                "sequences": spc, "tokens": spc * seq_len,
                "merkle_root": rows_merkle_root(arr, merkle.DEFAULT_FORMAT),
                "sources": sorted(doc_ids), "stage": stage.name,
                "counts": chunk_counts(column, names, categories, seq_len)}))
            k += 1
        entry = {"name": stage.name, "chunks": list(range(first, k)),
                 "sequences": (k - first) * spc, "tokens": (k - first) * spc * seq_len,
                 "sources": [{"source_name": p.name, "target_ratio": p.target_ratio,
                              "max_repetition_ratio": p.max_repetition_ratio,
                              "sequences": n} for p, n in zip(stage.sources, d.counts)]}
        if stage.tokens is not None:
            entry["requested_tokens"] = stage.tokens
        if stage.schedule:
            entry["schedule"] = dict(stage.schedule)
        stages.append(entry)
    return records, stages
