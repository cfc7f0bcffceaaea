"""Fixtures for the signing tests: key pairs, an in-process Sigstore instance, releases."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from llm360.registry.build.release import BuildOptions

_spec = importlib.util.spec_from_file_location(
    "llm360_tests_fake_sigstore", Path(__file__).with_name("_fake_sigstore.py"))
fake_sigstore_module = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fake_sigstore_module)

IDENTITY = "release-bot@llm360.example"
ISSUER = "https://oidc.llm360.example"


@pytest.fixture(scope="session")
def _fake_sigstore_server():
    fake = fake_sigstore_module.FakeSigstore().start()
    yield fake
    fake.stop()


@pytest.fixture
def fake_sigstore(_fake_sigstore_server, tmp_path: Path):
    """A Sigstore instance on 127.0.0.1: ``.trust_config`` (path), ``.token()`` (a fresh
    identity token), ``.identity`` and ``.issuer`` (what its certificates say)."""
    path = tmp_path / "trust_config.json"
    path.write_text(json.dumps(_fake_sigstore_server.trust_config()))

    def token(identity: str = IDENTITY, issuer: str = ISSUER) -> str:
        return fake_sigstore_module.make_identity_token(identity, issuer)

    return SimpleNamespace(trust_config=path, token=token, identity=IDENTITY, issuer=ISSUER)


@pytest.fixture
def key_pair(tmp_path: Path) -> tuple[Path, Path]:
    from llm360.registry.signing import write_key_pair

    private, public = tmp_path / "keys" / "signing.pem", tmp_path / "keys" / "signing.pub.pem"
    write_key_pair(private, public)
    return private, public


@pytest.fixture
def key_release(synthetic_run: Path, key_pair, tmp_path: Path) -> Path:
    """A release of the synthetic run signed with ``key_pair``; returns manifest.json."""
    from llm360.registry.build.release import build_release
    from llm360.registry.signing import make_signer

    step = make_signer("key", key_path=key_pair[0])
    result = build_release(synthetic_run, tmp_path / "release",
                           options=BuildOptions(created="2026-11-27T00:00:00Z"), signer=step)
    return result.manifest_path
