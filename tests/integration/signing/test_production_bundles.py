"""The keyless verifier against real bundles signed by Sigstore's production and staging
instances (tests/fixtures/sigstore), fully offline with sigstore-python's embedded root."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from llm360.registry.build.release import BuildOptions
from llm360.registry.signing._keyless import (
    KeylessVerifyError,
    make_verifier,
    verify_keyless_bundle,
)
from llm360.registry.verify.policy import TrustPolicy

BEACON = ("https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/"
          ".github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main")
GITHUB = "https://token.actions.githubusercontent.com"

CASES = [  # (bundle, identity, issuer, staging)
    ("happy-path-intoto-in-dsse-v3/bundle.sigstore.json", BEACON, GITHUB, False),
    ("sigstore-python/a.dsse.staging-rekor-v2.txt.sigstore.json", BEACON, GITHUB, True),
]


@pytest.fixture
def fixtures() -> Path:
    return Path(__file__).resolve().parents[2] / "fixtures" / "sigstore"


@pytest.mark.parametrize("name, identity, issuer, staging", CASES)
def test_accepts_real_bundle_offline(fixtures: Path, name, identity, issuer, staging) -> None:
    verifier = make_verifier(offline=True, staging=staging)
    result = verify_keyless_bundle((fixtures / name).read_bytes(), identity=identity,
                                   issuer=issuer, verifier=verifier)
    assert result.payload_type == "application/vnd.in-toto+json"
    assert json.loads(result.payload)["_type"] == "https://in-toto.io/Statement/v1"


@pytest.mark.parametrize("name, identity, issuer, staging", CASES)
def test_rejects_other_identity_and_issuer(fixtures: Path, name, identity, issuer,
                                           staging) -> None:
    verifier = make_verifier(offline=True, staging=staging)
    raw = (fixtures / name).read_bytes()
    with pytest.raises(KeylessVerifyError, match="not the expected") as exc:
        verify_keyless_bundle(raw, identity=identity.replace("main", "evil"), issuer=issuer,
                              verifier=verifier)
    assert exc.value.kind == "identity"
    with pytest.raises(KeylessVerifyError) as exc:
        verify_keyless_bundle(raw, identity=identity, issuer="https://accounts.google.com",
                              verifier=verifier)
    assert exc.value.kind == "issuer"


@pytest.mark.parametrize("name, identity, issuer, staging", CASES)
def test_rejects_changed_payload(fixtures: Path, name, identity, issuer, staging) -> None:
    bundle = json.loads((fixtures / name).read_bytes())
    payload = json.loads(base64.b64decode(bundle["dsseEnvelope"]["payload"]))
    payload["subject"][0]["digest"]["sha256"] = "0" * 64
    bundle["dsseEnvelope"]["payload"] = base64.b64encode(json.dumps(payload).encode()).decode()
    verifier = make_verifier(offline=True, staging=staging)
    with pytest.raises(KeylessVerifyError) as exc:
        verify_keyless_bundle(json.dumps(bundle).encode(), identity=identity, issuer=issuer,
                              verifier=verifier)
    assert exc.value.kind == "signature"


def test_real_bundle_as_release_signature(fixtures: Path, tmp_path: Path,
                                          synthetic_run: Path) -> None:
    """A genuine production bundle beside our manifest: the signature verifies, but it signs
    another statement (not llm360's provenance), and the report says so."""
    from llm360.registry.build.release import build_release
    from llm360.registry.verify.verifier import verify_release

    result = build_release(synthetic_run, tmp_path / "rel",
                           options=BuildOptions(created="2026-11-27T00:00:00Z"))
    (result.manifest_path.parent / "manifest.sigstore.json").write_bytes(
        (fixtures / CASES[0][0]).read_bytes())
    report = verify_release(result.manifest_path,
                            policy=TrustPolicy(identity=BEACON, issuer=GITHUB, offline=True))
    (problem,) = report.failures
    assert problem.code == "signature"
    assert "does not sign an llm360 manifest" in problem.message
    assert "a.txt" in problem.message
