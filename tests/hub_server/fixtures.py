"""Fixtures around the Hub test server and a signed, self-contained release (a plugin of
``tests/conftest.py``: every tier has them; ``make_release`` is imported from here)."""

from __future__ import annotations

import importlib.util
import shutil
import sys
from pathlib import Path

import pytest

_HERE = Path(__file__).resolve().parent
CREATED = "2026-11-27T00:00:00Z"


def server_module():
    name = "llm360_tests_hub_server"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, _HERE / "server.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


@pytest.fixture
def hub_server(monkeypatch: pytest.MonkeyPatch):
    """A Hub test server on 127.0.0.1 (ephemeral port), stopped at teardown; huggingface_hub
    in this process is switched online and to LFS uploads (the test server has no Xet)."""
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(constants, "HF_HUB_DISABLE_XET", True)
    monkeypatch.delenv("HF_ENDPOINT", raising=False)
    server = server_module().HubTestServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def another_hub_server(hub_server):
    """A second, independent Hub test server (same process settings as ``hub_server``)."""
    server = server_module().HubTestServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def hub_client(hub_server):
    from llm360.registry.hub import connect

    return connect(endpoint=hub_server.url, token="test-token", xet=False, backoff=0.01)


def make_release(run: Path, out: Path, private_key: Path, *, cards: bool = True,
                 created: str = CREATED) -> Path:
    """A signed, self-contained release of ``run`` at ``out`` (the real build, signing and
    cards steps, as ``llm360 release build --sign key`` makes it)."""
    from llm360.registry.build.release import BuildOptions, build_release
    from llm360.registry.signing import make_signer

    build_release(run, out, options=BuildOptions(created=created, cards=cards),
                  signer=make_signer("key", key_path=private_key))
    return out


@pytest.fixture(scope="session")
def hub_keys(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    from llm360.registry.signing import write_key_pair

    folder = tmp_path_factory.mktemp("hubkeys")
    write_key_pair(folder / "key.pem", folder / "key.pub.pem")
    return folder / "key.pem", folder / "key.pub.pem"


@pytest.fixture(scope="session")
def signed_release_master(tmp_path_factory, hub_keys) -> Path:
    from _synthetic import write_synthetic_run

    base = tmp_path_factory.mktemp("hubrelease")
    run = write_synthetic_run(base / "run", checkpoints=3)
    return make_release(run, base / "release", hub_keys[0])


@pytest.fixture
def signed_release(signed_release_master: Path, tmp_path: Path) -> Path:
    """A fresh copy of a signed 3-checkpoint synthetic release (tests may write into it)."""
    out = tmp_path / "release"
    shutil.copytree(signed_release_master, out)
    return out
