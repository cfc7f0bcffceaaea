"""--sign key: build a signed release, verify it with the public key, and the rejection
matrix (each broken link with its own message)."""

from __future__ import annotations

import base64
import json
import os
import shutil
from pathlib import Path

import pytest

from llm360.errors import InputError
from llm360.registry.build.release import BuildOptions, build_release
from llm360.registry.signing import make_signer, write_key_pair
from llm360.registry.verify.policy import TrustPolicy
from llm360.registry.verify.verifier import verify_release


def _sig_messages(report) -> list[str]:
    return [p.message for p in report.failures if p.code == "signature"]


def test_round_trip(key_release: Path, key_pair) -> None:
    release = key_release.parent
    assert (release / "manifest.sigstore.json").is_file()
    for ckpt in ("ckpt_000", "ckpt_001", "ckpt_002"):
        assert (release / "signatures" / ckpt / "model.sig").is_file()
    report = verify_release(key_release, policy=TrustPolicy(key=key_pair[1]))
    assert report.ok, report.failures
    assert report.signature.method == "key"
    assert report.signature.verified is True
    assert report.signature.checkpoints_verified == 3
    assert len(report.signature.key_fingerprint or "") == 64
    assert report.files_checked > 0


def test_bundle_shape(key_release: Path) -> None:
    bundle = json.loads((key_release.parent / "manifest.sigstore.json").read_bytes())
    assert bundle["mediaType"] == "application/vnd.dev.sigstore.bundle.v0.3+json"
    assert set(bundle["verificationMaterial"]) == {"publicKey", "tlogEntries"}
    env = bundle["dsseEnvelope"]
    assert env["payloadType"] == "application/vnd.in-toto+json"
    statement = json.loads(base64.b64decode(env["payload"]))
    assert statement["predicateType"] == "https://slsa.dev/provenance/v1"
    assert statement["subject"][0]["name"] == "manifest.json"


def test_tampered_manifest(key_release: Path, key_pair) -> None:
    data = json.loads(key_release.read_bytes())
    data["release"]["description"] = "something else"
    key_release.write_text(json.dumps(data, sort_keys=True, separators=(",", ":")))
    report = verify_release(key_release, policy=TrustPolicy(key=key_pair[1]))
    assert not report.ok
    (msg,) = _sig_messages(report)
    assert "manifest.json was changed after it was signed" in msg
    assert report.files_checked == 0


def test_tampered_bundle_payload(key_release: Path, key_pair) -> None:
    path = key_release.parent / "manifest.sigstore.json"
    bundle = json.loads(path.read_bytes())
    statement = json.loads(base64.b64decode(bundle["dsseEnvelope"]["payload"]))
    statement["predicate"]["buildDefinition"]["internalParameters"]["worldSize"] = 4096
    bundle["dsseEnvelope"]["payload"] = base64.b64encode(
        json.dumps(statement).encode()).decode()
    path.write_text(json.dumps(bundle))
    report = verify_release(key_release, policy=TrustPolicy(key=key_pair[1]))
    (msg,) = _sig_messages(report)
    assert "bad signature" in msg and "statement or the signature was changed" in msg


def test_bundle_of_another_manifest(synthetic_run: Path, key_pair, key_release: Path,
                                    tmp_path: Path) -> None:
    other = build_release(synthetic_run, tmp_path / "other",
                          options=BuildOptions(created="2027-01-01T00:00:00Z"),
                          signer=make_signer("key", key_path=key_pair[0]))
    shutil.copy(other.manifest_path.parent / "manifest.sigstore.json",
                key_release.parent / "manifest.sigstore.json")
    report = verify_release(key_release, policy=TrustPolicy(key=key_pair[1]))
    (msg,) = _sig_messages(report)
    assert "signs another manifest" in msg and "2027-01-01" in msg


def test_wrong_key(key_release: Path, tmp_path: Path) -> None:
    _, other_public = tmp_path / "o.pem", tmp_path / "o.pub"
    write_key_pair(tmp_path / "o.pem", other_public)
    report = verify_release(key_release, policy=TrustPolicy(key=other_public))
    (msg,) = _sig_messages(report)
    assert "wrong key" in msg and "signed with another key" in msg


def test_identity_given_for_key_release(key_release: Path) -> None:
    report = verify_release(key_release, policy=TrustPolicy(identity="someone@example.com",
                                                            issuer="https://accounts.google.com"))
    (msg,) = _sig_messages(report)
    assert "signed with a key" in msg and "someone@example.com" in msg


def test_unsigned(synthetic_run: Path, tmp_path: Path, key_pair) -> None:
    result = build_release(synthetic_run, tmp_path / "plain",
                           options=BuildOptions(created="2026-11-27T00:00:00Z"))
    report = verify_release(result.manifest_path, policy=TrustPolicy(key=key_pair[1]))
    (msg,) = _sig_messages(report)
    assert "unsigned" in msg
    assert report.signature.unsigned is True
    allowed = verify_release(result.manifest_path, policy=TrustPolicy(allow_unsigned=True))
    assert allowed.ok and any("unsigned" in n for n in allowed.notes)


def test_tampered_checkpoint_signature(key_release: Path, key_pair) -> None:
    path = key_release.parent / "signatures" / "ckpt_001" / "model.sig"
    bundle = json.loads(path.read_bytes())
    statement = json.loads(base64.b64decode(bundle["dsseEnvelope"]["payload"]))
    statement["predicate"]["resources"][0]["digest"] = "0" * 64
    bundle["dsseEnvelope"]["payload"] = base64.b64encode(json.dumps(statement).encode()).decode()
    path.write_text(json.dumps(bundle))
    report = verify_release(key_release, policy=TrustPolicy(key=key_pair[1]))
    (msg,) = _sig_messages(report)
    assert msg.startswith("signatures/ckpt_001/model.sig: bad signature")
    (path.parent.parent / "ckpt_002" / "model.sig").unlink()
    report = verify_release(key_release, policy=TrustPolicy(key=key_pair[1]))
    assert any("ckpt_002/model.sig: missing" in m for m in _sig_messages(report))


def test_tampered_bytes_after_good_signature(key_release: Path, key_pair,
                                             synthetic_run: Path) -> None:
    weights = synthetic_run / "checkpoints" / "ckpt_000" / "model.safetensors"
    raw = bytearray(weights.read_bytes())
    raw[-1] ^= 1
    weights.write_bytes(bytes(raw))
    report = verify_release(key_release, policy=TrustPolicy(key=key_pair[1]))
    assert report.signature.verified is True
    assert [p.code for p in report.failures] == ["sha256"]


@pytest.mark.parametrize("kwargs, words", [
    ({}, "pass --key"),
    ({"identity": "a@b.c"}, "both --identity and --issuer"),
    ({"issuer": "https://x"}, "both --identity and --issuer"),
])
def test_usage_errors(key_release: Path, kwargs, words) -> None:
    with pytest.raises(InputError, match=words):
        verify_release(key_release, policy=TrustPolicy(**kwargs))


def test_key_and_identity_together(key_release: Path, key_pair) -> None:
    with pytest.raises(InputError, match="not both"):
        verify_release(key_release, policy=TrustPolicy(key=key_pair[1], identity="a@b.c",
                                                       issuer="https://x"))


def test_bad_passphrase_fails_before_hashing(tmp_path: Path) -> None:
    write_key_pair(tmp_path / "k.pem", tmp_path / "k.pub", passphrase=b"secret")
    with pytest.raises(InputError, match="encrypted"):  # bad input: exit 2, not 3
        make_signer("key", key_path=tmp_path / "k.pem")
    with pytest.raises(InputError, match="wrong passphrase"):
        make_signer("key", key_path=tmp_path / "k.pem", passphrase=b"nope")
    assert make_signer("key", key_path=tmp_path / "k.pem", passphrase=b"secret") is not None


@pytest.fixture
def carded_release(synthetic_run: Path, key_pair, tmp_path: Path) -> Path:
    build_release(synthetic_run, tmp_path / "carded",
                  signer=make_signer("key", key_path=key_pair[0]),
                  options=BuildOptions(created="2026-11-27T00:00:00Z"))
    return tmp_path / "carded"


@pytest.mark.parametrize("rel", ["README.md", "DATA_CARD.md", "cards/ckpt_001.md",
                                 "plots/train_loss.png"])
def test_cards_and_plots_are_signed(carded_release: Path, key_pair, rel: str) -> None:
    assert verify_release(carded_release, policy=TrustPolicy(key=key_pair[1])).ok
    path = carded_release / rel
    data = path.read_bytes()
    path.write_bytes(data[:-1] + b"X" if rel.endswith(".md") else data + b"\0")
    report = verify_release(carded_release, policy=TrustPolicy(key=key_pair[1]))
    assert [(p.code, p.file) for p in report.failures] == [
        ("sha256" if rel.endswith(".md") else "size", rel)]


def test_release_file_list_edit_breaks_the_signature(carded_release: Path, key_pair) -> None:
    path = carded_release / "release-files.json"
    data = json.loads(path.read_text())
    data["files"] = [f for f in data["files"] if f["path"] != "README.md"]
    path.write_text(json.dumps(data))
    report = verify_release(carded_release, policy=TrustPolicy(key=key_pair[1]))
    assert any(p.code == "signature" and "release-files.json" in p.message
               for p in report.failures)


def test_naming_a_key_requires_a_signature(key_release: Path, key_pair) -> None:
    (key_release.parent / "manifest.sigstore.json").unlink()
    report = verify_release(key_release, policy=TrustPolicy(key=key_pair[1],
                                                            allow_unsigned=True))
    assert [p.code for p in report.failures] == ["signature"]
    assert "a signature by the key" in report.failures[0].message


def test_summary_names_release_and_expect_version(key_release: Path, key_pair) -> None:
    report = verify_release(key_release, policy=TrustPolicy(key=key_pair[1]))
    assert report.as_data()["release"] == {"name": "synthetic-tiny", "version": "0.1.0",
                                           "created": "2026-11-27T00:00:00Z"}
    rolled = verify_release(key_release, policy=TrustPolicy(key=key_pair[1],
                                                            expect_version="0.2.0"))
    assert [p.code for p in rolled.failures] == ["version"]
    assert "expected 0.2.0" in rolled.failures[0].message


def test_every_file_the_release_writes_is_synced_before_the_swap(synthetic_run: Path, key_pair,
                                                                 tmp_path: Path,
                                                                 monkeypatch) -> None:
    from llm360.registry.build import release_dir

    out = tmp_path / "rel"
    synced: dict[str, bool] = {}  # path -> fsync'd while the folder was still being staged
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        path = Path(os.readlink(f"/proc/self/fd/{fd}"))
        staging = next((p for p in [path, *path.parents] if p.parent == tmp_path
                        and "llm360-staging" in p.name), None)
        if staging is not None:
            synced[path.relative_to(staging).as_posix()] = (
                staging / release_dir.INCOMPLETE_MARK).exists()
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    build_release(synthetic_run, out, options=BuildOptions(created="2026-11-27T00:00:00Z"),
                  signer=make_signer("key", key_path=key_pair[0]))
    listed = [f["path"] for f in json.loads((out / "release-files.json").read_bytes())["files"]]
    assert any(p.endswith("model.sig") for p in listed) and "README.md" in listed
    files = listed + ["manifest.json", "release-files.json", "manifest.sigstore.json"]
    folders = {"."}
    for p in files:
        folders |= {str(parent) for parent in Path(p).parents}
    assert set(synced) == set(files) | folders
    assert all(synced.values())  # each before the folder became the release


@pytest.mark.parametrize("kwargs, words", [
    ({"parent_identity": "a@b.c"}, "both --parent-identity and --parent-issuer"),
    ({"parent_key": Path("k.pub"), "parent_issuer": "https://x"},
     "either --parent-key or --parent-identity/--parent-issuer, not both"),
])
def test_parent_usage_errors(kwargs, words) -> None:
    from llm360.cli._trust import parent_check_from

    parent = {"parent_key": None, "parent_identity": None, "parent_issuer": None,
              "parent_folders": (), "allow_unverified_parent": False, **kwargs}
    trust = {"offline": False, "trust_config": None, "staging": False}
    with pytest.raises(InputError, match=words):
        parent_check_from(parent, trust)
