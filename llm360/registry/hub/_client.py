"""The one place llm360 talks to huggingface_hub: a client bound to an endpoint and a token,
every call mapped to a typed ``HubError`` and retried with backoff when the failure is transient
(429, 5xx, timeouts, dropped connections)."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from llm360.errors import (
    HubAuthError, HubConflictError, HubConnectionError, HubError, HubNotFoundError,
    HubRateLimitError, HubServerError,
)

__all__ = ["HubClient", "RemoteFile", "connect", "hub_error", "DEFAULT_ENDPOINT"]

DEFAULT_ENDPOINT = "https://huggingface.co"
T = TypeVar("T")
#: a regular (non-LFS) file above this size is not downloaded to learn its sha256
SMALL_FILE_LIMIT = 10 * 1024 * 1024


@dataclass(frozen=True, kw_only=True)
class RemoteFile:
    """A file as the Hub's tree listing describes it."""

    path: str
    size: int
    git_oid: str
    sha256: str | None  # LFS / Xet-backed files: the Hub says it; regular files: None


def hub_error(exc: BaseException, what: str) -> HubError:
    """The typed error for an exception raised by huggingface_hub (or the HTTP layer)."""
    from huggingface_hub.errors import HfHubHTTPError, OfflineModeIsEnabled

    if isinstance(exc, HubError):
        return exc
    if isinstance(exc, OfflineModeIsEnabled):
        err = HubError(f"{what}: huggingface_hub is in offline mode (HF_HUB_OFFLINE is set)",
                       hint="unset HF_HUB_OFFLINE (or set it to 0) to reach the Hub")
        err.exit_code = 2
        return err
    if isinstance(exc, HfHubHTTPError):
        status = exc.response.status_code if exc.response is not None else None
        try:
            url = str(exc.response.request.url)
        except (AttributeError, RuntimeError):  # httpx raises when no request is attached
            url = None
        server = (exc.server_message or "").strip().splitlines()
        detail = f" ({server[0]})" if server else ""
        msg = f"{what}: HTTP {status}{detail}"
        if status == 401:
            return HubAuthError(msg, status=status, url=url, hint=(
                "the Hub did not accept the token: set HF_TOKEN or run `hf auth login`"))
        if status == 403:
            return HubAuthError(msg, status=status, url=url, hint=(
                "the token has no write access to this repository (a read token, or another "
                "owner's repository): use a write token of the owner"))
        if status == 404:
            return HubNotFoundError(msg, status=status, url=url, hint=(
                "check the repository id (ORG/NAME), the revision and --endpoint; a private "
                "repository also answers 404 without a token"))
        if status in (409, 412):
            return HubConflictError(msg, status=status, url=url, hint=(
                "the branch moved while pushing (a concurrent commit); nothing was "
                "overwritten: rerun the command to continue from the new state"))
        if status == 429:
            return HubRateLimitError(msg, status=status, url=url,
                                     hint="rate limited by the Hub: wait and rerun")
        if status is not None and status >= 500:
            return HubServerError(msg, status=status, url=url, hint=(
                "the Hub failed; push and pull resume where they stopped: rerun later"))
        return HubError(msg, status=status, url=url)
    import httpx2

    if isinstance(exc, (httpx2.TransportError, ConnectionError, TimeoutError)):
        return HubConnectionError(f"{what}: {type(exc).__name__}: {exc}", hint=(
            "no answer from the Hub endpoint: check the network and --endpoint / HF_ENDPOINT"))
    return HubError(f"{what}: {type(exc).__name__}: {exc}")


class HubClient:
    """huggingface_hub's ``HfApi`` bound to ``endpoint`` and ``token``, with typed errors."""

    def __init__(self, *, endpoint: str | None = None, token: str | None = None,
                 xet: bool = True, retries: int = 4, backoff: float = 0.5,
                 progress_bars: bool = True) -> None:
        from huggingface_hub import HfApi, constants
        from huggingface_hub.utils import disable_progress_bars, enable_progress_bars

        self.endpoint = (endpoint or DEFAULT_ENDPOINT).rstrip("/")
        self.token = token
        self.retries, self.backoff = retries, backoff
        if not xet:  # read by huggingface_hub on every upload
            constants.HF_HUB_DISABLE_XET = True
        (enable_progress_bars if progress_bars else disable_progress_bars)()
        self.api = HfApi(endpoint=self.endpoint, token=token or None,
                         library_name="llm360")

    def call(self, what: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """``fn(*args, **kwargs)``; transient failures are retried, all mapped to HubError."""
        for attempt in range(self.retries + 1):
            try:
                return fn(*args, **kwargs)
            except Exception as exc:  # noqa: BLE001 - mapped to a typed error below
                err = hub_error(exc, what)
                if not err.transient or attempt == self.retries:
                    raise err from exc
                retry_after = _retry_after(exc)
                time.sleep(retry_after if retry_after is not None
                           else self.backoff * (2 ** attempt))
        raise AssertionError("unreachable")

    # ---- reading --------------------------------------------------------------------------
    def refs(self, repo_id: str, repo_type: str) -> tuple[dict[str, str], dict[str, str]]:
        """({branch: commit}, {tag: commit})."""
        refs = self.call(f"list the refs of {repo_id}", self.api.list_repo_refs, repo_id,
                         repo_type=repo_type)
        return ({b.name: b.target_commit for b in refs.branches},
                {t.name: t.target_commit for t in refs.tags})

    def tree(self, repo_id: str, repo_type: str, revision: str) -> dict[str, RemoteFile]:
        """Every file at ``revision`` with size, git blob id and (LFS/Xet) sha256."""
        from huggingface_hub.hf_api import RepoFile

        def listing():
            return list(self.api.list_repo_tree(repo_id, repo_type=repo_type,
                                                revision=revision, recursive=True))

        out = {}
        for item in self.call(f"list {repo_id}@{revision}", listing):
            if isinstance(item, RepoFile):
                lfs = item.lfs
                out[item.path] = RemoteFile(path=item.path, size=item.size,
                                            git_oid=item.blob_id,
                                            sha256=lfs.sha256 if lfs is not None else None)
        return out

    def url(self, repo_id: str, repo_type: str, revision: str, path: str) -> str:
        from huggingface_hub import hf_hub_url

        return hf_hub_url(repo_id, path, repo_type=repo_type, revision=revision,
                          endpoint=self.endpoint)

    def read_bytes(self, repo_id: str, repo_type: str, revision: str, path: str,
                   *, limit: int = SMALL_FILE_LIMIT) -> bytes | None:
        """A small file's bytes, or None if the revision has no such file (a missing
        repository or revision is a ``HubNotFoundError``)."""
        from huggingface_hub.utils import build_hf_headers, get_session, hf_raise_for_status

        url = self.url(repo_id, repo_type, revision, path)

        def get() -> bytes | None:
            from huggingface_hub.errors import RemoteEntryNotFoundError

            with get_session().stream("GET", url, headers=build_hf_headers(token=self.token),
                                      follow_redirects=True) as resp:
                try:
                    hf_raise_for_status(resp)
                except RemoteEntryNotFoundError:
                    return None
                body = bytearray()
                for block in resp.iter_bytes(1 << 16):  # never more than the limit in memory
                    body += block
                    if len(body) > limit:
                        raise HubError(f"{repo_id}@{revision}/{path}: more than the {limit} "
                                       "bytes expected of a small file")
                return bytes(body)

        return self.call(f"download {repo_id}@{revision}/{path}", get)

    def download(self, repo_id: str, repo_type: str, revision: str, path: str, dest: Path,
                 *, progress: Callable[[int], None] | None = None) -> tuple[int, str]:
        """Stream a file to ``dest``; returns (size, sha256) of what was written."""
        from huggingface_hub.utils import build_hf_headers, get_session, hf_raise_for_status

        url = self.url(repo_id, repo_type, revision, path)

        def stream() -> tuple[int, str]:
            digest, size = hashlib.sha256(), 0
            with get_session().stream("GET", url, headers=build_hf_headers(token=self.token),
                                      follow_redirects=True) as resp:
                hf_raise_for_status(resp)
                with open(dest, "wb") as fh:
                    for block in resp.iter_bytes(1 << 20):
                        fh.write(block)
                        digest.update(block)
                        size += len(block)
                        if progress is not None:
                            progress(len(block))
            return size, digest.hexdigest()

        return self.call(f"download {repo_id}@{revision}/{path}", stream)


def _retry_after(exc: BaseException) -> float | None:
    response = getattr(exc, "response", None)
    try:
        value = response.headers.get("Retry-After") if response is not None else None
        return min(float(value), 30.0) if value is not None else None
    except (TypeError, ValueError):
        return None


def connect(*, endpoint: str | None = None, token: str | None = None, xet: bool = True,
            retries: int = 4, backoff: float = 0.5, progress_bars: bool = False) -> HubClient:
    """A client for ``endpoint`` (default https://huggingface.co). ``token`` None uses the
    huggingface_hub login (``hf auth login``); ``xet`` False uploads through LFS (needed by
    servers without Xet); ``progress_bars`` shows huggingface_hub's upload bars."""
    return HubClient(endpoint=endpoint, token=token, xet=xet, retries=retries, backoff=backoff,
                     progress_bars=progress_bars)
