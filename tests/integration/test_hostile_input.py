"""Hostile input is a clean error (issue 8, items 11 and 12): each reproduction of the issue,
on real files. Build refuses bad run files with an InputError naming the file; verify turns a
hostile manifest, bundle or model.sig into a failing report or an InputError, never a crash."""

from __future__ import annotations

import base64
import io
import json
import pickle
import zipfile
from pathlib import Path

import numpy as np
import pytest

from llm360.errors import InputError, Llm360Error
from llm360.registry import TrustPolicy, build_release, verify_release
from llm360.registry.build.release import BuildOptions
from llm360.registry.signing import make_signer, write_key_pair

CREATED = "2026-11-27T00:00:00Z"
DEEP = b"[" * 100_000 + b"]" * 100_000


def _build(run: Path, out: Path):
    return build_release(run, out, options=BuildOptions(created=CREATED, use_cache=False))


# --- run files: formats by content (item 11) --------------------------------------------------

def _npy() -> bytes:
    buf = io.BytesIO()
    np.save(buf, np.zeros(3))
    return buf.getvalue()


def _zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("archive/data.pkl", pickle.dumps({"w": 1}, 2))
    return buf.getvalue()


@pytest.mark.parametrize("rel,raw,words", [
    ("checkpoints/ckpt_001/optimizer.safetensors", pickle.dumps({"exp_avg": 0.0}, 4),
     "pickle files are never released"),
    ("checkpoints/ckpt_001/extra.npy", _npy(), "NumPy .npy"),
    ("checkpoints/ckpt_001/scaler.joblib", pickle.dumps({"scale": 1.0}, 4),
     "pickle files are never released"),
    ("code/closure.dill", pickle.dumps({"f": 1}, 5), "pickle files are never released"),
    ("checkpoints/ckpt_001/model.pt.gz", __import__("gzip").compress(b"\x80\x04K\x01."),
     "gzip-compressed"),
    ("checkpoints/ckpt_001/model.pt", _zip(), "zip archive"),
], ids=["pickle-named-safetensors", "npy", "joblib", "dill", "pt.gz", "torch-zip"])
def test_build_refuses_what_is_not_data(synthetic_run: Path, tmp_path: Path, rel: str,
                                        raw: bytes, words: str) -> None:
    (synthetic_run / rel).write_bytes(raw)
    with pytest.raises(InputError) as info:
        _build(synthetic_run, tmp_path / "rel")
    assert str(synthetic_run / rel) in str(info.value) and words in str(info.value)
    assert not (tmp_path / "rel").exists()


def test_build_refuses_a_malformed_safetensors_header(synthetic_run: Path,
                                                      tmp_path: Path) -> None:
    path = synthetic_run / "checkpoints/ckpt_000/rng.safetensors"
    raw = path.read_bytes()
    n = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8:8 + n])
    name = next(k for k in header if k != "__metadata__")
    header[name]["shape"] = [str(d) for d in header[name]["shape"]]  # TypeError before
    new = json.dumps(header).encode()
    path.write_bytes(len(new).to_bytes(8, "little") + new + raw[8 + n:])
    with pytest.raises(InputError, match="rng.safetensors: malformed safetensors header: "
                                         f"tensor '{name}': shape"):
        _build(synthetic_run, tmp_path / "rel")


@pytest.mark.parametrize("rel", ["config/train.json", "data/index.json",
                                 "checkpoints/ckpt_001/trainer_state.json",
                                 "tokenizer/tokenizer.json", "evals/ckpt_000.json"])
def test_deeply_nested_run_files(synthetic_run: Path, tmp_path: Path, rel: str) -> None:
    if not (synthetic_run / rel).exists() and not rel.startswith("tokenizer"):
        pytest.skip(f"the synthetic run has no {rel}")
    (synthetic_run / rel).parent.mkdir(parents=True, exist_ok=True)
    (synthetic_run / rel).write_bytes(DEEP)
    with pytest.raises(InputError, match="nested more than 64 levels"):
        _build(synthetic_run, tmp_path / "rel")


def test_deeply_nested_yaml(synthetic_run: Path, tmp_path: Path) -> None:
    (synthetic_run / "llm360.yaml").write_text("name: " + "[" * 20_000 + "]" * 20_000 + "\n")
    with pytest.raises(InputError, match="llm360.yaml: malformed YAML"):
        _build(synthetic_run, tmp_path / "rel")


@pytest.mark.parametrize("value", ["1e999", "-1e999", "Infinity", "NaN"])
def test_log_numbers_that_are_not_finite(synthetic_run: Path, tmp_path: Path,
                                         value: str) -> None:
    log = synthetic_run / "logs/train.jsonl"
    lines = log.read_text().splitlines()
    lines[1] = lines[1].replace('"loss":', f'"loss":{value},"was":', 1)
    log.write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError, match=r"train.jsonl:2: malformed JSON"):
        _build(synthetic_run, tmp_path / "rel")


def test_log_line_length_limit(synthetic_run: Path, tmp_path: Path) -> None:
    log = synthetic_run / "logs/train.jsonl"
    lines = log.read_text().splitlines()
    record = json.loads(lines[0])
    record["note"] = "x" * 70_000
    lines.insert(1, json.dumps(record))
    log.write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError, match=r"train.jsonl:2: line longer than 65536 bytes"):
        _build(synthetic_run, tmp_path / "rel")


def test_out_is_a_file(synthetic_run: Path, tmp_path: Path) -> None:
    (tmp_path / "file").write_text("mine\n")
    for out in (tmp_path / "file", tmp_path / "file" / "rel"):
        with pytest.raises(InputError, match="is not a folder|is a file, not a folder"):
            _build(synthetic_run, out)
    assert (tmp_path / "file").read_text() == "mine\n"


# --- a signed release, then hostile manifest / bundle / model.sig (item 12) -----------------

@pytest.fixture
def signed(synthetic_run: Path, tmp_path: Path):
    write_key_pair(tmp_path / "k.pem", tmp_path / "k.pub")
    result = build_release(synthetic_run, tmp_path / "rel",
                           options=BuildOptions(created=CREATED),
                           signer=make_signer("key", key_path=tmp_path / "k.pem"))
    return result.manifest_path, tmp_path / "k.pub"


def _sig_failure(manifest: Path, key: Path, words: str) -> None:
    report = verify_release(manifest, policy=TrustPolicy(key=key))
    assert not report.ok
    messages = [p.message for p in report.failures if p.code == "signature"]
    assert messages and words in messages[0], messages


def test_deeply_nested_manifest(signed) -> None:
    manifest, key = signed
    manifest.write_bytes(b'{"release": ' + DEEP + b"}")
    _sig_failure(manifest, key, "manifest.json was changed after it was signed")
    (manifest.parent / "manifest.sigstore.json").unlink()
    with pytest.raises(InputError, match="nested more than 64 levels"):
        verify_release(manifest, policy=TrustPolicy(allow_unsigned=True))


def _edit_bundle(path: Path, edit) -> None:
    bundle = json.loads(path.read_bytes())
    edit(bundle)
    path.write_text(json.dumps(bundle))


BUNDLE_EDITS = {
    "publicKey a string": (lambda b: b["verificationMaterial"].__setitem__("publicKey", "pem"),
                           "verificationMaterial.publicKey is not an object"),
    "payloadType a number": (lambda b: b["dsseEnvelope"].__setitem__("payloadType", 7),
                             "payloadType is not a string"),
    "payloadType a lone surrogate": (
        lambda b: b["dsseEnvelope"].__setitem__("payloadType", "\ud800"),
        "payloadType is not a string"),
    "bad base64 payload": (lambda b: b["dsseEnvelope"].__setitem__("payload", "%%%not base64"),
                           "invalid base64"),
    "bad base64 signature": (
        lambda b: b["dsseEnvelope"]["signatures"][0].__setitem__("sig", "****"),
        "invalid base64"),
    "payload not ASCII": (lambda b: b["dsseEnvelope"].__setitem__("payload", "é"),
                          "invalid base64"),
    "signatures an object": (lambda b: b["dsseEnvelope"].__setitem__("signatures", {"sig": 1}),
                             "signatures is not a list"),
    "signature entries strings": (
        lambda b: b["dsseEnvelope"].__setitem__("signatures", ["MEUCIQ=="]),
        "signatures is not a list"),
    "envelope a list": (lambda b: b.__setitem__("dsseEnvelope", []),
                        "dsseEnvelope is not an object"),
    "hint a number": (lambda b: b["verificationMaterial"]["publicKey"].__setitem__("hint", 5),
                      "hint is not a string"),
    "verificationMaterial a string": (
        lambda b: b.__setitem__("verificationMaterial", "x"), "not a Sigstore bundle"),
}


@pytest.mark.parametrize("name", sorted(BUNDLE_EDITS))
def test_hostile_bundle_is_a_signature_failure(signed, name: str) -> None:
    manifest, key = signed
    edit, words = BUNDLE_EDITS[name]
    _edit_bundle(manifest.parent / "manifest.sigstore.json", edit)
    _sig_failure(manifest, key, words)


@pytest.mark.parametrize("raw", [DEEP, b"[]", b"null", b"\xff\xfe", b'{"a": 1e999}', b""],
                         ids=["deep", "list", "null", "binary", "overflow", "empty"])
def test_hostile_bundle_bytes(signed, raw: bytes) -> None:
    manifest, key = signed
    (manifest.parent / "manifest.sigstore.json").write_bytes(raw)
    _sig_failure(manifest, key, "not a Sigstore bundle")


@pytest.mark.parametrize("name", sorted(BUNDLE_EDITS))
def test_hostile_model_sig_is_a_signature_failure(signed, name: str) -> None:
    manifest, key = signed
    edit, words = BUNDLE_EDITS[name]
    path = manifest.parent / "signatures/ckpt_001/model.sig"
    _edit_bundle(path, edit)
    report = verify_release(manifest, policy=TrustPolicy(key=key))
    # the OMS check names what is wrong; release-files.json also lists its sha256
    assert {p.file for p in report.failures} == {"signatures/ckpt_001/model.sig"}
    sig = [p.message for p in report.failures if p.code == "signature"]
    assert len(sig) == 1 and words in sig[0]


def test_model_sig_deeply_nested(signed) -> None:
    manifest, key = signed
    (manifest.parent / "signatures/ckpt_002/model.sig").write_bytes(DEEP)
    report = verify_release(manifest, policy=TrustPolicy(key=key))
    assert {p.file for p in report.failures} == {"signatures/ckpt_002/model.sig"}
    assert "not a Sigstore bundle" in next(p.message for p in report.failures
                                            if p.code == "signature")


def test_signed_statement_of_the_wrong_shape(signed, tmp_path: Path) -> None:
    """A statement signed with the right key but shaped wrongly (digest a string, resources
    of the wrong types) fails with a message: the checks after the signature are typed too."""
    from llm360.registry.signing._keys import load_private_key, sign_key_bundle

    manifest, key = signed
    private = load_private_key(tmp_path / "k.pem")
    bundle = json.loads((manifest.parent / "manifest.sigstore.json").read_bytes())
    statement = json.loads(base64.b64decode(bundle["dsseEnvelope"]["payload"]))
    statement["subject"] = [{"name": "manifest.json", "digest": "abc"}]
    statement["predicate"] = "not an object"
    (manifest.parent / "manifest.sigstore.json").write_bytes(
        sign_key_bundle(private, json.dumps(statement).encode()))
    _sig_failure(manifest, key, "does not sign an llm360 manifest")
    oms = json.loads(base64.b64decode(json.loads(
        (manifest.parent / "signatures/ckpt_000/model.sig").read_bytes())["dsseEnvelope"]
        ["payload"]))
    for resources in ("x", [1, 2], [{"name": ["a"], "digest": {}}]):
        oms["predicate"]["resources"] = resources
        (manifest.parent / "signatures/ckpt_000/model.sig").write_bytes(
            sign_key_bundle(private, json.dumps(oms).encode()))
        try:
            report = verify_release(manifest, policy=TrustPolicy(key=key))
        except Llm360Error as exc:  # pragma: no cover - a clean error is acceptable too
            pytest.fail(f"expected a failing report, got {exc!r}")
        assert not report.ok


@pytest.mark.parametrize("raw", [
    b'{"verificationMaterial": {"publicKey": "pem"}}',
    b'{"verificationMaterial": "publicKey"}',
    b'{"verificationMaterial": {"certificate": "x"}}',
    b'{"verificationMaterial": {"certificate": {"rawBytes": "%%%"}}}',
    b'{"verificationMaterial": {"certificate": {"rawBytes": "AAAA"}}}',
    b'{"verificationMaterial": {"x509CertificateChain": {"certificates": "x"}}}',
    b'{"verificationMaterial": {"x509CertificateChain": {"certificates": [5]}}}',
    b"[]", DEEP, b"\xff",
], ids=["publicKey-string", "material-string", "certificate-string", "certificate-bad-base64",
        "certificate-not-der", "chain-string", "chain-of-numbers", "list", "deep", "binary"])
def test_card_signature_description_of_a_hostile_bundle(tmp_path: Path, raw: bytes) -> None:
    """``llm360 card`` describes the bundle of a release it was handed: a hostile one is a
    clean InputError or an honest description, never a crash."""
    from llm360.registry.cards import describe_signature

    (tmp_path / "manifest.sigstore.json").write_bytes(raw)
    try:
        info = describe_signature(tmp_path / "manifest.sigstore.json")
    except InputError as exc:
        assert "manifest.sigstore.json" in str(exc)
    else:
        assert info.identity is None and info.key_hint is None
