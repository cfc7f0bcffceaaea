"""Signing and signature verification: the only code importing sigstore or
``cryptography`` signatures.

* ``make_signer(method, ...)``: the ``Signer`` ``build_release`` uses to write
  ``signatures/<ckpt>/model.sig`` (OpenSSF Model Signing v1.0) and ``manifest.sigstore.json``
  (DSSE over an in-toto Statement v1, SLSA provenance v1 predicate, subjects ``manifest.json``
  and ``release-files.json``);
* ``write_key_pair``: ECDSA P-256 keys for ``--sign key``;
* ``check_manifest_signature`` / ``check_checkpoint_signatures``: used by ``verify``.

sigstore is imported only when keyless signing or verification runs.
"""

from pathlib import Path

from llm360.registry.signing._describe import SignatureInfo, describe_bundle, describe_signature
from llm360.registry.signing._statement import (
    BUILD_TYPE,
    BUILDER_ID,
    OMS_PREDICATE,
    SLSA_PROVENANCE_V1,
    data_chunks_digest,
    oms_statement,
    provenance_statement,
)
from llm360.registry.signing._step import SIGN_METHODS, Signer, make_signer, statements_for
from llm360.registry.signing._verify import (
    BUNDLE_FILE,
    SIGNATURES_DIR,
    SignatureCheck,
    SignatureStatus,
    check_checkpoint_signatures,
    check_manifest_signature,
    check_usage,
)


def write_key_pair(private_path: Path, public_path: Path, *, passphrase: bytes | None = None,
                   force: bool = False) -> str:
    """Write a new ECDSA P-256 key pair (private 0600); returns the public fingerprint."""
    from llm360.registry.signing._keys import write_key_pair as _write

    return _write(private_path, public_path, passphrase=passphrase, force=force)


__all__ = [
    "BUILD_TYPE", "BUILDER_ID", "BUNDLE_FILE", "OMS_PREDICATE", "SIGNATURES_DIR",
    "SIGN_METHODS", "SLSA_PROVENANCE_V1", "SignatureCheck", "SignatureInfo",
    "SignatureStatus", "Signer",
    "check_checkpoint_signatures", "check_manifest_signature", "check_usage",
    "data_chunks_digest", "describe_bundle", "describe_signature", "make_signer", "oms_statement",
    "provenance_statement", "statements_for", "write_key_pair",
]
