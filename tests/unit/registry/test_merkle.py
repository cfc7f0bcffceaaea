"""Merkle trees: RFC 6962 test vectors, inclusion proofs for every shape, the legacy format."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from llm360.registry.build import merkle
from llm360.registry.build.merkle import (
    inclusion_proof,
    leaf_hash,
    merkle_root,
    root_from_proof,
    row_leaves,
    rows_merkle_root,
)

# The Certificate Transparency reference inputs and tree heads (RFC 6962 trees of 1..8 leaves).
CT_INPUTS = [bytes.fromhex(h) for h in ("", "00", "10", "2021", "3031", "40414243",
                                        "5051525354555657", "606162636465666768696a6b6c6d6e6f")]
CT_ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
CT_PROOF_0_OF_8 = ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                   "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                   "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]


def _rfc6962_mth(leaves: list[bytes]) -> bytes:
    """RFC 6962 section 2.1 as written: split at the largest power of two below n."""
    if len(leaves) == 1:
        return leaves[0]
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return hashlib.sha256(b"\x01" + _rfc6962_mth(leaves[:k]) + _rfc6962_mth(leaves[k:])).digest()


def test_rfc6962_reference_roots() -> None:
    leaves = [leaf_hash(d) for d in CT_INPUTS]
    assert merkle_root([]) == hashlib.sha256(b"").hexdigest()
    for n in range(1, 9):
        assert merkle_root(leaves[:n]) == CT_ROOTS[n - 1]


def test_rfc6962_reference_proof() -> None:
    leaves = [leaf_hash(d) for d in CT_INPUTS]
    assert [p.hex() for p in inclusion_proof(leaves, 0)] == CT_PROOF_0_OF_8


@pytest.mark.parametrize("fmt", merkle.FORMATS)
def test_every_proof_of_every_shape_checks_and_tampering_fails(fmt: str) -> None:
    for n in range(1, 34):
        leaves = [leaf_hash(bytes([i, n]), fmt) for i in range(n)]
        root = bytes.fromhex(merkle_root(leaves, fmt))
        if fmt == merkle.RFC6962:
            assert root == _rfc6962_mth(leaves)
        for i in range(n):
            path = inclusion_proof(leaves, i, fmt)
            assert root_from_proof(leaves[i], i, n, path, fmt) == root
            other = leaf_hash(b"changed", fmt)
            assert root_from_proof(other, i, n, path, fmt) != root
            if n > 1:
                assert root_from_proof(leaves[i], (i + 1) % n, n, path, fmt) != root
                assert root_from_proof(leaves[i], i, n, path[:-1], fmt) != root
            assert root_from_proof(leaves[i], i, n + 40, path, fmt) is None \
                or root_from_proof(leaves[i], i, n + 40, path, fmt) != root


def test_domain_separation_changes_every_root() -> None:
    rows = np.arange(6 * 4, dtype=np.int32).reshape(6, 4)
    assert rows_merkle_root(rows, "rfc6962") != rows_merkle_root(rows, "legacy")
    # a leaf is never a node: a leaf over two node digests does not give the node's digest
    leaves = row_leaves(rows)
    assert leaf_hash(leaves[0] + leaves[1]) != bytes.fromhex(merkle_root(leaves[:2]))


def test_row_bytes_are_little_endian_int32() -> None:
    rows = np.array([[1, 2], [3, 4]], dtype=">i8")
    assert row_leaves(rows, "legacy")[0] == hashlib.sha256(
        np.array([1, 2], dtype="<i4").tobytes()).digest()


def test_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError):
        merkle_root([b"x" * 32], "sha3")
