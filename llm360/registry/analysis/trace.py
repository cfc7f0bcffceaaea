"""Trace a token sequence to the training rows that hold it, and prove those rows.

Torch-free: chunks are memory-mapped with numpy (``int32 [sequences, seq_len]``), each chunk's
bytes are checked against the manifest's sha256 before it is searched, and a chunk is searched
as one stream of tokens, so a match may run from one row into the next. Which optimizer step
trained a row and which checkpoints came after come from the manifest (``lineage.spans``).

A proof (``build_proofs``) holds, per row, its tokens and its RFC 9162 audit path against the
chunk's Merkle root; ``check_proofs`` needs only the manifest: it recomputes the leaf from the
tokens and the root from the path, with the tree size, root and Merkle format the manifest
signs. Nothing in a proof file is trusted but the tokens and the path.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from llm360.errors import InputError, VerificationError
from llm360.registry.analysis import lineage
from llm360.registry.build import merkle
from llm360.registry.build.hashing import hash_files
from llm360.registry.manifest.models import Manifest
from llm360.registry.manifest.serialize import parse_json, read_bytes, read_json
from llm360.registry.run.chunks import SOURCES_TENSOR
from llm360.registry.run.safetensors_header import read_rows
from llm360.registry.verify.open import OpenedRelease
from llm360.registry.verify.sources import MAX_RELEASE_FILE

__all__ = ["Training", "Match", "TraceResult", "Tokenizer", "load_tokenizer", "read_tokens_file",
           "find_tokens", "trace_text", "build_proofs", "check_proofs", "PROOF_VERSION",
           "MAX_MATCHES"]

PROOF_VERSION = "llm360.trace_proof/v1"
MAX_MATCHES = 1000
#: the largest file of token ids ``trace --tokens`` reads (a query, not a corpus)
MAX_TOKENS_FILE = 16 * 1024 * 1024
_BLOCK = 1 << 24  # tokens compared per pass (64 MiB of int32)


@dataclass(frozen=True, kw_only=True)
class Training:
    """One checkpoint's training on the matched rows: the steps and what came after."""

    checkpoint: str
    first_step: int | None
    last_step: int | None
    after: tuple[str, ...]  # the checkpoint and every checkpoint descending from it


@dataclass(frozen=True, kw_only=True)
class Match:
    chunk: int
    path: str
    row: int                 # the row the match starts in
    column: int              # its first token's position in that row
    rows: tuple[int, ...]    # every row it covers (two when it crosses a row boundary)
    trained: tuple[Training, ...]
    source: str | None = None     # a mixture's source of the row it starts in, and its
    category: str | None = None   # category and epoch (0: the row's first time trained on)
    epoch: int | None = None


@dataclass(frozen=True, kw_only=True)
class TraceResult:
    tokens: tuple[int, ...]
    matches: tuple[Match, ...]
    chunks_searched: int
    tokens_searched: int
    truncated: bool = False

    @property
    def trained(self) -> bool:
        return any(m.trained for m in self.matches)

    def as_data(self) -> dict[str, Any]:
        return {"tokens": list(self.tokens), "trained": self.trained,
                "chunks_searched": self.chunks_searched, "tokens_searched": self.tokens_searched,
                "truncated": self.truncated,
                "matches": [{"chunk": m.chunk, "path": m.path, "row": m.row, "column": m.column,
                             "rows": list(m.rows), "source": m.source, "category": m.category,
                             "epoch": m.epoch,
                             "trained": [{"checkpoint": t.checkpoint,
                                          "first_step": t.first_step, "last_step": t.last_step,
                                          "checkpoints_after": list(t.after)}
                                         for t in m.trained]} for m in self.matches]}


@dataclass(frozen=True, kw_only=True)
class Tokenizer:
    encode: Callable[[str], list[int]]
    decode: Callable[[Sequence[int]], str]


def load_tokenizer(source: OpenedRelease) -> Tokenizer:
    """The release's tokenizer (its bytes checked against the manifest).

    ``tokenizer.json`` of the ``tokenizers`` library; the synthetic runs' ``synthetic-bytes``
    tokenizer maps each UTF-8 byte to its value."""
    rel = source.manifest.model.tokenizer
    if not rel:
        raise InputError(f"{source.manifest_path}: the release has no tokenizer",
                         hint="pass the token ids with --tokens FILE")
    raw = source.read(rel)
    doc = parse_json(raw, source=str(source.path(rel)))
    if isinstance(doc, dict) and (doc.get("model") or {}).get("type") == "synthetic-bytes":
        return Tokenizer(encode=lambda text: list(text.encode("utf-8")),
                         decode=lambda ids: bytes(int(i) % 256 for i in ids).decode(
                             "utf-8", errors="replace"))
    try:
        from tokenizers import Tokenizer as HFTokenizer
    except ImportError:
        raise InputError("tracing --text needs the `tokenizers` package",
                         hint="pip install 'llm360[train]', or pass token ids with --tokens "
                              "FILE") from None
    try:
        tok = HFTokenizer.from_str(raw.decode("utf-8"))
    except Exception as exc:  # noqa: BLE001 - the library raises plain Exceptions
        raise InputError(f"{source.path(rel)}: not a tokenizers tokenizer ({exc})") from exc
    return Tokenizer(encode=lambda text: tok.encode(text, add_special_tokens=False).ids,
                     decode=lambda ids: tok.decode([int(i) for i in ids],
                                                   skip_special_tokens=False))


def read_tokens_file(path: Path) -> list[int]:
    """Token ids from a file (at most ``MAX_TOKENS_FILE`` bytes): a JSON list of integers, or
    integers separated by spaces, commas or newlines."""
    raw = read_bytes(path, str(path), limit=MAX_TOKENS_FILE)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text") from exc
    stripped = text.strip()
    if stripped.startswith("["):
        ids = parse_json(raw, source=str(path))  # depth and numbers bounded
    else:
        words = stripped.replace(",", " ").split()
        bad = next((i for i, w in enumerate(words) if not w.isascii() or not w.isdigit()), None)
        if bad is not None:
            shown = words[bad] if len(words[bad]) <= 24 else words[bad][:24] + "..."
            raise InputError(f"{path}: expected token ids (a JSON list of integers or integers "
                             f"separated by spaces); item {bad + 1} is {shown!r}")
        ids = [int(w) for w in words]
    if not isinstance(ids, list) or not ids or not all(
            isinstance(i, int) and not isinstance(i, bool) and 0 <= i < 2**31 for i in ids):
        raise InputError(f"{path}: expected a non-empty list of non-negative integer token ids")
    return ids


def read_proof(path: Path) -> object:
    """A proof document printed by ``trace --proof`` (at most ``MAX_RELEASE_FILE`` bytes)."""
    return read_json(path, limit=MAX_RELEASE_FILE)


def _search(flat: np.ndarray, query: Sequence[int], limit: int) -> list[int]:
    """Start offsets of ``query`` in ``flat`` (ascending, at most ``limit``)."""
    n, m = int(flat.size), len(query)
    if m == 0 or m > n:
        return []
    q = np.asarray(query, dtype=np.int64)
    anchor = int(np.argmax(q))  # larger BPE ids are rarer merges: fewer candidates
    value = q[anchor]
    others = [t for t in range(m) if t != anchor]
    hits: list[int] = []
    first, end = anchor, n - m + anchor + 1  # where the anchor token may sit
    for start in range(first, end, _BLOCK):
        stop = min(start + _BLOCK, end)
        starts = np.flatnonzero(flat[start:stop] == value) + (start - anchor)
        for t in others:
            if not starts.size:
                break
            starts = starts[flat[starts + t] == q[t]]
        hits.extend(starts.tolist())
        if len(hits) >= limit:
            return hits[:limit]
    return hits


def _chunk_rows(source: OpenedRelease, path: str) -> np.ndarray:
    rows = read_rows(source.path(path))
    if rows.ndim != 2 or rows.shape[1] != source.manifest.data.seq_len:
        raise InputError(f"{path}: rows of {rows.shape[1:]} tokens, the manifest says "
                         f"{source.manifest.data.seq_len}")
    return rows


def _row_source(source: OpenedRelease, path: str, row: int
                ) -> tuple[str | None, str | None, int | None]:
    """(source, category, epoch) of a row of a mixture chunk, from its ``sources`` column."""
    mixture = source.manifest.data.mixture
    if mixture is None:
        return None, None, None
    column = read_rows(source.path(path), SOURCES_TENSOR)
    index, epoch = (int(v) for v in column[row])
    if not 0 <= index < len(mixture.sources):
        raise InputError(f"{path}: row {row} names source {index}; the manifest lists "
                         f"{len(mixture.sources)}")
    found = mixture.sources[index]
    return found.name, found.category, epoch


def _check_chunks(source: OpenedRelease, paths: list[str],
                  progress: Callable[[int], None] | None) -> None:
    if source.on_hub:  # each chunk is checked as it is downloaded
        for rel in paths:
            source.path(rel)
            if progress is not None:
                progress(source.artifact(rel).size)
        return
    for d in hash_files(source.root, paths, progress=progress):
        source.compare_digest(d.path, d.sha256, d.size)


def find_tokens(source: OpenedRelease, tokens: Sequence[int], *, check_bytes: bool = True,
                accept: Callable[[np.ndarray, int], int | None] | None = None,
                progress: Callable[[int], None] | None = None,
                limit: int = MAX_MATCHES) -> TraceResult:
    """Every place ``tokens`` occurs in the release's data chunks, with its training.

    ``accept(flat, start)`` (used for text) may confirm a candidate and return the match's
    real start, or None to drop it. Chunk bytes are checked against the manifest first.
    """
    manifest = source.manifest
    chunks = list(manifest.data.chunks)
    if check_bytes:
        _check_chunks(source, [c.path for c in chunks], progress)
    spans = lineage.spans(manifest)
    after: dict[str, tuple[str, ...]] = {}  # only for the checkpoints that trained a match

    def after_of(name: str) -> tuple[str, ...]:
        if name not in after:
            after[name] = (name, *lineage.descendants(manifest, name))
        return after[name]

    seq_len = manifest.data.seq_len
    matches: list[Match] = []
    searched = 0
    truncated = False
    for chunk in chunks:
        flat = _chunk_rows(source, chunk.path).reshape(-1)
        searched += int(flat.size)
        for start in _search(flat, tokens, limit - len(matches) + 1):
            if accept is not None:
                accepted = accept(flat, start)
                if accepted is None:
                    continue
                start = accepted
            if len(matches) >= limit:
                truncated = True
                break
            first_row, last_row = start // seq_len, (start + len(tokens) - 1) // seq_len
            rows = tuple(range(first_row, min(last_row, len(flat) // seq_len - 1) + 1))
            trained = tuple(
                Training(checkpoint=s.checkpoint, first_step=s.step_of(rows[0]),
                         last_step=s.step_of(rows[-1]), after=after_of(s.checkpoint))
                for s in spans if s.chunk == chunk.index and rows[-1] < s.rows)
            name, category, epoch = _row_source(source, chunk.path, first_row)
            matches.append(Match(chunk=chunk.index, path=chunk.path, row=first_row,
                                 column=start % seq_len, rows=rows, trained=trained,
                                 source=name, category=category, epoch=epoch))
        if truncated:
            break
    return TraceResult(tokens=tuple(int(t) for t in tokens), matches=tuple(matches),
                       chunks_searched=len(chunks), tokens_searched=searched,
                       truncated=truncated)


def trace_text(source: OpenedRelease, text: str, *, check_bytes: bool = True,
               progress: Callable[[int], None] | None = None) -> TraceResult:
    """Trace ``text``, tokenized with the release's tokenizer.

    The exact token sequence is searched first. A piece of text cut out of a document may
    tokenize differently at its two ends than it did in context, so when that finds nothing
    the tokens without the first and last one are searched and each candidate is kept only if
    the decoded tokens around it contain the text."""
    if not text:
        raise InputError("--text is empty")
    tok = load_tokenizer(source)
    ids = tok.encode(text)
    if not ids:
        raise InputError("--text gives no tokens")
    result = find_tokens(source, ids, check_bytes=check_bytes, progress=progress)
    if result.matches or len(ids) < 3:
        return result
    core = ids[1:-1]

    def accept(flat: np.ndarray, start: int) -> int | None:
        lo, hi = max(start - 4, 0), min(start + len(core) + 4, int(flat.size))
        window = tok.decode(flat[lo:hi].tolist())
        return max(start - 1, 0) if text in window else None

    found = find_tokens(source, core, check_bytes=False, accept=accept)
    return TraceResult(tokens=tuple(ids), matches=found.matches,
                       chunks_searched=found.chunks_searched,
                       tokens_searched=found.tokens_searched, truncated=found.truncated)


def build_proofs(source: OpenedRelease, result: TraceResult) -> dict[str, Any]:
    """The proof document of every matched row: tokens and audit path against the chunk's
    Merkle root in the manifest (each root recomputed and compared first)."""
    manifest = source.manifest
    fmt = manifest.data.merkle_format
    wanted: dict[int, set[int]] = {}
    for m in result.matches:
        wanted.setdefault(m.chunk, set()).update(m.rows)
    proofs: list[dict[str, Any]] = []
    for chunk in manifest.data.chunks:
        if chunk.index not in wanted:
            continue
        rows = _chunk_rows(source, chunk.path)
        indices = sorted(wanted[chunk.index])
        root, paths = merkle.inclusion_proofs(merkle.row_leaves(rows, fmt), indices, fmt)
        if root != chunk.merkle_root:
            raise VerificationError(f"{chunk.path}: the Merkle root of its rows "
                                    f"{root[:16]}... differs from the manifest's "
                                    f"{chunk.merkle_root[:16]}...", artifact=chunk.path)
        for row, path in zip(indices, paths):
            proofs.append({"chunk": chunk.index, "path": chunk.path, "row": row,
                           "sequences": chunk.sequences, "merkle_root": chunk.merkle_root,
                           "tokens": [int(t) for t in rows[row]],
                           "audit_path": [p.hex() for p in path]})
    return {"schema_version": PROOF_VERSION, "manifest_sha256": source.manifest_sha256,
            "release": {"name": manifest.release.name, "version": manifest.release.version},
            "merkle": fmt, "proofs": proofs}


@dataclass(frozen=True, kw_only=True)
class _ProofRow:
    """One row of a proof document, as checked by ``_proof_list``."""

    chunk: int
    row: int
    tokens: tuple[int, ...]
    audit_path: tuple[bytes, ...]


def _proof_list(doc: object, source: str) -> tuple[str, list[_ProofRow]]:
    if isinstance(doc, dict) and isinstance(doc.get("proof"), dict):
        doc = doc["proof"]  # the --json output of `trace --proof`
    if not isinstance(doc, dict) or doc.get("schema_version") != PROOF_VERSION:
        raise InputError(f"{source}: $.schema_version: not a proof ({PROOF_VERSION})",
                         hint="pass what `llm360 trace ... --proof` printed")
    digest, proofs = doc.get("manifest_sha256"), doc.get("proofs")
    if not isinstance(digest, str) or not isinstance(proofs, list) or not proofs:
        raise InputError(f"{source}: $.manifest_sha256 and a non-empty $.proofs are required")
    rows: list[_ProofRow] = []
    for i, p in enumerate(proofs):
        ok = (isinstance(p, dict) and isinstance(p.get("chunk"), int)
              and isinstance(p.get("row"), int) and isinstance(p.get("tokens"), list)
              and all(isinstance(t, int) and not isinstance(t, bool) for t in p["tokens"])
              and isinstance(p.get("audit_path"), list)
              and all(isinstance(h, str) and len(h) == 64 for h in p["audit_path"]))
        try:
            audit_path = tuple(bytes.fromhex(h) for h in p["audit_path"]) if ok else None
        except ValueError:
            audit_path = None
        if audit_path is None:
            raise InputError(f"{source}: $.proofs[{i}]: needs integer chunk and row, a list of "
                             "token ids and an audit_path of 64-hex-digit digests")
        rows.append(_ProofRow(chunk=p["chunk"], row=p["row"], tokens=tuple(p["tokens"]),
                              audit_path=audit_path))
    return digest, rows


def check_proofs(manifest: Manifest, manifest_sha256: str, doc: object, *,
                 source: str = "proof") -> list[str]:
    """What is wrong with a proof document against this manifest (empty: every row checks).

    Uses only the manifest: the chunk's root, size and Merkle format come from it, never from
    the proof."""
    digest, proofs = _proof_list(doc, source)
    if digest != manifest_sha256:
        return [f"the proof is for manifest {digest[:16]}..., not this one "
                f"({manifest_sha256[:16]}...)"]
    chunks = {c.index: c for c in manifest.data.chunks}
    fmt = manifest.data.merkle_format
    problems: list[str] = []
    for i, p in enumerate(proofs):
        chunk = chunks.get(p.chunk)
        where = f"$.proofs[{i}] (chunk {p.chunk} row {p.row})"
        if chunk is None:
            problems.append(f"{where}: the manifest has no chunk {p.chunk}")
            continue
        if len(p.tokens) != manifest.data.seq_len or not all(
                -2**31 <= t < 2**31 for t in p.tokens):
            problems.append(f"{where}: {len(p.tokens)} tokens, rows hold "
                            f"{manifest.data.seq_len}")
            continue
        leaf = merkle.leaf_hash(merkle.row_bytes(p.tokens), fmt)
        root = merkle.root_from_proof(leaf, p.row, chunk.sequences, p.audit_path, fmt)
        if root is None or root.hex() != chunk.merkle_root:
            problems.append(f"{where}: does not lead to the Merkle root of {chunk.path} in "
                            "the manifest")
    return problems
