"""Signing from the command line: keygen, release build --sign key, verify --key, and the
rejection matrix with its exit codes (1 verification failed, 2 usage) and messages."""

from __future__ import annotations

import base64
import json
import os
import shutil
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

from llm360.cli.main import cli

CREATED = "2026-11-27T00:00:00Z"


def run(*args: str, **kwargs):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False, **kwargs)


@pytest.fixture
def keys(tmp_path: Path) -> tuple[Path, Path]:
    private, public = tmp_path / "k" / "release.pem", tmp_path / "k" / "release.pub"
    result = run("keygen", "--private", private, "--public", public)
    assert result.exit_code == 0, result.output
    return private, public


@pytest.fixture
def signed(synthetic_run: Path, tmp_path: Path, keys) -> Path:
    result = run("release", "build", synthetic_run, "--out", tmp_path / "rel", "--created",
                 CREATED, "--sign", "key", "--key", keys[0])
    assert result.exit_code == 0, result.output
    return tmp_path / "rel" / "manifest.json"


def test_keygen(tmp_path: Path) -> None:
    private, public = tmp_path / "a.pem", tmp_path / "a.pub"
    result = run("keygen", "--private", private, "--public", public, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["encrypted"] is False
    assert stat.S_IMODE(os.stat(private).st_mode) == 0o600
    again = run("keygen", "--private", private, "--public", public)
    assert again.exit_code == 2 and "refusing to overwrite" in again.output
    assert run("keygen", "--private", private, "--public", public, "--force").exit_code == 0


def test_encrypted_key_build(synthetic_run: Path, tmp_path: Path) -> None:
    (tmp_path / "pw").write_text("correct horse\n")
    private, public = tmp_path / "e.pem", tmp_path / "e.pub"
    assert run("keygen", "--private", private, "--public", public,
               "--passphrase-file", tmp_path / "pw").exit_code == 0
    no_pw = run("release", "build", synthetic_run, "--out", tmp_path / "r", "--sign", "key",
                "--key", private)
    assert no_pw.exit_code == 2 and "encrypted" in no_pw.output  # bad input (issue 10 item 7)
    assert not (tmp_path / "r").exists()
    ok = run("release", "build", synthetic_run, "--out", tmp_path / "r", "--sign", "key",
             "--key", private, "--passphrase-file", tmp_path / "pw")
    assert ok.exit_code == 0, ok.output
    assert run("verify", tmp_path / "r" / "manifest.json", "--key", public).exit_code == 0


def test_sign_then_verify(signed: Path, keys) -> None:
    result = run("verify", signed, "--key", keys[1])
    assert result.exit_code == 0, result.output
    assert "signature: key" in result.output and "3 checkpoint signatures" in result.output
    data = json.loads(run("verify", signed, "--key", keys[1], "--json").output)
    assert data["ok"] and data["signature"]["method"] == "key" and data["signature"]["verified"]


def _tamper_manifest(signed: Path, keys, tmp_path: Path, synthetic_run: Path) -> None:
    data = json.loads(signed.read_bytes())
    data["release"]["version"] = data["release"]["version"]  # same identity
    data["release"]["description"] = "edited after signing"
    signed.write_text(json.dumps(data))


def _tamper_payload(signed: Path, keys, tmp_path: Path, synthetic_run: Path) -> None:
    path = signed.parent / "manifest.sigstore.json"
    bundle = json.loads(path.read_bytes())
    payload = bytearray(base64.b64decode(bundle["dsseEnvelope"]["payload"]))
    payload[payload.index(b"worldSize") + 11] ^= 0x01  # one digit of worldSize
    bundle["dsseEnvelope"]["payload"] = base64.b64encode(bytes(payload)).decode()
    path.write_text(json.dumps(bundle))


def _other_manifest(signed: Path, keys, tmp_path: Path, synthetic_run: Path) -> None:
    result = run("release", "build", synthetic_run, "--out", tmp_path / "other", "--created",
                 "2027-06-01T00:00:00Z", "--sign", "key", "--key", keys[0])
    assert result.exit_code == 0, result.output
    shutil.copy(tmp_path / "other" / "manifest.sigstore.json",
                signed.parent / "manifest.sigstore.json")


def _unsigned(signed: Path, keys, tmp_path: Path, synthetic_run: Path) -> None:
    (signed.parent / "manifest.sigstore.json").unlink()


def _nothing(*_args) -> None:
    pass


@pytest.mark.parametrize("tamper, extra, message", [
    (_tamper_manifest, (), "manifest.json was changed after it was signed"),
    (_tamper_payload, (), "bad signature: the signature does not match the bundle's payload"),
    (_other_manifest, (), "the bundle signs another manifest"),
    (_nothing, ("--wrong-key",), "wrong key: signed with another key"),
    (_nothing, ("--identity", "ci@example.com", "--issuer", "https://accounts.google.com"),
     "signed with a key (fingerprint"),
    (_unsigned, (), "manifest.json is unsigned"),
], ids=["tampered-manifest", "tampered-payload", "other-manifest", "wrong-key",
        "identity-for-key-release", "unsigned"])
def test_rejections_exit_1(signed: Path, keys, tmp_path: Path, synthetic_run: Path, tamper,
                           extra, message) -> None:
    tamper(signed, keys, tmp_path, synthetic_run)
    args = list(extra)
    if args == ["--wrong-key"]:
        run("keygen", "--private", tmp_path / "o.pem", "--public", tmp_path / "o.pub")
        args = ["--key", tmp_path / "o.pub"]
    elif not args:
        args = ["--key", keys[1]]
    result = run("verify", signed, *args)
    assert result.exit_code == 1, result.output
    assert message in result.output
    assert "FAILED" in result.output


@pytest.mark.parametrize("args, message", [
    ((), "pass --key PUBLIC.pem"),
    (("--identity", "ci@example.com"), "both --identity and --issuer"),
    (("--issuer", "https://accounts.google.com"), "both --identity and --issuer"),
])
def test_usage_errors_exit_2(signed: Path, args, message) -> None:
    result = run("verify", signed, *args)
    assert result.exit_code == 2, result.output
    assert message in result.output


def test_sign_key_needs_key(synthetic_run: Path, tmp_path: Path) -> None:
    result = run("release", "build", synthetic_run, "--out", tmp_path / "r", "--sign", "key")
    assert result.exit_code == 2 and "--sign key needs --key" in result.output


def test_model_signing_reads_cli_output(signed: Path, keys, synthetic_run: Path) -> None:
    verifying = pytest.importorskip("model_signing.verifying")
    verifying.Config().use_elliptic_key_verifier(public_key=keys[1]).verify(
        synthetic_run / "checkpoints" / "ckpt_000",
        signed.parent / "signatures" / "ckpt_000" / "model.sig")
