"""What a Sigstore bundle says about its signer, for the cards (describes; does not verify).

Key bundles carry ``verificationMaterial.publicKey.hint``; keyless bundles a Fulcio certificate
whose subject alternative name is the identity and whose extension 1.3.6.1.4.1.57264.1.8
(or the older .1.1) is the OIDC issuer. ``cryptography`` is imported only to read that
certificate; verification itself belongs to ``registry.signing``.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from llm360.errors import InputError
from llm360.registry.manifest.serialize import parse_json

if TYPE_CHECKING:  # imported only to read a certificate
    from cryptography.x509 import Certificate

__all__ = ["SignatureInfo", "describe_bundle", "describe_signature", "certificate_identity"]

_ISSUER_V2 = "1.3.6.1.4.1.57264.1.8"
_ISSUER_V1 = "1.3.6.1.4.1.57264.1.1"


@dataclass(frozen=True, kw_only=True)
class SignatureInfo:
    """How a release is signed: ``method`` is "unsigned", "key" or "sigstore"."""

    method: str
    identity: str | None = None
    issuer: str | None = None
    key_hint: str | None = None
    bundle: str | None = None


def describe_signature(bundle_path: Path | None) -> SignatureInfo:
    """Read ``bundle_path`` (RELEASE/manifest.sigstore.json); "unsigned" when it is absent."""
    if bundle_path is None or not Path(bundle_path).is_file():
        return SignatureInfo(method="unsigned")
    return describe_bundle(Path(bundle_path).read_bytes(), name=Path(bundle_path).name,
                           source=str(bundle_path))


def describe_bundle(data: bytes, *, name: str, source: str) -> SignatureInfo:
    """What the Sigstore bundle ``data`` says of its signer; ``name``: the bundle's file name
    (``SignatureInfo.bundle``), ``source``: where it is, for errors."""
    bundle = parse_json(data, source=source)
    material = bundle.get("verificationMaterial") if isinstance(bundle, dict) else None
    if not isinstance(material, dict):
        raise InputError(f"{source}: not a Sigstore bundle (no verificationMaterial object)")
    if "publicKey" in material:
        hint = _get(material, "publicKey", "hint")
        return SignatureInfo(method="key", key_hint=hint if isinstance(hint, str) and hint
                             else None, bundle=name)
    raw = _get(material, "certificate", "rawBytes")
    if raw is None:
        chain = _get(material, "x509CertificateChain", "certificates")
        raw = _get(chain[0], "rawBytes") if isinstance(chain, list) and chain else None
    identity = issuer = None
    if isinstance(raw, str) and raw:
        try:
            der = base64.b64decode(raw, validate=True)
        except ValueError:
            raise InputError(f"{source}: the certificate is not base64") from None
        identity, issuer = _certificate_identity(der)
    return SignatureInfo(method="sigstore", identity=identity, issuer=issuer, bundle=name)


def _get(data: object, *keys: str) -> object:
    """data[k1][k2]... where each step is a JSON object holding the key, else None."""
    for key in keys:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def _certificate_identity(der: bytes) -> tuple[str | None, str | None]:
    from cryptography import x509

    try:
        cert = x509.load_der_x509_certificate(der)
    except Exception:  # noqa: BLE001 - any unreadable certificate: no identity to show
        return None, None
    identities, issuer = certificate_identity(cert)
    return (identities[0] if identities else None), issuer


def certificate_identity(cert: Certificate) -> tuple[list[str], str | None]:
    """(SAN identities, OIDC issuer) of a Fulcio certificate (``cryptography`` x509)."""
    from cryptography import x509

    identities: list[str] = []
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        identities += [g.value for g in san if isinstance(g.value, str)]
        identities += [o.value.decode("utf-8", "replace")
                       for o in san.get_values_for_type(x509.OtherName)]
    except x509.ExtensionNotFound:
        pass
    issuer = None
    for oid, der_string in ((_ISSUER_V2, True), (_ISSUER_V1, False)):
        try:
            ext = cert.extensions.get_extension_for_oid(x509.ObjectIdentifier(oid)).value
        except x509.ExtensionNotFound:
            continue
        value = ext.value if isinstance(ext, x509.UnrecognizedExtension) else None
        if value:
            issuer = _der_utf8(value) if der_string else value.decode("utf-8", "replace")
            if issuer:
                break
    return identities, issuer


def _der_utf8(value: bytes) -> str | None:
    """The text of a DER UTF8String (tag 0x0c)."""
    if len(value) < 2 or value[0] != 0x0C:
        return None
    length, start = value[1], 2
    if length & 0x80:
        n = length & 0x7F
        length, start = int.from_bytes(value[2:2 + n], "big"), 2 + n
    return value[start:start + length].decode("utf-8", "replace")
