"""Release signature verification: the bundle first, then the manifest digest against the
statement's subject, then (after the caller parsed the manifest) each checkpoint's OMS
signature against the manifest's root digest. Every broken link is a ``Problem`` with code
``signature`` whose message names it."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from llm360.errors import InputError
from llm360.registry import layout
from llm360.registry.manifest.models import Checkpoint, Manifest
from llm360.registry.manifest.problems import Problem
from llm360.registry.manifest.serialize import parse_json
from llm360.registry.signing._statement import (
    IN_TOTO_PAYLOAD_TYPE,
    IN_TOTO_STATEMENT,
    MANIFEST_SUBJECT,
    OMS_PREDICATE,
    RELEASE_FILES_SUBJECT,
    SLSA_PROVENANCE_V1,
)
from llm360.registry.verify.policy import TrustPolicy

if TYPE_CHECKING:  # imported only when a bundle is verified
    from cryptography.hazmat.primitives.asymmetric.ec import EllipticCurvePublicKey
    from sigstore.verify import Verifier

__all__ = ["BUNDLE_FILE", "SIGNATURES_DIR", "SignatureCheck", "SignatureStatus",
           "check_checkpoint_signatures", "check_manifest_signature", "check_usage"]

BUNDLE_FILE = layout.BUNDLE
SIGNATURES_DIR = layout.SIGNATURES_DIR


@dataclass(frozen=True, kw_only=True)
class SignatureStatus:
    """What the signature check found: ``method`` "none", "key" or "sigstore"; ``verified``
    once the manifest's digest matched the signed statement. Facts the check did not reach
    are None (left out of ``as_data``)."""

    method: str
    verified: bool
    bundle: str
    unsigned: bool = False
    key_fingerprint: str | None = None
    identity: str | None = None
    issuer: str | None = None
    statement_sha256: str | None = None
    release_files_sha256: str | None = None
    checkpoints_verified: int | None = None

    def as_data(self) -> dict[str, Any]:
        """The JSON form (the report's ``signature``): only what the check found."""
        data: dict[str, Any] = {"method": self.method, "verified": self.verified,
                                "bundle": self.bundle}
        if self.unsigned:
            data["unsigned"] = True
        found = {"key_fingerprint": self.key_fingerprint, "identity": self.identity,
                 "issuer": self.issuer, "statement_sha256": self.statement_sha256,
                 "release_files_sha256": self.release_files_sha256,
                 "checkpoints_verified": self.checkpoints_verified}
        data.update((k, v) for k, v in found.items() if v is not None)
        return data


@dataclass(frozen=True, kw_only=True)
class SignatureCheck:
    """What the signature check found: its problems and ``info`` (the report's
    ``signature``)."""

    info: SignatureStatus
    problems: tuple[Problem, ...] = ()
    _checker: _Checker | None = field(default=None, repr=False, compare=False)

    @property
    def ok(self) -> bool:
        return not self.problems


def check_usage(*, key: Path | None, identity: str | None, issuer: str | None,
                option: str = "--") -> None:
    """Usage errors (exit 2): a key and an identity at once, an identity without an issuer;
    ``option`` prefixes the option names (``--parent-`` for a parent release's)."""
    if key is not None and (identity or issuer):
        raise InputError(f"pass either {option}key or {option}identity/{option}issuer, not both")
    if bool(identity) != bool(issuer):
        raise InputError(f"keyless verification needs both {option}identity and {option}issuer",
                         hint=f"e.g. {option}identity https://github.com/ORG/REPO/.github/"
                              f"workflows/release.yml@refs/tags/v1 {option}issuer "
                              "https://token.actions.githubusercontent.com")


@dataclass(frozen=True, kw_only=True)
class _Found:
    """What ``_Checker.check`` found in one bundle: the signed statement's bytes, or
    ``error`` (why not), and as much of the signer as the bundle showed."""

    payload: bytes = b""
    error: str | None = None
    method: str = "none"
    key_fingerprint: str | None = None
    identity: str | None = None
    issuer: str | None = None


class _Checker:
    """Verifies bundles with one pinned key or one identity/issuer and trust root."""

    def __init__(self, *, key: Path | None, identity: str | None, issuer: str | None,
                 offline: bool, trust_config: Path | None, staging: bool) -> None:
        self.key_path, self.identity, self.issuer = key, identity, issuer
        self.offline, self.trust_config, self.staging = offline, trust_config, staging
        self._public_key: EllipticCurvePublicKey | None = None
        self._verifier: Verifier | None = None

    def check(self, raw: bytes, where: str) -> _Found:
        """The statement payload, or why the bundle ``raw`` (at ``where``) does not give one."""
        bundle = _loads(raw, where)
        vm = _dig(bundle, "verificationMaterial")
        if not isinstance(bundle, dict) or not isinstance(vm, dict):
            return _Found(error=f"{where}: not a Sigstore bundle")
        if "publicKey" in vm:
            return self._check_key(bundle, where)
        if "certificate" in vm or "x509CertificateChain" in vm:
            return self._check_keyless(raw, where)
        return _Found(error=f"{where}: the bundle has neither a public key nor a certificate")

    def _check_key(self, bundle: dict[str, Any], where: str) -> _Found:
        from llm360.registry.signing._keys import KeyVerifyError, load_public_key, verify_key_bundle

        hint = _dig(bundle, "verificationMaterial", "publicKey", "hint")
        if not isinstance(hint, str):
            hint = None
        found = _Found(method="key", key_fingerprint=hint or None)
        if self.key_path is None:
            if self.identity:
                return replace(found, error=(
                    f"{where}: signed with a key (fingerprint {str(hint)[:16]}...), not by the "
                    f"Sigstore identity {self.identity!r}; verify with --key PUBLIC.pem"))
            raise InputError(f"{where}: signed with a key; pass --key PUBLIC.pem to verify it")
        if self._public_key is None:
            self._public_key = load_public_key(self.key_path)
        try:
            result = verify_key_bundle(bundle, self._public_key)
        except KeyVerifyError as exc:
            kind = "wrong key" if exc.kind == "key" else "bad signature"
            return replace(found, error=f"{where}: {kind}: {exc}")
        return replace(found, key_fingerprint=result.fingerprint, payload=result.payload,
                       error=_payload_error(result.payload_type, where))

    def _check_keyless(self, raw: bytes, where: str) -> _Found:
        from llm360.registry.signing._keyless import (
            KeylessVerifyError,
            make_verifier,
            verify_keyless_bundle,
        )

        found = _Found(method="sigstore")
        if not self.identity:
            if self.key_path is not None:
                return replace(found, error=(
                    f"{where}: signed keylessly with Sigstore, not with the key "
                    f"{self.key_path}; verify with --identity and --issuer"))
            raise InputError(f"{where}: signed keylessly with Sigstore; pass --identity and "
                             "--issuer (the signer's certificate identity and OIDC issuer)")
        # check_usage: an identity comes with its issuer
        issuer = self.issuer or ""
        found = replace(found, identity=self.identity, issuer=issuer)
        if self._verifier is None:
            self._verifier = make_verifier(offline=self.offline, trust_config=self.trust_config,
                                           staging=self.staging)
        try:
            result = verify_keyless_bundle(raw, identity=self.identity, issuer=issuer,
                                           verifier=self._verifier)
        except KeylessVerifyError as exc:
            kind = {"identity": "wrong identity", "issuer": "wrong issuer"}.get(
                exc.kind, "bad signature")
            return replace(found, error=f"{where}: {kind}: {exc}")
        return replace(found, payload=result.payload,
                       error=_payload_error(result.payload_type, where))


def _payload_error(payload_type: str, where: str) -> str | None:
    """Why a verified envelope's payload is no in-toto statement (None: it is one)."""
    if payload_type != IN_TOTO_PAYLOAD_TYPE:
        return f"{where}: payload type {payload_type!r} is not an in-toto statement"
    return None


def _dig(data: object, *keys: str) -> object:
    """data[k1][k2]... where each step is a JSON object holding the key, else None."""
    for key in keys:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def _loads(raw: bytes, where: str) -> object:
    """Parsed JSON, or None for anything malformed (too deep, NaN, not UTF-8 included)."""
    try:
        return parse_json(raw, source=where)
    except InputError:
        return None


def _statement(payload: bytes, where: str, predicate_type: str) -> dict[str, Any] | str:
    """The in-toto statement ``payload`` holds, or why it holds none."""
    st = _loads(payload, where)
    if not (isinstance(st, dict) and st.get("_type") == IN_TOTO_STATEMENT
            and isinstance(st.get("subject"), list)):
        return f"{where}: the signed payload is not an in-toto Statement v1"
    if st.get("predicateType") != predicate_type:
        return (f"{where}: the signed statement's predicate is "
                f"{st.get('predicateType')!r}, expected {predicate_type}")
    return st


def _subject_sha256(st: dict[str, Any], name: str | None = None) -> str | None:
    for s in st["subject"]:
        if isinstance(s, dict) and (name is None or s.get("name") == name):
            digest = _dig(s, "digest", "sha256")
            return digest if isinstance(digest, str) else None
    return None


def _failed(info: SignatureStatus, message: str) -> SignatureCheck:
    return SignatureCheck(info=info, problems=(
        Problem(code="signature", file=BUNDLE_FILE, message=message),))


def check_manifest_signature(raw: bytes, bundle: bytes | None, policy: TrustPolicy
                             ) -> SignatureCheck:
    """Check the release bundle (``bundle``: the bytes of ``manifest.sigstore.json``, None
    when absent) against the manifest bytes ``raw``, under ``policy``.

    Naming a key or an identity in the policy means a signature is required. On success
    ``info.release_files_sha256`` is the signed digest of ``release-files.json`` (None for
    releases signed before release files were signed).
    """
    check_usage(key=policy.key, identity=policy.identity, issuer=policy.issuer)
    info = SignatureStatus(method="none", verified=False, bundle=BUNDLE_FILE)
    if bundle is None:
        info = replace(info, unsigned=True)
        if policy.names_signer:
            who = f"the key {policy.key}" if policy.key is not None else policy.identity
            return _failed(info, f"manifest.json is unsigned (no {BUNDLE_FILE}), but a "
                                 f"signature by {who} is required")
        if policy.allow_unsigned:
            return SignatureCheck(info=info)
        return _failed(info, f"manifest.json is unsigned: no {BUNDLE_FILE} beside it (pass "
                             "--allow-unsigned to check the bytes anyway)")
    checker = _Checker(key=policy.key, identity=policy.identity, issuer=policy.issuer,
                       offline=policy.offline, trust_config=policy.trust_config,
                       staging=policy.staging)
    found = checker.check(bundle, BUNDLE_FILE)
    info = replace(info, method=found.method, key_fingerprint=found.key_fingerprint,
                   identity=found.identity, issuer=found.issuer)
    if found.error is not None:
        return _failed(info, found.error)
    st = _statement(found.payload, BUNDLE_FILE, SLSA_PROVENANCE_V1)
    if isinstance(st, str):
        return _failed(info, st)
    signed = _subject_sha256(st, MANIFEST_SUBJECT)
    have = hashlib.sha256(raw).hexdigest()
    info = replace(info, statement_sha256=hashlib.sha256(found.payload).hexdigest())
    if signed is None:
        names = [s.get("name") for s in st["subject"] if isinstance(s, dict)]
        return _failed(info, f"{BUNDLE_FILE}: the signed statement does not sign an llm360 "
                             f"manifest (subjects {str(names)[:200]}, no {MANIFEST_SUBJECT!r} "
                             "with a sha256)")
    if signed != have:
        return _failed(info, _other_manifest(st, raw) or (
            f"manifest.json was changed after it was signed: its sha256 {have[:16]}... "
            f"differs from the signed subject {str(signed)[:16]}..."))
    return SignatureCheck(info=replace(info, verified=True,
                                       release_files_sha256=_subject_sha256(
                                           st, RELEASE_FILES_SUBJECT)),
                          _checker=checker)


def _other_manifest(st: dict[str, Any], raw: bytes) -> str | None:
    """Why the statement ``st`` signs another release than the manifest ``raw`` (None when
    the two do not both name their release)."""
    signed_release = _dig(st, "predicate", "buildDefinition", "externalParameters",
                          "release")
    r = _dig(_loads(raw, layout.MANIFEST), "release")
    this_release = {k: _dig(r, k) for k in ("name", "version", "created")}
    if not all(isinstance(v, str) for v in this_release.values()):
        return None
    if not isinstance(signed_release, dict) or signed_release == this_release:
        return None
    return (f"{BUNDLE_FILE}: the bundle signs another manifest (release "
            f"{signed_release.get('name')} {signed_release.get('version')} created "
            f"{signed_release.get('created')}), not this one ({this_release['name']} "
            f"{this_release['version']} created {this_release['created']})")


def check_checkpoint_signatures(read: Callable[[str], bytes | None], manifest: Manifest,
                                check: SignatureCheck
                                ) -> tuple[list[Problem], SignatureStatus]:
    """Each checkpoint's ``signatures/<ckpt>/model.sig`` (OMS v1.0) against the manifest;
    ``read`` gives a release file's bytes by its release path (None when absent). Returns
    the problems and ``check.info`` with ``checkpoints_verified`` (unchanged when the
    release signature did not verify)."""
    checker = check._checker
    if checker is None or not check.ok:
        return [], check.info
    problems = []
    verified = 0
    for ckpt in manifest.checkpoints:
        rel = layout.signature_path(ckpt.name)
        raw = read(rel)
        if raw is None:
            problems.append(Problem(code="signature", file=rel,
                                    message=f"{rel}: missing (every checkpoint of a signed "
                                            "release has an OMS signature)"))
            continue
        found = checker.check(raw, rel)
        error = found.error
        if error is None:
            st = _statement(found.payload, rel, OMS_PREDICATE)
            error = st if isinstance(st, str) else _oms_mismatch(st, manifest, ckpt, rel)
        if error is not None:
            problems.append(Problem(code="signature", file=rel, message=error))
        else:
            verified += 1
    return problems, replace(check.info, checkpoints_verified=verified)


def _oms_mismatch(st: dict[str, Any], manifest: Manifest, ckpt: Checkpoint,
                  rel: str) -> str | None:
    signed_root = _subject_sha256(st)
    if signed_root != ckpt.root_digest:
        return (f"{rel}: signs root digest {str(signed_root)[:16]}..., but the manifest's "
                f"{ckpt.name} has {ckpt.root_digest[:16]}...")
    prefix = layout.checkpoint_dir(ckpt.name) + "/"
    resources = _dig(st, "predicate", "resources")
    if not isinstance(resources, list) or not all(
            isinstance(r, dict) and isinstance(r.get("name"), str) for r in resources):
        return f"{rel}: the OMS statement has no resources"
    signed = {r["name"]: r.get("digest") for r in resources}
    listed = {p[len(prefix):]: a.sha256 for p in ckpt.files
              if (a := manifest.artifact(p)) is not None}
    if signed != listed:
        return f"{rel}: the signed files of {ckpt.name} differ from the manifest's"
    return None
