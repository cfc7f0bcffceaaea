"""The one place llm360 talks to huggingface_hub: a client bound to an endpoint and a token,
every call mapped to a typed ``HubError`` and retried with backoff when the failure is transient
(429, 5xx, timeouts, dropped connections).

Every request is bounded in time by the client's ``HubTimeouts`` (``_http``: connect and read
timeouts, a deadline per call and its retries, moved on while bytes move). Writing goes through
huggingface_hub's ``HfApi`` (its shared HTTP client bounded the same way); reading (refs, tree
listings, files) through an HTTP client of llm360's whose answers are read only up to their
expected size and checked field by field (``_listing``).
"""

from __future__ import annotations

import functools
import hashlib
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import quote, urljoin, urlsplit

from llm360.errors import (
    HubAuthError,
    HubConflictError,
    HubConnectionError,
    HubError,
    HubNotFoundError,
    HubRateLimitError,
    HubServerError,
    Llm360Error,
    VerificationError,
)
from llm360.registry.hub import _http
from llm360.registry.hub._http import HubTimeouts
from llm360.registry.hub._listing import RemoteFile, malformed, parse_refs, parse_tree_page

if TYPE_CHECKING:
    import httpx2

__all__ = ["HubClient", "HubTimeouts", "RemoteFile", "connect", "hub_error",
           "DEFAULT_ENDPOINT"]

DEFAULT_ENDPOINT = "https://huggingface.co"
T = TypeVar("T")
#: a regular (non-LFS) file above this size is not downloaded to learn its sha256
SMALL_FILE_LIMIT = 10 * 1024 * 1024
#: the most of an HTTP error answer read (for its message)
MAX_ERROR_BODY = 64 * 1024
#: the largest page of a tree listing or refs read (the Hub's are ~0.3 MB: 1,000 entries)
MAX_LISTING_PAGE = 64 * 1024 * 1024
#: the most files a tree listing may hold
MAX_TREE_FILES = 1_000_000


def hub_error(exc: BaseException, what: str) -> HubError:
    """The typed error for an exception raised by huggingface_hub (or the HTTP layer); an
    error huggingface_hub wraps (an LFS upload's ``RuntimeError``) is read for its cause."""
    import httpx2
    from huggingface_hub.errors import HfHubHTTPError, OfflineModeIsEnabled

    if isinstance(exc, HubError):
        return exc
    exc = _cause(exc, (HfHubHTTPError, OfflineModeIsEnabled, httpx2.TransportError, TimeoutError,
                       ConnectionError))
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
    if isinstance(exc, (httpx2.TimeoutException, TimeoutError)):
        return HubConnectionError(f"{what}: timed out ({exc})", hint=(
            "the Hub endpoint did not answer in time: check the network and --endpoint / "
            "HF_ENDPOINT, or rerun later"))
    if isinstance(exc, (httpx2.TransportError, ConnectionError)):
        return HubConnectionError(f"{what}: {type(exc).__name__}: {exc}", hint=(
            "no answer from the Hub endpoint: check the network and --endpoint / HF_ENDPOINT"))
    return HubError(f"{what}: {type(exc).__name__}: {exc}")


def _cause(exc: BaseException, kinds: tuple[type[BaseException], ...]) -> BaseException:
    """The first of ``exc`` and the exceptions it was raised from that is one of ``kinds``,
    else ``exc``."""
    seen: set[int] = set()
    cause: BaseException | None = exc
    while cause is not None and id(cause) not in seen:
        if isinstance(cause, kinds):
            return cause
        seen.add(id(cause))
        cause = cause.__cause__ or cause.__context__
    return exc


class HubClient:
    """huggingface_hub's ``HfApi`` bound to ``endpoint`` and ``token`` (for writing; through
    Xet unless ``xet`` is False), and the reading the verifier and pull do (refs, tree
    listings, files); every request bounded by ``timeouts``, every failure a typed error."""

    def __init__(self, *, endpoint: str | None = None, token: str | None = None,
                 xet: bool = True, retries: int = 4, backoff: float = 0.5,
                 progress_bars: bool = True, timeouts: HubTimeouts = HubTimeouts()) -> None:
        from huggingface_hub import HfApi
        from huggingface_hub.utils.tqdm import disable_progress_bars, enable_progress_bars

        self.endpoint = (endpoint or DEFAULT_ENDPOINT).rstrip("/")
        self.token = token
        self.xet = xet
        self.retries, self.backoff, self.timeouts = retries, backoff, timeouts
        _http.bound_hf_session(timeouts)
        (enable_progress_bars if progress_bars else disable_progress_bars)()
        self.api = HfApi(endpoint=self.endpoint, token=token or None,
                         library_name="llm360")
        self._http: httpx2.Client | None = None
        self._http_lock = threading.Lock()

    def call(self, what: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """``fn(*args, **kwargs)``; transient failures are retried with backoff, all within
        one deadline (``timeouts``; the caller's, if it set one), all mapped to HubError;
        llm360's own errors (a malformed answer, a body past its size) pass as they are."""
        if not _http.scoped():
            with _http.bounded(self.timeouts):
                return self.call(what, fn, *args, **kwargs)
        for attempt in range(self.retries + 1):
            try:
                return fn(*args, **kwargs)
            except Exception as exc:  # noqa: BLE001 - mapped to a typed error below
                if isinstance(exc, Llm360Error) and not isinstance(exc, HubError):
                    raise
                err = hub_error(exc, what)
                remaining = _http.left()
                if not err.transient or attempt == self.retries \
                        or (remaining is not None and remaining <= 0):
                    if err is exc:
                        raise
                    raise err from exc
                retry_after = _retry_after(exc)
                wait = retry_after if retry_after is not None else self.backoff * (2 ** attempt)
                time.sleep(wait if remaining is None else min(wait, remaining))
        raise AssertionError("unreachable")

    # ---- reading (bounded in time: HubTimeouts) -------------------------------------------
    def _read(self, what: str, fn: Callable[[], T]) -> T:
        """``fn()`` with its retries within a deadline of its own (``timeouts``)."""
        with _http.bounded(self.timeouts):
            return self.call(what, fn)

    @property
    def http(self) -> httpx2.Client:
        """The HTTP client of the read path (created on first use)."""
        with self._http_lock:
            if self._http is None:
                self._http = _http.http_client(self.timeouts)
            return self._http

    def close(self) -> None:
        """Close the read path's connections (the client opens new ones if used again)."""
        with self._http_lock:
            if self._http is not None:
                self._http.close()
                self._http = None

    @contextmanager
    def _get(self, url: str) -> Iterator[httpx2.Response]:
        """A streamed GET of ``url``; an HTTP error status raises huggingface_hub's typed
        error (its body read up to ``MAX_ERROR_BODY``)."""
        # huggingface_hub.utils re-exports lazily (its __all__ is computed): mypy sees no export
        from huggingface_hub.utils import build_hf_headers  # type: ignore[attr-defined]

        headers = build_hf_headers(token=self.token, library_name="llm360")
        with self.http.stream("GET", url, headers=headers) as resp:
            if resp.status_code >= 400:
                _raise_for_status(resp)
            yield resp

    def _json(self, url: str, where: str) -> tuple[Any, str | None]:
        """(the JSON document at ``url``, the URL of the next page or None)."""
        from llm360.registry.manifest.serialize import parse_json

        with self._get(url) as resp:
            raw = self._body(resp, MAX_LISTING_PAGE, where)
            link = resp.links.get("next", {}).get("url")
        try:
            data = parse_json(raw, source=where)
        except Llm360Error as exc:
            raise malformed(where, exc.message.removeprefix(f"{where}: ")) from None
        if link is not None:
            link = urljoin(url, link)
            if urlsplit(link)[:2] != urlsplit(url)[:2]:
                raise malformed(where, f"its next page {link[:80]!r} is on another server")
        return data, link

    def refs(self, repo_id: str, repo_type: str) -> tuple[dict[str, str], dict[str, str]]:
        """({branch: commit}, {tag: commit})."""
        where = f"hub:{repo_id} refs"
        url = f"{self.endpoint}/api/{repo_type}s/{repo_id}/refs"
        data, _ = self._read(f"list the refs of {repo_id}", lambda: self._json(url, where))
        return parse_refs(data, where)

    def tree(self, repo_id: str, repo_type: str, revision: str) -> dict[str, RemoteFile]:
        """Every file at ``revision`` with size, git blob id and (LFS/Xet) sha256, read page
        by page (at most ``MAX_TREE_FILES`` files)."""
        where = f"hub:{repo_id}@{revision}"
        url: str | None = (f"{self.endpoint}/api/{repo_type}s/{repo_id}/tree/"
                           f"{quote(revision, safe='')}?recursive=true&expand=false")
        out: dict[str, RemoteFile] = {}
        seen: set[str] = set()
        while url is not None:
            if url in seen:
                raise malformed(where, "its pages link back to an earlier page")
            seen.add(url)
            data, url = self._read(f"list {repo_id}@{revision}",
                                   functools.partial(self._json, url, where))
            for item in parse_tree_page(data, where):
                if item.path in out:
                    raise malformed(where, f"{item.path} is listed twice")
                out[item.path] = item
            if len(out) > MAX_TREE_FILES:
                raise malformed(where, f"more than {MAX_TREE_FILES} files")
        return out

    def url(self, repo_id: str, repo_type: str, revision: str, path: str) -> str:
        from huggingface_hub import hf_hub_url

        return hf_hub_url(repo_id, path, repo_type=repo_type, revision=revision,
                          endpoint=self.endpoint)

    def read_bytes(self, repo_id: str, repo_type: str, revision: str, path: str,
                   *, limit: int = SMALL_FILE_LIMIT) -> bytes | None:
        """A small file's bytes, or None if the revision has no such file (a missing
        repository or revision is a ``HubNotFoundError``); more than ``limit`` bytes is a
        ``VerificationError`` (never more than that is read)."""
        url = self.url(repo_id, repo_type, revision, path)
        where = f"hub:{repo_id}@{revision}/{path}"

        def get() -> bytes | None:
            from huggingface_hub.errors import RemoteEntryNotFoundError

            try:
                with self._get(url) as resp:
                    return self._body(resp, limit, where)
            except RemoteEntryNotFoundError:
                return None

        return self._read(f"download {repo_id}@{revision}/{path}", get)

    def download(self, repo_id: str, repo_type: str, revision: str, path: str, dest: Path,
                 *, limit: int, progress: Callable[[int], None] | None = None
                 ) -> tuple[int, str]:
        """Stream a file to ``dest``; returns (size, sha256) of what was written. More than
        ``limit`` bytes (its signed or listed size) is a ``VerificationError``: reading stops
        there; ``_blocks`` says how long it may take."""
        url = self.url(repo_id, repo_type, revision, path)
        where = f"hub:{repo_id}@{revision}/{path}"

        def stream() -> tuple[int, str]:
            digest, size = hashlib.sha256(), 0
            with self._get(url) as resp, open(dest, "wb") as fh:
                for block in self._blocks(resp, limit, where):
                    fh.write(block)
                    digest.update(block)
                    size += len(block)
                    if progress is not None:
                        progress(len(block))
            return size, digest.hexdigest()

        return self._read(f"download {repo_id}@{revision}/{path}", stream)

    def _blocks(self, resp: httpx2.Response, limit: int, where: str) -> Iterator[bytes]:
        """The body of ``resp``, block by block: never past ``limit`` bytes (a
        ``VerificationError``: reading stops there). A body that keeps coming at
        ``timeouts.min_bytes`` per ``timeouts.deadline`` is read to its end, one that stalls or
        drips fails (``_http``)."""
        size = 0
        for block in resp.iter_bytes():
            size += len(block)
            if size > limit:
                raise _too_large(where, limit)
            yield block

    def _body(self, resp: httpx2.Response, limit: int, where: str) -> bytes:
        """The body of ``resp`` (at most ``limit`` bytes, as ``_blocks`` reads it)."""
        return b"".join(self._blocks(resp, limit, where))


def _too_large(where: str, limit: int) -> VerificationError:
    return VerificationError(f"{where}: the Hub serves more than the {limit} bytes expected; "
                             "reading stopped there", hint=(
                                 "the Hub serves other bytes than were signed or listed"))


def _raise_for_status(resp: httpx2.Response) -> None:
    """huggingface_hub's typed error for an HTTP error answer, its body cut at
    ``MAX_ERROR_BODY`` (a hostile error page is not read to its end)."""
    import httpx2
    from huggingface_hub import hf_raise_for_status

    body = bytearray()
    for block in resp.iter_bytes():
        body += block
        if len(body) >= MAX_ERROR_BODY:
            break
    headers = {k: v for k, v in resp.headers.items()
               if k.lower() not in ("content-encoding", "content-length", "transfer-encoding")}
    hf_raise_for_status(httpx2.Response(resp.status_code, headers=headers,
                                        content=bytes(body[:MAX_ERROR_BODY]),
                                        request=resp.request))
    raise HubError(f"{resp.request.url}: HTTP {resp.status_code}", status=resp.status_code)


def _retry_after(exc: BaseException) -> float | None:
    response = getattr(exc, "response", None)
    try:
        value = response.headers.get("Retry-After") if response is not None else None
        return min(float(value), 30.0) if value is not None else None
    except (TypeError, ValueError):
        return None


def connect(*, endpoint: str | None = None, token: str | None = None, xet: bool = True,
            retries: int = 4, backoff: float = 0.5, progress_bars: bool = False,
            timeouts: HubTimeouts = HubTimeouts()) -> HubClient:
    """A client for ``endpoint`` (default https://huggingface.co). ``token`` None uses the
    huggingface_hub login (``hf auth login``); ``xet`` False uploads through LFS (needed by
    servers without Xet; push also finds that out); ``progress_bars`` shows huggingface_hub's
    upload bars; ``timeouts`` bound every request to the Hub in time (huggingface_hub's shared
    HTTP client follows the latest client's timeouts outside llm360's calls)."""
    return HubClient(endpoint=endpoint, token=token, xet=xet, retries=retries, backoff=backoff,
                     progress_bars=progress_bars, timeouts=timeouts)
