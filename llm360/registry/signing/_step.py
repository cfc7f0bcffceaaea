"""``build_release`` extra step: sign the release statement and every checkpoint's OMS
statement, and write ``manifest.sigstore.json`` and ``signatures/<ckpt>/model.sig``."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

from llm360.errors import InputError, SigningError
from llm360.registry._files import write_atomic
from llm360.registry.models import Manifest
from llm360.registry.signing._statement import oms_statement, provenance_statement
from llm360.registry.signing._verify import BUNDLE_FILE, SIGNATURES_DIR

__all__ = ["SIGN_METHODS", "signing_step", "statements_for"]

SIGN_METHODS = ("none", "key", "sigstore")

Step = Callable[[Path, Manifest, bytes, object], None]


def statements_for(manifest: Manifest, manifest_bytes: bytes, records=None, *,
                   parent_release: Mapping[str, str] | None = None) -> list[bytes]:
    """[release statement, OMS statement of each checkpoint in manifest order]."""
    from llm360 import __version__

    train = getattr(records, "train_config", None)
    out = [provenance_statement(manifest, manifest_bytes, train_config=train,
                                parent_release=parent_release, builder_version=__version__)]
    try:
        out += [oms_statement(manifest, c) for c in manifest.checkpoints]
    except ValueError as exc:
        raise SigningError(f"cannot sign: {exc}") from None
    return out


def signing_step(method: str, *, key_path: Path | None = None, passphrase: bytes | None = None,
                 identity_token: str | None = None, trust_config: Path | None = None,
                 staging: bool = False,
                 parent_release: Mapping[str, str] | None = None) -> Step | None:
    """The signing step for ``build_release(extra_steps=...)``, or None for ``"none"``.

    ``key``: the private key is loaded now, so a wrong path or passphrase fails before hashing.
    ``sigstore``: the identity token (``identity_token`` or the ambient CI credential) is taken
    only when the step runs, after hashing, because tokens are short-lived.
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

        def sign(statements: list[bytes]) -> list[bytes]:
            return [sign_key_bundle(key, s) for s in statements]
    else:
        if key_path is not None:
            raise InputError("--key is for --sign key; keyless signing uses an identity token")

        def sign(statements: list[bytes]) -> list[bytes]:
            from llm360.registry.signing._keyless import sign_statements

            return sign_statements(statements, identity_token=identity_token,
                                   trust_config=trust_config, staging=staging)

    def step(staging_dir: Path, manifest: Manifest, manifest_bytes: bytes, records) -> None:
        statements = statements_for(manifest, manifest_bytes, records,
                                    parent_release=parent_release)
        bundles = sign(statements)
        write_atomic(Path(staging_dir) / BUNDLE_FILE, bundles[0])
        for ckpt, bundle in zip(manifest.checkpoints, bundles[1:]):
            write_atomic(Path(staging_dir) / SIGNATURES_DIR / ckpt.name / "model.sig", bundle)

    return step
