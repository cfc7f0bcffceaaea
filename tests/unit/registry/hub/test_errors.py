"""Hub failures become typed errors with hints and exit codes; transient ones are retried."""

from __future__ import annotations

import httpx2
import pytest
from huggingface_hub.errors import HfHubHTTPError, OfflineModeIsEnabled

from llm360.errors import (
    HubAuthError,
    HubConflictError,
    HubConnectionError,
    HubNotFoundError,
    HubRateLimitError,
    HubServerError,
)
from llm360.registry.hub import HubClient, hub_error


def _http(status: int) -> HfHubHTTPError:
    request = httpx2.Request("POST", "http://127.0.0.1:1/api/models/a/b/commit/main")
    response = httpx2.Response(status, request=request, headers={"Retry-After": "0"})
    return HfHubHTTPError(f"HTTP {status}", response=response, server_message="nope")


@pytest.mark.parametrize("status,cls,code,transient", [
    (401, HubAuthError, 2, False), (403, HubAuthError, 2, False),
    (404, HubNotFoundError, 2, False), (409, HubConflictError, 3, False),
    (412, HubConflictError, 3, False), (429, HubRateLimitError, 3, True),
    (500, HubServerError, 3, True), (503, HubServerError, 3, True)])
def test_http_statuses(status, cls, code, transient):
    err = hub_error(_http(status), "commit to a/b@main")
    assert type(err) is cls and err.exit_code == code and err.transient is transient
    assert err.status == status and err.hint
    assert err.message.startswith(f"commit to a/b@main: HTTP {status} (nope)")


def test_transport_and_offline():
    err = hub_error(httpx2.ConnectTimeout("timed out"), "list a/b")
    assert isinstance(err, HubConnectionError) and err.transient and err.exit_code == 3
    err = hub_error(OfflineModeIsEnabled("offline"), "list a/b")
    assert err.exit_code == 2 and "HF_HUB_OFFLINE" in err.hint


def test_retries_transient_then_gives_up():
    client = HubClient(endpoint="http://127.0.0.1:1", token="t", retries=2, backoff=0)
    calls = []

    def flaky():
        calls.append(1)
        if len(calls) < 3:
            raise _http(503)
        return "ok"

    assert client.call("x", flaky) == "ok" and len(calls) == 3
    calls.clear()
    with pytest.raises(HubServerError):
        client.call("x", lambda: calls.append(1) or (_ for _ in ()).throw(_http(500)))
    assert len(calls) == 3
    calls.clear()
    with pytest.raises(HubAuthError):  # not transient: no retry
        client.call("x", lambda: calls.append(1) or (_ for _ in ()).throw(_http(401)))
    assert len(calls) == 1
