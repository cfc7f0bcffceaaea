"""--sign sigstore end to end against an in-process Sigstore instance on 127.0.0.1 (real
``SigningContext`` / ``Signer.sign_dsse`` / ``Verifier`` code, its own trusted root passed as a
trust config), and the keyless rejection matrix."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from llm360.errors import InputError
from llm360.registry.build.release import BuildOptions, build_release
from llm360.registry.signing import make_signer
from llm360.registry.verify.policy import TrustPolicy
from llm360.registry.verify.verifier import verify_release

IDENTITY = "release-bot@llm360.example"  # what the fake_sigstore fixture's tokens say
ISSUER = "https://oidc.llm360.example"


@pytest.fixture
def keyless_release(synthetic_run: Path, fake_sigstore, tmp_path: Path) -> Path:
    step = make_signer("sigstore", identity_token=fake_sigstore.token(),
                        trust_config=fake_sigstore.trust_config)
    return build_release(synthetic_run, tmp_path / "release",
                         options=BuildOptions(created="2026-11-27T00:00:00Z"),
                         signer=step).manifest_path


def _sig_messages(report) -> list[str]:
    return [p.message for p in report.failures if p.code == "signature"]


def test_round_trip(keyless_release: Path, fake_sigstore) -> None:
    trust = fake_sigstore.trust_config
    bundle = json.loads((keyless_release.parent / "manifest.sigstore.json").read_bytes())
    assert bundle["mediaType"] == "application/vnd.dev.sigstore.bundle.v0.3+json"
    assert "certificate" in bundle["verificationMaterial"]
    assert len(bundle["verificationMaterial"]["tlogEntries"]) == 1
    report = verify_release(keyless_release, policy=TrustPolicy(identity=IDENTITY, issuer=ISSUER,
                                                                trust_config=trust))
    assert report.ok, report.failures
    assert report.signature.as_data() == {**report.signature.as_data(), "method": "sigstore",
                                          "verified": True, "identity": IDENTITY,
                                          "issuer": ISSUER, "checkpoints_verified": 3}


def test_wrong_identity(keyless_release: Path, fake_sigstore) -> None:
    policy = TrustPolicy(identity="mallory@llm360.example", issuer=ISSUER,
                         trust_config=fake_sigstore.trust_config)
    report = verify_release(keyless_release, policy=policy)
    (msg,) = _sig_messages(report)
    assert "wrong identity" in msg and IDENTITY in msg


def test_wrong_issuer(keyless_release: Path, fake_sigstore) -> None:
    policy = TrustPolicy(identity=IDENTITY,
                         issuer="https://token.actions.githubusercontent.com",
                         trust_config=fake_sigstore.trust_config)
    report = verify_release(keyless_release, policy=policy)
    (msg,) = _sig_messages(report)
    assert "wrong issuer" in msg and ISSUER in msg


def test_tampered_payload(keyless_release: Path, fake_sigstore) -> None:
    path = keyless_release.parent / "manifest.sigstore.json"
    bundle = json.loads(path.read_bytes())
    statement = json.loads(base64.b64decode(bundle["dsseEnvelope"]["payload"]))
    statement["predicate"]["buildDefinition"]["internalParameters"]["seed"] = 7
    bundle["dsseEnvelope"]["payload"] = base64.b64encode(json.dumps(statement).encode()).decode()
    path.write_text(json.dumps(bundle))
    report = verify_release(keyless_release, policy=TrustPolicy(identity=IDENTITY, issuer=ISSUER,
                                                                trust_config=fake_sigstore.trust_config))
    (msg,) = _sig_messages(report)
    assert "bad signature" in msg


def test_tampered_manifest(keyless_release: Path, fake_sigstore) -> None:
    data = json.loads(keyless_release.read_bytes())
    data["release"]["authors"] = ["someone else"]
    keyless_release.write_text(json.dumps(data))
    report = verify_release(keyless_release, policy=TrustPolicy(identity=IDENTITY, issuer=ISSUER,
                                                                trust_config=fake_sigstore.trust_config))
    (msg,) = _sig_messages(report)
    assert "changed after it was signed" in msg


def test_not_trusted_by_production_root(keyless_release: Path, tmp_path: Path) -> None:
    report = verify_release(keyless_release,
                            policy=TrustPolicy(identity=IDENTITY, issuer=ISSUER, offline=True))
    (msg,) = _sig_messages(report)
    assert "bad signature" in msg


def test_key_given_for_keyless_release(keyless_release: Path, tmp_path: Path) -> None:
    from llm360.registry.signing import write_key_pair

    write_key_pair(tmp_path / "k.pem", tmp_path / "k.pub")
    report = verify_release(keyless_release, policy=TrustPolicy(key=tmp_path / "k.pub"))
    (msg,) = _sig_messages(report)
    assert "signed keylessly" in msg


def test_model_signing_verifies_keyless_checkpoint(keyless_release: Path, fake_sigstore,
                                                   synthetic_run: Path) -> None:
    verifying = pytest.importorskip("model_signing.verifying")
    config = verifying.Config().use_sigstore_verifier(
        identity=IDENTITY, oidc_issuer=ISSUER, trust_config=fake_sigstore.trust_config)
    config.verify(synthetic_run / "checkpoints" / "ckpt_001",
                  keyless_release.parent / "signatures" / "ckpt_001" / "model.sig")


def test_no_token(synthetic_run: Path, fake_sigstore, tmp_path: Path, monkeypatch) -> None:
    for var in ("ACTIONS_ID_TOKEN_REQUEST_URL", "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
                "SIGSTORE_ID_TOKEN", "GITHUB_ACTIONS", "GOOGLE_SERVICE_ACCOUNT_NAME",
                "BUILDKITE", "CIRCLECI", "GITLAB_CI"):
        monkeypatch.delenv(var, raising=False)
    step = make_signer("sigstore", trust_config=fake_sigstore.trust_config)
    with pytest.raises(InputError, match="no identity token"):  # bad input: exit 2
        build_release(synthetic_run, tmp_path / "r",
                      options=BuildOptions(created="2026-11-27T00:00:00Z"), signer=step)
    assert not (tmp_path / "r").exists()


def test_cli_keyless_build_and_verify(synthetic_run: Path, fake_sigstore, tmp_path: Path,
                                      monkeypatch) -> None:
    from click.testing import CliRunner

    from llm360.cli.main import cli

    def run(*args):
        return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)

    trust = fake_sigstore.trust_config
    monkeypatch.setenv("SIGSTORE_IDENTITY_TOKEN", fake_sigstore.token())
    built = run("release", "build", synthetic_run, "--out", tmp_path / "rel", "--sign",
                "sigstore", "--trust-config", trust)
    assert built.exit_code == 0, built.output
    manifest = tmp_path / "rel" / "manifest.json"
    ok = run("verify", manifest, "--identity", IDENTITY, "--issuer", ISSUER,
             "--trust-config", trust)
    assert ok.exit_code == 0, ok.output
    assert f"signed by {IDENTITY} ({ISSUER})" in ok.output
    wrong = run("verify", manifest, "--identity", "eve@llm360.example", "--issuer", ISSUER,
                "--trust-config", trust)
    assert wrong.exit_code == 1 and "wrong identity" in wrong.output
    missing = run("verify", manifest, "--trust-config", trust)
    assert missing.exit_code == 2 and "--identity" in missing.output
