"""What the three exports share: the facts of a release they are written from, read once into
frozen dataclasses, and the few helpers (identifiers, URLs, licenses, JSON) they all use.

The facts are the signed manifest plus three run records it lists and whose digests it signs:
``config/data.json`` (corpus sources, tokenizer, shuffle, held-out set), ``data/index.json``
(the source documents of each chunk) and the evaluations (which dataset each metric was
measured on). Each record is read here, at the boundary, and nowhere else; a fact a record
does not hold is ``None`` or empty, and the documents leave it out.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from llm360.registry import layout
from llm360.registry.analysis import lineage
from llm360.registry.cards._hub_meta import hub_links
from llm360.registry.cards._metrics import EvalSet, eval_set_for
from llm360.registry.manifest.models import Artifact, Checkpoint, Manifest
from llm360.registry.run.records import DataConfig, DataIndex, DataSource, EvalRecord

__all__ = ["FORMATS", "FILES", "TOOL", "CorpusSource", "TokenizerFacts", "DataFacts",
           "Measurement", "ReleaseFacts", "release_facts", "collection_text",
           "preprocessing_steps", "dumps", "canonical_license", "license_url", "hub_file_url",
           "hub_dataset_url", "hub_branch_url", "document_uuid", "ordered"]

#: the formats ``llm360 export`` writes, and the release file each is written to
FORMATS = ("croissant", "spdx", "cyclonedx")
FILES = {"croissant": layout.CROISSANT, "spdx": layout.SPDX_BOM,
         "cyclonedx": layout.CYCLONEDX_BOM}
#: the tool named as the documents' creator
TOOL = "llm360"
HUB = "https://huggingface.co"


@dataclass(frozen=True, kw_only=True)
class CorpusSource:
    """One corpus source the data was prepared from (``config/data.json`` ``sources``)."""

    name: str | None = None
    kind: str | None = None
    bytes: int | None = None
    sha256: str | None = None

    @property
    def label(self) -> str:
        return self.name or self.kind or "source"


@dataclass(frozen=True, kw_only=True)
class TokenizerFacts:
    kind: str | None = None
    vocab_size: int | None = None
    library: str | None = None


@dataclass(frozen=True, kw_only=True)
class DataFacts:
    """What the data records say beyond the manifest; every field optional."""

    sources: tuple[CorpusSource, ...] = ()
    documents: int | None = None              # documents in the corpus
    corpus_sha256: str | None = None
    shuffle: str | None = None
    seed: int | None = None
    tokenizer: TokenizerFacts | None = None
    heldout_fraction: float | None = None
    chunk_documents: Mapping[int, tuple[str, ...]] | None = None  # chunk -> source documents


@dataclass(frozen=True, kw_only=True)
class Measurement:
    """One metric of one checkpoint and the set it was measured on (None: a training
    metric, not an evaluation)."""

    checkpoint: str
    key: str
    value: float
    eval_set: EvalSet | None


@dataclass(frozen=True, kw_only=True)
class ReleaseFacts:
    """Everything an export is written from."""

    manifest: Manifest
    manifest_sha256: str
    data: DataFacts
    measurements: tuple[Measurement, ...]
    seen: Mapping[str, tuple[int, ...]]   # checkpoint -> every chunk it has trained on
    hub_repo: str | None
    hub_data_repo: str | None
    tool_version: str

    @property
    def heldout(self) -> Artifact | None:
        return self.manifest.artifact(layout.HELDOUT)

    def chunk_artifact(self, path: str) -> Artifact:
        art = self.manifest.artifact(path)
        if art is None:  # lineage.check refuses such a manifest before anything is exported
            raise ValueError(f"{path}: a chunk the manifest does not list as an artifact")
        return art

    def measured(self, ckpt: Checkpoint) -> tuple[Measurement, ...]:
        return tuple(m for m in self.measurements if m.checkpoint == ckpt.name)

    def benchmarks(self) -> tuple[EvalSet, ...]:
        """Each benchmark some checkpoint was evaluated on, once, sorted by its key."""
        found = {m.eval_set.key: m.eval_set for m in self.measurements
                 if m.eval_set is not None and m.eval_set.key.startswith("benchmark:")}
        return tuple(found[k] for k in sorted(found))

    def id(self, kind: str, local: str = "") -> str:
        """An identifier of an element of this release: the first 64 bits of its manifest's
        digest (the documents state the whole of it), the element's kind and name."""
        tail = f":{quote(local, safe='')}" if local else ""
        return f"urn:llm360:{self.manifest_sha256[:16]}:{kind}{tail}"


def _sources(config: DataConfig) -> tuple[CorpusSource, ...]:
    return tuple(CorpusSource(name=s.name or None, kind=s.kind or None, bytes=s.bytes,
                              sha256=s.sha256 or None) if isinstance(s, DataSource)
                 else CorpusSource(name=s) for s in config.sources or ())


def _data_facts(config: DataConfig | None, index: DataIndex | None) -> DataFacts:
    documents = {c.index: tuple(c.sources) for c in (index.chunks if index else ())
                 if c.sources is not None}
    if config is None:
        return DataFacts(chunk_documents=documents or None)
    corpus, tok, held = config.corpus, config.tokenizer, config.heldout
    return DataFacts(
        sources=_sources(config), documents=corpus.documents if corpus else None,
        corpus_sha256=(corpus.sha256 or None) if corpus else None,
        shuffle=config.shuffle or None, seed=config.seed,
        tokenizer=TokenizerFacts(kind=tok.type or None, vocab_size=tok.vocab_size,
                                 library=tok.library or None)
        if tok is not None and tok.to_data() else None,
        heldout_fraction=float(held.fraction) if held and held.fraction is not None else None,
        chunk_documents=documents or None)


def release_facts(manifest: Manifest, manifest_sha256: str, *, data_config: DataConfig | None,
                  data_index: DataIndex | None, evals: Mapping[str, EvalRecord],
                  tool_version: str) -> ReleaseFacts:
    """The facts of a release from its manifest and its (verified) records: the data config,
    the data index, and the eval records keyed by their path (read by ``eval_set_for`` as the
    cards read them)."""
    hub = hub_links(manifest.release.links)
    measurements = []
    for ckpt in manifest.checkpoints:
        record = evals.get(ckpt.eval) if ckpt.eval else None
        for key in sorted(ckpt.metrics):
            measurements.append(Measurement(
                checkpoint=ckpt.name, key=key, value=float(ckpt.metrics[key]),
                eval_set=eval_set_for(key, record, release=manifest.release.name,
                                      data_repo=hub.data_repo)))
    seen = {c.name: tuple(lineage.data_seen(manifest, c.name)) for c in manifest.checkpoints}
    return ReleaseFacts(manifest=manifest, manifest_sha256=manifest_sha256,
                        data=_data_facts(data_config, data_index),
                        measurements=tuple(measurements), seen=seen, hub_repo=hub.repo,
                        hub_data_repo=hub.data_repo, tool_version=tool_version)


def collection_text(facts: ReleaseFacts) -> str | None:
    """How the corpus was collected, as far as ``config/data.json`` records it."""
    data = facts.data
    if not data.sources and data.documents is None:
        return None
    parts = []
    for s in data.sources:
        extra = [x for x in (s.kind if s.name else None,
                             f"{s.bytes} bytes" if s.bytes is not None else None,
                             f"sha256 {s.sha256}" if s.sha256 else None) if x]
        parts.append(f"{s.label} ({', '.join(extra)})" if extra else s.label)
    text = f"Corpus sources: {'; '.join(parts)}." if parts else ""
    if data.documents is not None:
        digest = f" (sha256 of the document list {data.corpus_sha256})" \
            if data.corpus_sha256 else ""
        text += f" {data.documents} documents{digest}."
    return text.strip()


def preprocessing_steps(facts: ReleaseFacts) -> tuple[str, ...]:
    """How the corpus became the chunks, one recorded step per line."""
    m, data = facts.manifest, facts.data
    steps = []
    tok = data.tokenizer
    if tok is not None or m.model.tokenizer:
        what = ", ".join(x for x in (tok.kind if tok else None,
                                     f"vocabulary {tok.vocab_size}" if tok and tok.vocab_size
                                     else None, tok.library if tok else None) if x)
        where = (f" ({m.model.tokenizer}, sha256 {m.model.tokenizer_sha256})"
                 if m.model.tokenizer and m.model.tokenizer_sha256 else "")
        steps.append(f"Tokenized{' with ' + what if what else ''}{where}.")
    steps.append(f"Rows of {m.data.seq_len} int32 token ids; {len(m.data.chunks)} chunks "
                 f"hold the rows in the order they were trained on ({m.data.index}); each "
                 f"chunk's Merkle root ({m.data.merkle_format}) covers its rows.")
    if data.shuffle:
        seed = f" (seed {data.seed})" if data.seed is not None else ""
        steps.append(f"Shuffle: {data.shuffle}{seed}.")
    held = facts.heldout
    if held is not None:
        share = f", {data.heldout_fraction:g} of the rows" if data.heldout_fraction else ""
        steps.append(f"Held-out set: {held.path}{share}; no checkpoint trained on it.")
    return tuple(steps)


def canonical_license(spdx: str) -> str | None:
    """The SPDX license expression ``spdx`` in canonical form, None when it is not one."""
    from packaging.licenses import InvalidLicenseExpression, canonicalize_license_expression

    try:
        return canonicalize_license_expression(spdx)
    except InvalidLicenseExpression:
        return None


def license_url(spdx: str) -> str:
    """The SPDX list's page of a single license id, else the license text as given."""
    canonical = canonical_license(spdx)
    if canonical and " " not in canonical and not canonical.startswith("LicenseRef-"):
        return f"https://spdx.org/licenses/{canonical}.html"
    return spdx


def hub_dataset_url(repo: str) -> str:
    return f"{HUB}/datasets/{repo}"


def hub_file_url(repo: str, path: str) -> str:
    return f"{HUB}/datasets/{repo}/resolve/main/{path}"


def hub_branch_url(repo: str, branch: str) -> str:
    return f"{HUB}/{repo}/tree/{quote(branch, safe='')}"


def document_uuid(facts: ReleaseFacts, fmt: str) -> str:
    """A UUID fixed by the release (its manifest digest) and the format."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, facts.id("export", fmt)))


def dumps(document: Mapping[str, Any]) -> bytes:
    """Sorted-key, compact, ASCII JSON and a newline (a release artifact: the same facts
    give the same bytes; no control character, so a terminal shows it as it is). Compact:
    the C encoder writes it (indented JSON goes through Python's, ~10 times slower on the
    BOMs of a release with hundreds of checkpoints)."""
    return (json.dumps(document, sort_keys=True, separators=(",", ":"), allow_nan=False)
            + "\n").encode("ascii")


def ordered(items: Iterable[str]) -> list[str]:
    """Unique, sorted."""
    return sorted(set(items))
