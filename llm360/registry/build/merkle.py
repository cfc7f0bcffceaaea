"""Merkle trees over the rows of a data chunk: roots, inclusion proofs and their verification.

Two formats, named in the manifest (``data.merkle``) and in ``data/index.json`` (``merkle``):

``rfc6962`` (what llm360 writes)
    RFC 6962 / RFC 9162 section 2.1 with sha256: a leaf is ``sha256(0x00 || row bytes)``, a node
    is ``sha256(0x01 || left || right)``; the tree of ``n`` leaves splits at the largest power of
    two below ``n`` (the left subtree is full), which is the same as pairing each level from the
    left and moving an odd last node up unchanged; no leaves gives ``sha256("")``. The prefixes
    keep a leaf from ever passing for a node (second-preimage resistance of proofs).
``legacy`` (manifests ``llm360.manifest/v1``)
    A leaf is ``sha256(row bytes)``, a node ``sha256(left || right)``, an odd last node moves up
    unchanged; no leaves gives ``sha256("")``.

A row's bytes are its little-endian ``int32`` token ids. An inclusion proof is RFC 9162's audit
path: the sibling hashes from the leaf up to the root.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from numpy.typing import ArrayLike

__all__ = ["RFC6962", "LEGACY", "FORMATS", "DEFAULT_FORMAT", "leaf_hash", "node_hash",
           "row_bytes", "row_leaves", "merkle_root", "rows_merkle_root", "row_bytes_merkle_root",
           "inclusion_proof",
           "inclusion_proofs", "root_from_proof"]

RFC6962 = "rfc6962"
LEGACY = "legacy"
FORMATS = (RFC6962, LEGACY)
DEFAULT_FORMAT = RFC6962

_LEAF, _NODE = b"\x00", b"\x01"


def _check(fmt: str) -> None:
    if fmt not in FORMATS:
        raise ValueError(f"unknown Merkle format {fmt!r} (expected one of {FORMATS})")


def leaf_hash(data: bytes, fmt: str = DEFAULT_FORMAT) -> bytes:
    """The leaf digest of ``data`` in format ``fmt``."""
    _check(fmt)
    return hashlib.sha256((_LEAF if fmt == RFC6962 else b"") + data).digest()


def node_hash(left: bytes, right: bytes, fmt: str = DEFAULT_FORMAT) -> bytes:
    """The digest of an inner node in format ``fmt``."""
    return hashlib.sha256((_NODE if fmt == RFC6962 else b"") + left + right).digest()


def row_bytes(row: ArrayLike) -> bytes:
    """A row's leaf data: its token ids as little-endian int32."""
    import numpy as np  # here, not at import: a rebuild whose chunk facts are cached needs none

    return np.ascontiguousarray(row, dtype="<i4").tobytes()


def row_leaves(rows: ArrayLike, fmt: str = DEFAULT_FORMAT) -> list[bytes]:
    """Leaf digests of every row of a 2-D token array."""
    _check(fmt)
    prefix = _LEAF if fmt == RFC6962 else b""
    import numpy as np

    arr = np.ascontiguousarray(rows, dtype="<i4")
    return [hashlib.sha256(prefix + r.tobytes()).digest() for r in arr]


def _levels(leaves: Sequence[bytes], fmt: str) -> list[list[bytes]]:
    levels = [list(leaves)]
    while len(levels[-1]) > 1:
        level = levels[-1]
        up = [node_hash(level[i], level[i + 1], fmt) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            up.append(level[-1])
        levels.append(up)
    return levels


def merkle_root(leaves: Sequence[bytes], fmt: str = DEFAULT_FORMAT) -> str:
    """The root (hex) over leaf digests (already hashed with ``leaf_hash``)."""
    _check(fmt)
    if not leaves:
        return hashlib.sha256(b"").hexdigest()
    return _levels(leaves, fmt)[-1][0].hex()


def rows_merkle_root(rows: ArrayLike, fmt: str = DEFAULT_FORMAT) -> str:
    """The root (hex) over the rows of a 2-D token array."""
    return merkle_root(row_leaves(rows, fmt), fmt)


def row_bytes_merkle_root(rows: Iterable[bytes], fmt: str = DEFAULT_FORMAT) -> str:
    """The root (hex) over rows given as their leaf data (``row_bytes``), without numpy."""
    _check(fmt)
    prefix = _LEAF if fmt == RFC6962 else b""
    return merkle_root([hashlib.sha256(prefix + row).digest() for row in rows], fmt)


def inclusion_proof(leaves: Sequence[bytes], index: int, fmt: str = DEFAULT_FORMAT
                    ) -> list[bytes]:
    """The audit path of leaf ``index``: sibling digests from the leaf up to the root."""
    return inclusion_proofs(leaves, [index], fmt)[1][0]


def inclusion_proofs(leaves: Sequence[bytes], indices: Sequence[int],
                     fmt: str = DEFAULT_FORMAT) -> tuple[str, list[list[bytes]]]:
    """(root hex, audit path of each leaf in ``indices``), building the tree once."""
    _check(fmt)
    for index in indices:
        if not 0 <= index < len(leaves):
            raise IndexError(f"leaf {index} is not in a tree of {len(leaves)} leaves")
    if not leaves:
        return hashlib.sha256(b"").hexdigest(), []
    levels = _levels(leaves, fmt)
    paths: list[list[bytes]] = []
    for index in indices:
        path: list[bytes] = []
        for level in levels[:-1]:
            sibling = index ^ 1
            if sibling < len(level):
                path.append(level[sibling])
            index //= 2
        paths.append(path)
    return levels[-1][0].hex(), paths


def root_from_proof(leaf: bytes, index: int, size: int, path: Sequence[bytes],
                    fmt: str = DEFAULT_FORMAT) -> bytes | None:
    """The root that ``path`` proves leaf ``index`` of a ``size``-leaf tree into, or None when
    the path cannot belong to such a tree (wrong length, index outside the tree).

    RFC 9162 section 2.1.3.2, which needs no tree: compare the result with the trusted root.
    """
    _check(fmt)
    if not 0 <= index < size:
        return None
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            return None
        if fn % 2 == 1 or fn == sn:
            r = node_hash(p, r, fmt)
            if fn % 2 == 0:
                while fn % 2 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p, fmt)
        fn >>= 1
        sn >>= 1
    return r if sn == 0 else None
