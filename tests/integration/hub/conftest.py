"""The Hub test server and a signed release for the Hub tests."""

from __future__ import annotations

import pytest
from hub_server.fixtures import make_release


@pytest.fixture
def trust(hub_keys):
    """What push and verify --hub are told to trust: the test signing key."""
    from llm360.registry.verify.policy import TrustPolicy

    return TrustPolicy(key=hub_keys[1])


@pytest.fixture
def make_release_fn():
    """``make_release(run, out, private_key, cards=...)``: a signed, self-contained release."""
    return make_release
