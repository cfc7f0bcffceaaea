"""Croissant 1.1 (MLCommons) for the pretraining data of a release.

One ``cr:FileObject`` per data chunk and for the held-out set (sha256, size), the data index,
the data config and the tokenizer; record sets for the chunks (read from ``data/index.json``),
the corpus sources (from ``config/data.json``) and the token rows themselves (int32 arrays of
``seq_len`` ids in the ``tokens`` tensor of each chunk's safetensors file); the license,
creators, date and version of the release, and the RAI fields the records fill (collection,
preprocessing, use). ``contentUrl``\\ s are relative to the file, which sits at the root of the
release and of the dataset repo that ``llm360 push`` writes, beside ``data/``: they point at the
chunks wherever the release was pushed.
"""

from __future__ import annotations

from typing import Any

from llm360.registry.analysis.exports._common import (
    ReleaseFacts,
    collection_text,
    hub_dataset_url,
    license_url,
    preprocessing_steps,
)
from llm360.registry.manifest.models import Artifact

__all__ = ["CONFORMS_TO", "SAFETENSORS", "TOKENS_TENSOR", "document"]

CONFORMS_TO = "http://mlcommons.org/croissant/1.1"
#: safetensors has no registered media type: Croissant names such a format by a URL
SAFETENSORS = "https://huggingface.co/docs/safetensors"
JSON = "application/json"
#: the tensor of a chunk file that holds its rows
TOKENS_TENSOR = "tokens"

#: the @context of Croissant 1.1 (as mlcroissant writes it for 1.1)
CONTEXT = {
    "@language": "en", "@vocab": "https://schema.org/", "arrayShape": "cr:arrayShape",
    "citeAs": "cr:citeAs", "column": "cr:column", "conformsTo": "dct:conformsTo",
    "containedIn": "cr:containedIn", "cr": "http://mlcommons.org/croissant/",
    "rai": "http://mlcommons.org/croissant/RAI/",
    "data": {"@id": "cr:data", "@type": "@json"},
    "dataType": {"@id": "cr:dataType", "@type": "@vocab"}, "dct": "http://purl.org/dc/terms/",
    "description": {"@container": "@language"},
    "equivalentProperty": "cr:equivalentProperty",
    "examples": {"@id": "cr:examples", "@type": "@json"}, "extract": "cr:extract",
    "field": "cr:field", "fileProperty": "cr:fileProperty", "fileObject": "cr:fileObject",
    "fileSet": "cr:fileSet", "format": "cr:format", "includes": "cr:includes",
    "isArray": "cr:isArray", "isLiveDataset": "cr:isLiveDataset", "jsonPath": "cr:jsonPath",
    "key": "cr:key", "md5": "cr:md5", "name": {"@container": "@language"},
    "parentField": "cr:parentField", "path": "cr:path", "recordSet": "cr:recordSet",
    "references": "cr:references", "regex": "cr:regex", "repeated": "cr:repeated",
    "replace": "cr:replace", "samplingRate": "cr:samplingRate", "sc": "https://schema.org/",
    "separator": "cr:separator", "source": "cr:source", "subField": "cr:subField",
    "transform": "cr:transform",
}


def _file(art: Artifact, uid: str, fmt: str, description: str) -> dict[str, Any]:
    return {"@type": "cr:FileObject", "@id": uid, "name": uid, "description": description,
            "contentUrl": art.path, "encodingFormat": fmt, "sha256": art.sha256,
            "contentSize": f"{art.size} B"}


def _field(record_set: str, name: str, data_type: str, description: str,
           source: dict[str, Any], **more: Any) -> dict[str, Any]:
    uid = f"{record_set}/{name}"
    return {"@type": "cr:Field", "@id": uid, "name": uid, "description": description,
            "dataType": data_type, "source": source, **more}


def _json_field(record_set: str, file_id: str, array: str, name: str, data_type: str,
                description: str, **more: Any) -> dict[str, Any]:
    return _field(record_set, name, data_type, description,
                  {"fileObject": {"@id": file_id},
                   "extract": {"jsonPath": f"$.{array}[*].{name}"}}, **more)


def _distribution(facts: ReleaseFacts) -> list[dict[str, Any]]:
    m = facts.manifest
    out = []
    index = m.artifact(m.data.index)
    if index is not None:
        out.append(_file(index, "data-index", JSON,
                         "The chunks in training order: path, sha256, rows, tokens, Merkle "
                         "root and source documents of each."))
    config = m.artifact(m.training.data_config) if m.training.data_config else None
    if config is not None:
        out.append(_file(config, "data-config", JSON,
                         "How the data was prepared: corpus sources, tokenizer, sequence "
                         "length, chunking, shuffle, seed and held-out set."))
    tokenizer = m.artifact(m.model.tokenizer) if m.model.tokenizer else None
    if tokenizer is not None:
        out.append(_file(tokenizer, "tokenizer", JSON,
                         "The tokenizer that turned the corpus into the token ids."))
    for chunk in m.data.chunks:
        out.append(_file(facts.chunk_artifact(chunk.path), _chunk_id(chunk.index), SAFETENSORS,
                         f"Data chunk {chunk.index}: {chunk.sequences} rows of "
                         f"{m.data.seq_len} int32 token ids (tensor '{TOKENS_TENSOR}'), "
                         f"{chunk.tokens} tokens, Merkle root {chunk.merkle_root}."))
    if m.data.chunks:
        out.append({"@type": "cr:FileSet", "@id": "chunk-files", "name": "chunk-files",
                    "description": "Every data chunk, in training order.",
                    "encodingFormat": SAFETENSORS,
                    "includes": [c.path for c in m.data.chunks]})
    held = facts.heldout
    if held is not None:
        out.append(_file(held, "heldout", SAFETENSORS,
                         f"The held-out set: rows of {m.data.seq_len} int32 token ids "
                         f"(tensor '{TOKENS_TENSOR}') that no checkpoint trained on."))
    return out


def _chunk_id(index: int) -> str:
    return f"chunk-{index:03d}"


def _record_sets(facts: ReleaseFacts) -> list[dict[str, Any]]:
    m = facts.manifest
    out = []
    if m.artifact(m.data.index) is not None and m.data.chunks:
        rs = "chunks"
        fields = [
            _json_field(rs, "data-index", "chunks", "index", "sc:Integer",
                        "Position of the chunk in training order."),
            _json_field(rs, "data-index", "chunks", "path", "sc:Text",
                        "The chunk file, relative to the dataset root."),
            _json_field(rs, "data-index", "chunks", "sha256", "sc:Text",
                        "SHA-256 of the chunk file."),
            _json_field(rs, "data-index", "chunks", "sequences", "sc:Integer",
                        "Rows in the chunk."),
            _json_field(rs, "data-index", "chunks", "tokens", "sc:Integer",
                        "Token ids in the chunk."),
            _json_field(rs, "data-index", "chunks", "merkle_root", "sc:Text",
                        f"Merkle root ({m.data.merkle_format}) over the chunk's rows."),
        ]
        if facts.data.chunk_documents is not None \
                and len(facts.data.chunk_documents) == len(m.data.chunks):
            fields.append(_json_field(rs, "data-index", "chunks", "sources", "sc:Text",
                                      "The source documents the chunk's rows come from.",
                                      isArray=True))
        out.append({"@type": "cr:RecordSet", "@id": rs, "name": rs,
                    "description": "One record per data chunk, in training order.",
                    "key": {"@id": f"{rs}/index"}, "field": fields})
    config = m.artifact(m.training.data_config) if m.training.data_config else None
    sources = facts.data.sources
    if config is not None and sources:
        rs = "corpus_sources"
        fields = [_json_field(rs, "data-config", "sources", name, dtype, what)
                  for name, dtype, what in (
                      ("name", "sc:Text", "The source's name."),
                      ("kind", "sc:Text", "What the source is."),
                      ("bytes", "sc:Integer", "Size of the source in bytes."),
                      ("sha256", "sc:Text", "SHA-256 of the source."))
                  if all(getattr(s, name) is not None for s in sources)]
        if fields:
            out.append({"@type": "cr:RecordSet", "@id": rs, "name": rs,
                        "description": "The corpus sources the chunks were prepared from.",
                        "field": fields})
    if m.data.chunks:
        rs = "token_rows"
        out.append({"@type": "cr:RecordSet", "@id": rs, "name": rs,
                    "description": (
                        f"The rows trained on, in order: chunk after chunk, each row "
                        f"{m.data.seq_len} int32 token ids (tensor '{TOKENS_TENSOR}' of shape "
                        "[rows, seq_len] in the chunk's safetensors file). The chunks each "
                        "checkpoint trained on are in the release's manifest (checkpoints, "
                        "data_chunks, through their parents)."),
                    "field": [
                        _field(rs, "input_ids", "cr:Int32",
                               "One row of token ids, in training order.",
                               {"fileSet": {"@id": "chunk-files"},
                                "extract": {"column": TOKENS_TENSOR}},
                               isArray=True, arrayShape=str(m.data.seq_len)),
                        _field(rs, "chunk", "sc:Text", "The chunk file the row is in.",
                               {"fileSet": {"@id": "chunk-files"},
                                "extract": {"fileProperty": "filename"}}),
                    ]})
    return out


def _bibtex(facts: ReleaseFacts, url: str | None) -> str:
    """A BibTeX entry of the data from what the release records (no paper is linked)."""
    rel = facts.manifest.release
    key = "".join(ch if ch.isalnum() else "_" for ch in f"{rel.name}_data_{rel.version}")
    fields = [("title", f"{rel.name} pretraining data"),
              ("author", " and ".join(rel.authors) if rel.authors else None),
              ("year", rel.created[:4]), ("version", rel.version), ("url", url)]
    body = ",\n".join(f"  {k} = {{{v}}}" for k, v in fields if v)
    return f"@misc{{{key},\n{body}\n}}"


def document(facts: ReleaseFacts) -> dict[str, Any]:
    """The Croissant 1.1 JSON-LD of the release's pretraining data."""
    m = facts.manifest
    rel = m.release
    tokens = sum(c.tokens for c in m.data.chunks)
    about = (f"The pretraining data of {rel.name} {rel.version}: {len(m.data.chunks)} chunks "
             f"of int32 token ids ({tokens} tokens, rows of {m.data.seq_len}) in the order the "
             "checkpoints trained on them"
             + (", and the held-out set." if facts.heldout is not None else "."))
    doc: dict[str, Any] = {
        "@context": CONTEXT, "@type": "sc:Dataset", "conformsTo": CONFORMS_TO,
        "name": f"{rel.name}-data", "version": rel.version, "datePublished": rel.created,
        "description": f"{rel.description.strip()}\n\n{about}" if rel.description else about,
        "license": license_url(rel.licenses.data),
        "distribution": _distribution(facts), "recordSet": _record_sets(facts),
        "rai:dataUseCases": ("Language-model pretraining: the release's checkpoints were "
                             "trained on these chunks in this order"
                             + ("; the held-out set measures held-out loss and perplexity."
                                if facts.heldout is not None else ".")),
    }
    if rel.authors:
        doc["creator"] = [{"@type": "sc:Person", "name": a} for a in rel.authors]
    url = (hub_dataset_url(facts.hub_data_repo) if facts.hub_data_repo
           else rel.links.get("homepage") or rel.links.get("code"))
    if url:
        doc["url"] = url
    doc["citeAs"] = rel.links.get("paper") or _bibtex(facts, url)
    if rel.tags:
        doc["keywords"] = list(rel.tags)
    if rel.language:
        doc["inLanguage"] = list(rel.language)
    collected = collection_text(facts)
    if collected:
        doc["rai:dataCollection"] = collected
    doc["rai:dataPreprocessingProtocol"] = list(preprocessing_steps(facts))
    return doc
