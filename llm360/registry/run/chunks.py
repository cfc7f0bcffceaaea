"""What a data chunk file says about itself, read from its bytes: rows, tokens, Merkle root,
and, for a chunk of a mixture, its rows per source (the ``sources`` column).

The build signs these facts, so it computes them from the chunk file rather than copying
``data/index.json``. They are a pure function of the file's bytes, so they are cached by the
file's sha256 (``RUN/.llm360/chunk-cache.json``): an unchanged chunk is not read twice.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from llm360.errors import InputError
from llm360.registry import layout
from llm360.registry._files import resolve_inside, write_atomic
from llm360.registry.build.local_key import seal
from llm360.registry.build.merkle import row_bytes_merkle_root
from llm360.registry.run.safetensors_header import read_header, read_row_bytes, read_rows

__all__ = ["ChunkCache", "ChunkFacts", "SOURCES_TENSOR", "source_counts"]

_CACHE = layout.CHUNK_CACHE.rsplit("/", 1)[1]
_VERSION = 2
#: the tensor of a mixture chunk that gives each row's (source index, epoch)
SOURCES_TENSOR = "sources"


@dataclass(frozen=True, kw_only=True)
class ChunkFacts:
    """``sources``: (source index, rows, rows of a second or later epoch) per source present,
    by index; None for a chunk without a ``sources`` column."""

    sequences: int
    seq_len: int
    tokens: int
    merkle_root: str
    sources: tuple[tuple[int, int, int], ...] | None = None

    @classmethod
    def from_cache(cls, data: dict[str, Any]) -> ChunkFacts:
        found = data.get("sources")
        return cls(**{**data, "sources": None if found is None
                      else tuple(tuple(int(v) for v in row) for row in found)})


def source_counts(path: Path, rows: int, *, source: str) -> tuple[tuple[int, int, int], ...]:
    """(source index, rows, repeated rows) from the ``sources`` column of the chunk at ``path``
    (int [rows, 2]: source index, epoch), checked against its ``rows`` rows of tokens."""
    import numpy as np

    column = read_rows(path, SOURCES_TENSOR)
    if column.shape != (rows, 2):
        raise InputError(f"{source}: tensor 'sources' is {list(column.shape)}, expected "
                         f"[{rows}, 2] (a source index and an epoch per row of 'tokens')")
    if rows and int(column.min()) < 0:
        raise InputError(f"{source}: tensor 'sources' holds a negative source index or epoch")
    index, epoch = np.asarray(column[:, 0]), np.asarray(column[:, 1])
    found = np.unique(index).tolist()
    return tuple((i, int((index == i).sum()), int(((index == i) & (epoch > 0)).sum()))
                 for i in found)


class ChunkCache:
    """Chunk facts by ``fmt:sha256`` (sealed with this user's secret, ``local_key``), read once
    from ``RUN/.llm360/chunk-cache.json`` (or none, without ``cache_dir``) and written once by
    ``save`` when something was added."""

    def __init__(self, cache_dir: Path | None) -> None:
        self.dir = cache_dir
        self._entries: dict[str, object] = {}
        self._changed = False
        if cache_dir is None:
            return
        try:
            data = json.loads((cache_dir / _CACHE).read_text("utf-8"))
            if isinstance(data, dict) and data.get("version") == _VERSION:
                self._entries = data.get("entries") or {}
        except (OSError, ValueError, RecursionError):
            pass

    def facts(self, root: Path, rel: str, sha256: str, *, fmt: str) -> ChunkFacts:
        """The facts of ``root/rel`` whose bytes hash to ``sha256``, its Merkle root in the
        format ``fmt`` (``llm360.registry.build.merkle``)."""
        key = seal(f"{fmt}:{sha256}".encode())  # only this user's own entries match
        hit = self._entries.get(key)
        if isinstance(hit, dict):
            try:
                return ChunkFacts.from_cache(hit)
            except (TypeError, ValueError):
                pass
        path = resolve_inside(root, rel, where="data chunk")
        count, cols, rows = read_row_bytes(path)
        header, _ = read_header(path)
        facts = ChunkFacts(sequences=count, seq_len=cols, tokens=count * cols,
                           merkle_root=row_bytes_merkle_root(rows, fmt),
                           sources=source_counts(path, count, source=str(root / rel))
                           if SOURCES_TENSOR in header else None)
        self._entries[key] = asdict(facts)
        self._changed = True
        return facts

    def save(self) -> None:
        if self.dir is None or not self._changed:
            return
        try:
            write_atomic(self.dir / _CACHE, json.dumps(
                {"version": _VERSION, "entries": self._entries}, sort_keys=True).encode("utf-8"),
                durable=False)  # a cache: an entry lost in a crash is found again
        except OSError:
            pass  # a read-only run directory goes without the cache
        self._changed = False

