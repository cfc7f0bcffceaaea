"""Keyless signing and verification through sigstore-python (``SigningContext``,
``Signer.sign_dsse``, ``Verifier.verify_dsse``). sigstore is imported lazily: a plain
``import llm360.registry`` stays light."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from llm360.errors import InputError, SigningError
from llm360.registry.signing._describe import certificate_identity

if TYPE_CHECKING:  # sigstore is imported when keyless signing or verification runs
    from sigstore.models import ClientTrustConfig
    from sigstore.verify import Verifier

__all__ = ["sign_statements", "KeylessResult", "KeylessVerifyError", "verify_keyless_bundle",
           "make_verifier"]

def _trust_config(trust_config: Path | None, staging: bool, offline: bool
                  ) -> ClientTrustConfig:
    from sigstore.models import ClientTrustConfig

    if trust_config is not None:
        try:
            text = Path(trust_config).read_text("utf-8")
        except OSError as exc:
            raise InputError(f"{trust_config}: cannot read the trust config "
                             f"({exc.strerror})") from None
        try:
            return ClientTrustConfig.from_json(text)
        except Exception as exc:  # noqa: BLE001 - pydantic/sigstore raise several types
            raise InputError(f"{trust_config}: not a Sigstore ClientTrustConfig: {exc}",
                             hint="see sigstore-python docs/advanced/custom_trust.md") from None
    if staging:
        return ClientTrustConfig.staging(offline=offline)
    return ClientTrustConfig.production(offline=offline)


def sign_statements(statements: Sequence[bytes], *, identity_token: str | None,
                    trust_config: Path | None = None, staging: bool = False) -> list[bytes]:
    """Sign each statement (exact bytes) as a DSSE bundle v0.3 with one identity token.

    The token comes from ``identity_token`` or, when that is None, the ambient CI credential
    (``sigstore.oidc.detect_credential``). One ephemeral key and certificate sign them all.
    """
    from sigstore.dsse import Statement
    from sigstore.oidc import IdentityError, IdentityToken, detect_credential
    from sigstore.sign import SigningContext

    raw = identity_token
    if not raw:
        try:
            raw = detect_credential()
        except IdentityError as exc:
            raise InputError(f"could not get the ambient OIDC credential: {exc}",
                             hint="pass --identity-token") from None
    if not raw:
        raise InputError("no identity token for keyless signing",
                           hint="run in CI with OIDC enabled (GitHub Actions: permissions: "
                                "id-token: write) or pass --identity-token")
    try:
        token = IdentityToken(raw)
    except IdentityError as exc:
        raise InputError(f"the identity token is not usable: {exc}",
                           hint="tokens live minutes: fetch a fresh one") from None
    try:
        ctx = SigningContext.from_trust_config(_trust_config(trust_config, staging, False))
        out = []
        with ctx.signer(token, cache=True) as signer:
            for statement in statements:
                out.append(signer.sign_dsse(Statement(statement)).to_json().encode("utf-8"))
        return out
    except (InputError, SigningError):
        raise
    except Exception as exc:  # noqa: BLE001 - network, Fulcio and Rekor errors alike
        raise SigningError(f"keyless signing failed: {type(exc).__name__}: {exc}",
                           hint="check the network, the token and the Sigstore instance "
                                "(--staging / --trust-config)") from None


def make_verifier(*, offline: bool = False, trust_config: Path | None = None,
                  staging: bool = False) -> Verifier:
    """A sigstore ``Verifier`` for the chosen trust root."""
    from sigstore.verify import Verifier

    if trust_config is not None:
        return Verifier(trusted_root=_trust_config(trust_config, staging, offline).trusted_root)
    try:
        return Verifier.staging(offline=offline) if staging else \
            Verifier.production(offline=offline)
    except Exception as exc:  # noqa: BLE001 - TUF refresh errors
        raise InputError(f"cannot load the Sigstore trusted root: {type(exc).__name__}: {exc}",
                         hint="pass --offline to use the root embedded in sigstore-python, "
                              "or --trust-config FILE") from None


@dataclass(frozen=True, kw_only=True)
class KeylessResult:
    payload_type: str
    payload: bytes
    identity: str
    issuer: str


class KeylessVerifyError(Exception):
    """``kind``: 'identity', 'issuer' or 'signature' (chain, log, payload)."""

    def __init__(self, message: str, kind: str) -> None:
        super().__init__(message)
        self.kind = kind


def verify_keyless_bundle(bundle_json: bytes, *, identity: str, issuer: str,
                          verifier: Verifier) -> KeylessResult:
    """Verify a certificate bundle's DSSE envelope against an explicit identity and issuer."""
    from sigstore.errors import Error as SigstoreError
    from sigstore.models import Bundle
    from sigstore.verify import policy

    try:
        bundle = Bundle.from_json(bundle_json)
    except Exception as exc:  # noqa: BLE001 - InvalidBundle, pydantic errors
        raise KeylessVerifyError(f"the bundle is not a valid Sigstore bundle: {exc}",
                                 "signature") from None
    idents, cert_issuer = certificate_identity(bundle.signing_certificate)
    try:
        ptype, payload = verifier.verify_dsse(bundle, policy.Identity(identity=identity,
                                                                      issuer=issuer))
    except (SigstoreError, ValueError) as exc:
        if cert_issuer is not None and cert_issuer != issuer:
            raise KeylessVerifyError(f"signed through OIDC issuer {cert_issuer!r}, not the "
                                     f"expected {issuer!r}", "issuer") from None
        if identity not in idents:
            raise KeylessVerifyError(f"signed by identity {', '.join(map(repr, idents))}, "
                                     f"not the expected {identity!r}", "identity") from None
        raise KeylessVerifyError(f"the Sigstore signature does not verify: {exc}",
                                 "signature") from None
    return KeylessResult(payload_type=ptype, payload=payload, identity=identity,
                         issuer=issuer)
