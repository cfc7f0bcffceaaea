"""Air-gapped signing: ECDSA P-256 keys and DSSE bundles with ``publicKey`` material.

sigstore-python neither signs nor verifies these bundles, so this is ``cryptography``. The
bundle is the one the OpenSSF ``model_signing`` key signer writes (bundle v0.3, ``publicKey.hint``
= sha256 of the PEM SubjectPublicKeyInfo, no transparency-log entry): no trusted timestamp, no
transparency; the public key is pinned out of band.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from llm360.errors import InputError
from llm360.registry._files import write_atomic
from llm360.registry.signing._statement import IN_TOTO_PAYLOAD_TYPE

__all__ = ["BUNDLE_MEDIA_TYPE", "generate_key_pair", "write_key_pair", "load_private_key",
           "load_public_key", "key_fingerprint", "pae", "sign_key_bundle", "KeyBundleResult",
           "verify_key_bundle", "KeyVerifyError"]

BUNDLE_MEDIA_TYPE = "application/vnd.dev.sigstore.bundle.v0.3+json"
_CURVES: dict[str, Callable[[], hashes.HashAlgorithm]] = {
    "secp256r1": hashes.SHA256, "secp384r1": hashes.SHA384, "secp521r1": hashes.SHA512}


def pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE v1 pre-authentication encoding."""
    t = payload_type.encode("utf-8")
    return b"DSSEv1 %d %s %d %s" % (len(t), t, len(payload), payload)


def _hash_for(key: ec.EllipticCurvePublicKey) -> hashes.HashAlgorithm:
    try:
        return _CURVES[key.curve.name]()
    except KeyError:
        raise InputError(f"unsupported key curve {key.curve.name}",
                         hint="use an ECDSA P-256 key (llm360 keygen)") from None


def key_fingerprint(public_key: ec.EllipticCurvePublicKey) -> str:
    """sha256 (hex) of the PEM SubjectPublicKeyInfo: the bundle's ``publicKey.hint``."""
    pem = public_key.public_bytes(serialization.Encoding.PEM,
                                  serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(pem).hexdigest()


def generate_key_pair(passphrase: bytes | None = None) -> tuple[bytes, bytes]:
    """(private PEM, public PEM) of a fresh ECDSA P-256 key; PKCS#8, encrypted if asked."""
    key = ec.generate_private_key(ec.SECP256R1())
    enc = (serialization.BestAvailableEncryption(passphrase) if passphrase
           else serialization.NoEncryption())
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                enc)
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo)
    return private, public


def write_key_pair(private_path: Path, public_path: Path, *, passphrase: bytes | None = None,
                   force: bool = False) -> str:
    """Write a new key pair; the private key is created 0600 (never readable by others, not
    even briefly) and an existing key is never overwritten unless ``force``. Returns the
    public key's fingerprint."""
    private_path, public_path = Path(private_path), Path(public_path)
    if private_path.resolve() == public_path.resolve():
        raise InputError("--private and --public name the same file")
    if not force:
        for p in (private_path, public_path):
            if p.exists():
                raise InputError(f"{p}: exists; refusing to overwrite a key",
                                 hint="choose another path or pass --force")
    private, public = generate_key_pair(passphrase)
    try:  # created 0600 and linked into place: never readable by others, never clobbered
        write_atomic(private_path, private, mode=0o600, exclusive=not force)
    except FileExistsError:
        raise InputError(f"{private_path}: exists; refusing to overwrite a key",
                         hint="choose another path or pass --force") from None
    write_atomic(public_path, public, mode=0o644)
    return key_fingerprint(load_public_key(public_path))


def load_private_key(path: Path, passphrase: bytes | None = None) -> ec.EllipticCurvePrivateKey:
    """The signing key at ``path``; every way the key file or passphrase can be wrong is bad
    input (``InputError``, exit 2) naming the file."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read the private key ({exc.strerror})") from None
    if b"-----BEGIN PUBLIC KEY-----" in data and b"PRIVATE KEY-----" not in data:
        raise InputError(f"{path}: is a public key; signing needs the private key",
                         hint="pass the --private file of llm360 keygen to --key")
    try:
        key = serialization.load_pem_private_key(data, passphrase)
    except TypeError:
        raise InputError(f"{path}: the private key is encrypted" if passphrase is None else
                         f"{path}: the key is not encrypted but a passphrase was given",
                         hint="pass --passphrase-file" if passphrase is None else None
                         ) from None
    except ValueError:
        raise InputError(f"{path}: not a PEM private key, or a wrong passphrase") from None
    except Exception as exc:  # noqa: BLE001 - cryptography raises backend errors on odd input
        raise InputError(f"{path}: not a usable private key ({type(exc).__name__})") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise InputError(f"{path}: not an elliptic-curve key",
                         hint="create one with llm360 keygen")
    _hash_for(key.public_key())
    return key


def load_public_key(path: Path) -> ec.EllipticCurvePublicKey:
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read the public key ({exc.strerror})") from None
    if b"PRIVATE KEY-----" in data:
        raise InputError(f"{path}: is a private key; verify with the public key",
                         hint="pass the --public file of llm360 keygen (never share the "
                              "private key)")
    try:
        key = serialization.load_pem_public_key(data)
    except Exception:  # noqa: BLE001 - ValueError, UnsupportedAlgorithm, backend errors
        raise InputError(f"{path}: not a PEM public key") from None
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise InputError(f"{path}: not an elliptic-curve public key")
    _hash_for(key)
    return key


def sign_key_bundle(key: ec.EllipticCurvePrivateKey, statement: bytes) -> bytes:
    """A Sigstore bundle v0.3 (JSON bytes): DSSE envelope over ``statement``, publicKey hint."""
    sig = key.sign(pae(IN_TOTO_PAYLOAD_TYPE, statement), ec.ECDSA(_hash_for(key.public_key())))
    bundle = {
        "mediaType": BUNDLE_MEDIA_TYPE,
        "verificationMaterial": {"publicKey": {"hint": key_fingerprint(key.public_key())},
                                 "tlogEntries": []},
        "dsseEnvelope": {"payload": base64.b64encode(statement).decode("ascii"),
                         "payloadType": IN_TOTO_PAYLOAD_TYPE,
                         "signatures": [{"sig": base64.b64encode(sig).decode("ascii")}]},
    }
    return json.dumps(bundle, sort_keys=True, indent=2).encode("utf-8") + b"\n"


@dataclass(frozen=True, kw_only=True)
class KeyBundleResult:
    payload_type: str
    payload: bytes
    fingerprint: str


class KeyVerifyError(Exception):
    """Why a key bundle did not verify; ``kind`` is 'key' (another key signed it) or
    'signature' (payload or signature changed)."""

    def __init__(self, message: str, kind: str) -> None:
        super().__init__(message)
        self.kind = kind


def _bundle_parts(bundle: object) -> tuple[str | None, str, bytes, list[bytes]]:
    """(publicKey hint, payloadType, payload, signatures) of a publicKey bundle, every field
    shape-checked before use: a wrong type anywhere is a malformed bundle, never a crash."""
    def bad(what: str) -> KeyVerifyError:
        return KeyVerifyError(f"the bundle is malformed: {what}", "signature")

    if not isinstance(bundle, dict):
        raise bad("not a JSON object")
    vm = bundle.get("verificationMaterial")
    if not isinstance(vm, dict):
        raise bad("verificationMaterial is not an object")
    pk = vm.get("publicKey")
    if not isinstance(pk, dict):
        raise bad("verificationMaterial.publicKey is not an object")
    hint = pk.get("hint")
    if hint is not None and not (isinstance(hint, str) and _is_utf8(hint)):
        raise bad("verificationMaterial.publicKey.hint is not a string")
    env = bundle.get("dsseEnvelope")
    if not isinstance(env, dict):
        raise bad("dsseEnvelope is not an object")
    payload_type, payload, sigs = env.get("payloadType"), env.get("payload"), \
        env.get("signatures")
    if not isinstance(payload_type, str) or not _is_utf8(payload_type):
        raise bad("dsseEnvelope.payloadType is not a string")
    if not isinstance(payload, str):
        raise bad("dsseEnvelope.payload is not a string")
    if not isinstance(sigs, list) or not sigs or not all(
            isinstance(s, dict) and isinstance(s.get("sig"), str) for s in sigs):
        raise bad("dsseEnvelope.signatures is not a list of {sig: string}")
    try:
        return (hint, payload_type, base64.b64decode(payload, validate=True),
                [base64.b64decode(s["sig"], validate=True) for s in sigs])
    except (binascii.Error, ValueError):
        raise bad("dsseEnvelope holds invalid base64") from None


def _is_utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate from a JSON "\\ud800" escape
        return False
    return True


def verify_key_bundle(bundle: dict[str, Any], public_key: ec.EllipticCurvePublicKey
                      ) -> KeyBundleResult:
    """Check the DSSE signature of a parsed publicKey bundle with ``public_key``."""
    fingerprint = key_fingerprint(public_key)
    hint, payload_type, payload, sigs = _bundle_parts(bundle)
    if hint and hint != fingerprint:
        raise KeyVerifyError(f"signed with another key (fingerprint {hint[:16]}...), not with "
                             f"the given public key ({fingerprint[:16]}...)", "key")
    message = pae(payload_type, payload)
    for sig in sigs:
        try:
            public_key.verify(sig, message, ec.ECDSA(_hash_for(public_key)))
            return KeyBundleResult(payload_type=payload_type, payload=payload,
                                   fingerprint=fingerprint)
        except InvalidSignature:
            continue
    if hint:
        raise KeyVerifyError("the signature does not match the bundle's payload: the signed "
                             "statement or the signature was changed", "signature")
    raise KeyVerifyError("no signature in the bundle verifies with the given public key",
                         "key")
