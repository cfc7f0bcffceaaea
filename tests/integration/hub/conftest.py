"""The Hub test server and a signed release for the Hub tests."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

_spec = importlib.util.spec_from_file_location(
    "llm360_tests_hub_fixtures",
    Path(__file__).resolve().parents[2] / "hub_server" / "fixtures.py")
_fixtures = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_fixtures)

hub_server = _fixtures.hub_server
hub_client = _fixtures.hub_client
another_hub_server = _fixtures.another_hub_server
hub_keys = _fixtures.hub_keys
signed_release_master = _fixtures.signed_release_master
signed_release = _fixtures.signed_release


@pytest.fixture
def trust(hub_keys):
    """What push and verify --hub are told to trust: the test signing key."""
    from llm360.registry.verify.policy import TrustPolicy

    return TrustPolicy(key=hub_keys[1])


@pytest.fixture
def make_release_fn():
    """``make_release(run, out, private_key, cards=...)``: a signed, self-contained release."""
    return _fixtures.make_release
