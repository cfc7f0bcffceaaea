"""Release signature verification: the bundle first, then the manifest digest against the
statement's subject, then (after the caller parsed the manifest) each checkpoint's OMS
signature against the manifest's root digest. Every broken link is a ``Problem`` with code
``signature`` whose message names it."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from llm360.errors import InputError
from llm360.registry import layout
from llm360.registry.manifest.models import Manifest
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

__all__ = ["BUNDLE_FILE", "SIGNATURES_DIR", "SignatureCheck", "check_checkpoint_signatures",
           "check_manifest_signature", "check_usage"]

BUNDLE_FILE = layout.BUNDLE
SIGNATURES_DIR = layout.SIGNATURES_DIR


@dataclass(kw_only=True)
class SignatureCheck:
    """What the signature check found; ``info`` becomes the report's ``signature`` dict."""

    problems: list[Problem] = field(default_factory=list)
    info: dict = field(default_factory=dict)
    _checker: object = None

    @property
    def ok(self) -> bool:
        return not self.problems


def check_usage(*, key: Path | None, identity: str | None, issuer: str | None) -> None:
    """Usage errors (exit 2): a key and an identity at once, an identity without an issuer."""
    if key is not None and (identity or issuer):
        raise InputError("pass either --key or --identity/--issuer, not both")
    if bool(identity) != bool(issuer):
        raise InputError("keyless verification needs both --identity and --issuer",
                         hint="e.g. --identity https://github.com/ORG/REPO/.github/workflows/"
                              "release.yml@refs/tags/v1 --issuer "
                              "https://token.actions.githubusercontent.com")


class _Checker:
    """Verifies bundles with one pinned key or one identity/issuer and trust root."""

    def __init__(self, *, key, identity, issuer, offline, trust_config, staging):
        self.key_path, self.identity, self.issuer = key, identity, issuer
        self.offline, self.trust_config, self.staging = offline, trust_config, staging
        self._public_key = None
        self._verifier = None

    def check(self, raw: bytes, where: str, info: dict) -> tuple[bytes | None, str | None]:
        """(statement payload, None) or (None, message)."""
        bundle = _loads(raw, where)
        vm = _dig(bundle, "verificationMaterial")
        if not isinstance(vm, dict):
            return None, f"{where}: not a Sigstore bundle"
        if "publicKey" in vm:
            info["method"] = "key"
            return self._check_key(bundle, where, info)
        if "certificate" in vm or "x509CertificateChain" in vm:
            info["method"] = "sigstore"
            return self._check_keyless(raw, where, info)
        return None, f"{where}: the bundle has neither a public key nor a certificate"

    def _check_key(self, bundle: dict, where: str, info: dict):
        from llm360.registry.signing._keys import KeyVerifyError, load_public_key, verify_key_bundle

        hint = _dig(bundle, "verificationMaterial", "publicKey", "hint")
        if not isinstance(hint, str):
            hint = None
        if hint:
            info["key_fingerprint"] = hint
        if self.key_path is None:
            if self.identity:
                return None, (f"{where}: signed with a key (fingerprint {str(hint)[:16]}...), "
                              f"not by the Sigstore identity {self.identity!r}; verify with "
                              "--key PUBLIC.pem")
            raise InputError(f"{where}: signed with a key; pass --key PUBLIC.pem to verify it")
        if self._public_key is None:
            self._public_key = load_public_key(self.key_path)
        try:
            result = verify_key_bundle(bundle, self._public_key)
        except KeyVerifyError as exc:
            kind = "wrong key" if exc.kind == "key" else "bad signature"
            return None, f"{where}: {kind}: {exc}"
        info["key_fingerprint"] = result.fingerprint
        return self._payload(result.payload_type, result.payload, where)

    def _check_keyless(self, raw: bytes, where: str, info: dict):
        from llm360.registry.signing._keyless import (
            KeylessVerifyError,
            make_verifier,
            verify_keyless_bundle,
        )

        if not self.identity:
            if self.key_path is not None:
                return None, (f"{where}: signed keylessly with Sigstore, not with the key "
                              f"{self.key_path}; verify with --identity and --issuer")
            raise InputError(f"{where}: signed keylessly with Sigstore; pass --identity and "
                             "--issuer (the signer's certificate identity and OIDC issuer)")
        info["identity"], info["issuer"] = self.identity, self.issuer
        if self._verifier is None:
            self._verifier = make_verifier(offline=self.offline, trust_config=self.trust_config,
                                           staging=self.staging)
        try:
            result = verify_keyless_bundle(raw, identity=self.identity, issuer=self.issuer,
                                           verifier=self._verifier)
        except KeylessVerifyError as exc:
            kind = {"identity": "wrong identity", "issuer": "wrong issuer"}.get(
                exc.kind, "bad signature")
            return None, f"{where}: {kind}: {exc}"
        return self._payload(result.payload_type, result.payload, where)

    @staticmethod
    def _payload(payload_type: str, payload: bytes, where: str):
        if payload_type != IN_TOTO_PAYLOAD_TYPE:
            return None, f"{where}: payload type {payload_type!r} is not an in-toto statement"
        return payload, None


def _dig(data, *keys):
    """data[k1][k2]... where each step is a JSON object holding the key, else None."""
    for key in keys:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def _loads(raw: bytes, where: str):
    """Parsed JSON, or None for anything malformed (too deep, NaN, not UTF-8 included)."""
    try:
        return parse_json(raw, source=where)
    except InputError:
        return None


def _statement(payload: bytes, where: str, predicate_type: str) -> tuple[dict | None, str | None]:
    st = _loads(payload, where)
    ok = isinstance(st, dict) and st.get("_type") == IN_TOTO_STATEMENT \
        and isinstance(st.get("subject"), list)
    if not ok:
        return None, f"{where}: the signed payload is not an in-toto Statement v1"
    if st.get("predicateType") != predicate_type:
        return None, (f"{where}: the signed statement's predicate is "
                      f"{st.get('predicateType')!r}, expected {predicate_type}")
    return st, None


def _subject_sha256(st: dict, name: str | None = None) -> str | None:
    for s in st["subject"]:
        if isinstance(s, dict) and (name is None or s.get("name") == name):
            digest = _dig(s, "digest", "sha256")
            return digest if isinstance(digest, str) else None
    return None


def check_manifest_signature(raw: bytes, bundle: bytes | None, policy: TrustPolicy
                             ) -> SignatureCheck:
    """Check the release bundle (``bundle``: the bytes of ``manifest.sigstore.json``, None
    when absent) against the manifest bytes ``raw``, under ``policy``.

    Naming a key or an identity in the policy means a signature is required. On success
    ``info["release_files_sha256"]`` is the signed digest of ``release-files.json`` (absent
    for releases signed before release files were signed).
    """
    check_usage(key=policy.key, identity=policy.identity, issuer=policy.issuer)
    result = SignatureCheck()
    info = result.info
    info.update(method="none", verified=False, bundle=BUNDLE_FILE)

    def fail(message: str) -> SignatureCheck:
        result.problems.append(Problem(code="signature", file=BUNDLE_FILE, message=message))
        return result

    if bundle is None:
        info["unsigned"] = True
        if policy.names_signer:
            who = f"the key {policy.key}" if policy.key is not None else policy.identity
            return fail(f"manifest.json is unsigned (no {BUNDLE_FILE}), but a signature by "
                        f"{who} is required")
        if policy.allow_unsigned:
            return result
        return fail(f"manifest.json is unsigned: no {BUNDLE_FILE} beside it (pass "
                    "--allow-unsigned to check the bytes anyway)")
    checker = _Checker(key=policy.key, identity=policy.identity, issuer=policy.issuer,
                       offline=policy.offline, trust_config=policy.trust_config,
                       staging=policy.staging)
    result._checker = checker
    payload, error = checker.check(bundle, BUNDLE_FILE, info)
    if error:
        return fail(error)
    st, error = _statement(payload, BUNDLE_FILE, SLSA_PROVENANCE_V1)
    if error:
        return fail(error)
    signed = _subject_sha256(st, MANIFEST_SUBJECT)
    have = hashlib.sha256(raw).hexdigest()
    info["statement_sha256"] = hashlib.sha256(payload).hexdigest()
    if signed is None:
        names = [s.get("name") for s in st["subject"] if isinstance(s, dict)]
        return fail(f"{BUNDLE_FILE}: the signed statement does not sign an llm360 manifest "
                    f"(subjects {str(names)[:200]}, no {MANIFEST_SUBJECT!r} with a sha256)")
    if signed != have:
        signed_release = _dig(st, "predicate", "buildDefinition", "externalParameters",
                              "release")
        r = _dig(_loads(raw, layout.MANIFEST), "release")
        this_release = {k: _dig(r, k) for k in ("name", "version", "created")}
        if not all(isinstance(v, str) for v in this_release.values()):
            this_release = None
        if isinstance(signed_release, dict) and this_release and signed_release != this_release:
            return fail(f"{BUNDLE_FILE}: the bundle signs another manifest (release "
                        f"{signed_release.get('name')} {signed_release.get('version')} created "
                        f"{signed_release.get('created')}), not this one ("
                        f"{this_release['name']} {this_release['version']} created "
                        f"{this_release['created']})")
        return fail(f"manifest.json was changed after it was signed: its sha256 "
                    f"{have[:16]}... differs from the signed subject {str(signed)[:16]}...")
    release_files = _subject_sha256(st, RELEASE_FILES_SUBJECT)
    if isinstance(release_files, str):
        info["release_files_sha256"] = release_files
    info["verified"] = True
    return result


def check_checkpoint_signatures(read: Callable[[str], bytes | None], manifest: Manifest,
                                check: SignatureCheck) -> list[Problem]:
    """Each checkpoint's ``signatures/<ckpt>/model.sig`` (OMS v1.0) against the manifest;
    ``read`` gives a release file's bytes by its release path (None when absent)."""
    checker = check._checker
    if checker is None or not check.ok:
        return []
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
        payload, error = checker.check(raw, rel, {})
        st = None
        if not error:
            st, error = _statement(payload, rel, OMS_PREDICATE)
        if not error:
            error = _oms_mismatch(st, manifest, ckpt, rel)
        if error:
            problems.append(Problem(code="signature", file=rel, message=error))
        else:
            verified += 1
    check.info["checkpoints_verified"] = verified
    return problems


def _oms_mismatch(st: dict, manifest: Manifest, ckpt, rel: str) -> str | None:
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
    listed = {p[len(prefix):]: manifest.artifact(p).sha256 for p in ckpt.files
              if manifest.artifact(p) is not None}
    if signed != listed:
        return f"{rel}: the signed files of {ckpt.name} differ from the manifest's"
    return None
