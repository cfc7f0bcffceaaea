"""Key generation, DSSE PAE and publicKey bundles (cryptography only)."""

from __future__ import annotations

import base64
import json
import os
import stat
from pathlib import Path

import pytest

from llm360.errors import InputError
from llm360.registry.signing._keys import (
    KeyVerifyError,
    key_fingerprint,
    load_private_key,
    load_public_key,
    pae,
    sign_key_bundle,
    verify_key_bundle,
    write_key_pair,
)

STATEMENT = b'{"_type":"https://in-toto.io/Statement/v1","subject":[]}'


def test_pae_matches_the_dsse_spec() -> None:
    assert pae("http://example.com/HelloWorld", b"hello world") == \
        b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"


def test_private_key_is_0600_even_with_umask_0(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        write_key_pair(tmp_path / "k.pem", tmp_path / "k.pub")
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(tmp_path / "k.pem").st_mode) == 0o600
    assert stat.S_IMODE(os.stat(tmp_path / "k.pub").st_mode) == 0o644
    assert list(tmp_path.iterdir()) and not [p for p in tmp_path.iterdir()
                                             if p.name.endswith(".tmp")]


def test_refuses_to_overwrite_unless_forced(tmp_path: Path) -> None:
    fp1 = write_key_pair(tmp_path / "k.pem", tmp_path / "k.pub")
    before = (tmp_path / "k.pem").read_bytes()
    with pytest.raises(InputError, match="refusing to overwrite"):
        write_key_pair(tmp_path / "k.pem", tmp_path / "k2.pub")
    assert (tmp_path / "k.pem").read_bytes() == before
    assert not (tmp_path / "k2.pub").exists()
    fp2 = write_key_pair(tmp_path / "k.pem", tmp_path / "k.pub", force=True)
    assert fp1 != fp2
    assert stat.S_IMODE(os.stat(tmp_path / "k.pem").st_mode) == 0o600


def test_encrypted_key(tmp_path: Path) -> None:
    write_key_pair(tmp_path / "k.pem", tmp_path / "k.pub", passphrase=b"pw")
    assert b"ENCRYPTED" in (tmp_path / "k.pem").read_bytes()
    key = load_private_key(tmp_path / "k.pem", b"pw")
    assert key_fingerprint(key.public_key()) == key_fingerprint(load_public_key(tmp_path / "k.pub"))


def test_fingerprint_is_the_oms_hint(tmp_path: Path) -> None:
    import hashlib

    write_key_pair(tmp_path / "k.pem", tmp_path / "k.pub")
    assert key_fingerprint(load_public_key(tmp_path / "k.pub")) == \
        hashlib.sha256((tmp_path / "k.pub").read_bytes()).hexdigest()


def test_bundle_round_trip_and_tamper(tmp_path: Path) -> None:
    write_key_pair(tmp_path / "k.pem", tmp_path / "k.pub")
    write_key_pair(tmp_path / "o.pem", tmp_path / "o.pub")
    key = load_private_key(tmp_path / "k.pem")
    bundle = json.loads(sign_key_bundle(key, STATEMENT))
    result = verify_key_bundle(bundle, load_public_key(tmp_path / "k.pub"))
    assert result.payload == STATEMENT
    with pytest.raises(KeyVerifyError) as exc:
        verify_key_bundle(bundle, load_public_key(tmp_path / "o.pub"))
    assert exc.value.kind == "key"
    bundle["dsseEnvelope"]["payload"] = base64.b64encode(STATEMENT + b" ").decode()
    with pytest.raises(KeyVerifyError) as exc:
        verify_key_bundle(bundle, load_public_key(tmp_path / "k.pub"))
    assert exc.value.kind == "signature"


def test_not_a_key(tmp_path: Path) -> None:
    (tmp_path / "x.pem").write_text("hello")
    with pytest.raises(InputError, match="not a PEM public key"):
        load_public_key(tmp_path / "x.pem")


def test_signing_package_import_is_light() -> None:
    import subprocess
    import sys

    code = ("import sys, llm360.registry, llm360.registry.signing; "
            "bad = [m for m in sys.modules if m.split('.')[0] in ('sigstore', 'torch')]; "
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
