"""Signing a release while it is built: one ``Signer`` made before hashing, used twice.

``release build`` signs every checkpoint's OMS statement first (``signatures/<ckpt>/model.sig``),
renders the cards (which describe the signer, read back from those bundles), then signs the
release statement, whose subjects are ``manifest.json`` and ``release-files.json`` (the list of
every card, plot and signature with its sha256), so nothing in the release folder is unsigned.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from llm360 import __version__
from llm360.errors import InputError, SigningError
from llm360.registry.manifest.models import Manifest
from llm360.registry.signing._statement import oms_statement, provenance_statement

__all__ = ["SIGN_METHODS", "Signer", "make_signer", "statements_for"]

SIGN_METHODS = ("none", "key", "sigstore")


def statements_for(manifest: Manifest, manifest_bytes: bytes, *,
                   train_config: Mapping[str, Any] | None = None,
                   release_files: bytes | None = None,
                   parent_release: Mapping[str, str] | None = None) -> list[bytes]:
    """[release statement, OMS statement of each checkpoint in manifest order]."""
    out = [provenance_statement(manifest, manifest_bytes, train_config=train_config,
                                release_files=release_files, parent_release=parent_release,
                                builder_version=__version__)]
    return out + oms_statements(manifest)


def oms_statements(manifest: Manifest) -> list[bytes]:
    try:
        return [oms_statement(manifest, c) for c in manifest.checkpoints]
    except ValueError as exc:
        raise SigningError(f"cannot sign: {exc}") from None


class Signer:
    """Signs statements with one method; made by ``make_signer`` before any hashing."""

    def __init__(self, method: str, sign: Callable[[Sequence[bytes]], list[bytes]],
                 parent_release: Mapping[str, str] | None = None) -> None:
        self.method = method
        self._sign = sign
        self.parent_release = parent_release

    def sign_checkpoints(self, manifest: Manifest) -> dict[str, bytes]:
        """checkpoint name -> OMS bundle (``model.sig``)."""
        statements = oms_statements(manifest)
        if not statements:
            return {}
        bundles = self._sign(statements)
        return {c.name: b for c, b in zip(manifest.checkpoints, bundles)}

    def sign_release(self, manifest: Manifest, manifest_bytes: bytes, *,
                     release_files: bytes, train_config: Mapping[str, Any] | None) -> bytes:
        """The release bundle (``manifest.sigstore.json``)."""
        statement = provenance_statement(manifest, manifest_bytes, train_config=train_config,
                                         release_files=release_files,
                                         parent_release=self.parent_release,
                                         builder_version=__version__)
        return self._sign([statement])[0]


def make_signer(method: str, *, key_path: Path | None = None, passphrase: bytes | None = None,
                identity_token: str | None = None, trust_config: Path | None = None,
                staging: bool = False,
                parent_release: Mapping[str, str] | None = None) -> Signer | None:
    """A ``Signer`` for ``method``, or None for ``"none"``.

    ``key``: the private key is loaded now, so a wrong path or passphrase fails before hashing.
    ``sigstore``: the identity token (``identity_token`` or the ambient CI credential) is taken
    only when signing runs, after hashing, because tokens are short-lived.
    """
    if method not in SIGN_METHODS:
        raise InputError(f"--sign: {method!r} is not one of {', '.join(SIGN_METHODS)}")
    if method == "none":
        if key_path is not None or identity_token:
            raise InputError("--key / --identity-token given but --sign is none",
                             hint="add --sign key or --sign sigstore")
        return None
    if method == "key":
        if key_path is None:
            raise InputError("--sign key needs --key PRIVATE.pem",
                             hint="create one with llm360 keygen")
        if identity_token:
            raise InputError("--identity-token is for --sign sigstore, not --sign key")
        from llm360.registry.signing._keys import load_private_key, sign_key_bundle

        key = load_private_key(Path(key_path), passphrase)

        def sign(statements: Sequence[bytes]) -> list[bytes]:
            return [sign_key_bundle(key, s) for s in statements]
    else:
        if key_path is not None:
            raise InputError("--key is for --sign key; keyless signing uses an identity token")

        def sign(statements: Sequence[bytes]) -> list[bytes]:
            from llm360.registry.signing._keyless import sign_statements

            return sign_statements(statements, identity_token=identity_token,
                                   trust_config=trust_config, staging=staging)
    return Signer(method, sign, parent_release)
