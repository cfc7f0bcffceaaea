"""HTTP to the Hub, bounded in time: a connect timeout, a read timeout (the longest silence
tolerated), and a deadline that every socket operation checks, so that a server that never
answers, or drips a byte every few seconds into the status line, the headers or the body,
fails in bounded time; a transfer that moves ``min_bytes`` within the deadline moves it on.

The deadline is per thread: ``bounded(timeouts)`` around a call and its retries (the reads
of verify and pull, each write of push). A request through huggingface_hub's shared client
made outside such a scope (its upload workers, its Xet token refreshes) gets a deadline of
its own from the client's timeouts. Both are enforced below httpx2, in the network streams of
the connection pools: the one place every byte read or written passes, headers included.
Past its deadline a request fails with ``DeadlineExceeded`` (a ``TimeoutError`` that nothing
below retries: huggingface_hub's own backoff does not start it again).
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:  # imported when a client is made
    import ssl

    import httpcore2
    import httpx2

__all__ = ["HubTimeouts", "DeadlineExceeded", "bounded", "scoped", "left", "http_client",
           "bound_hf_session"]


@dataclass(frozen=True, kw_only=True)
class HubTimeouts:
    """How long a request to the Hub may wait, in seconds.

    ``connect``: to open a connection; ``read``: the longest silence within an answer (and
    the longest wait to send); ``deadline``: a call with its retries (a listing, a small file,
    a commit, the head of a transfer) is done within it, and a transfer (a download, an upload)
    then moves each further ``min_bytes`` within it.
    """

    connect: float = 10.0
    read: float = 60.0
    deadline: float = 120.0
    min_bytes: int = 1 << 20


class DeadlineExceeded(TimeoutError):
    """A request went on past its deadline."""


class _Clock:
    """A deadline that moves ``timeouts.deadline`` on with each ``timeouts.min_bytes`` moved."""

    __slots__ = ("timeouts", "end", "moved")

    def __init__(self, timeouts: HubTimeouts) -> None:
        self.timeouts, self.moved = timeouts, 0
        self.end = time.monotonic() + timeouts.deadline

    def progress(self, n: int) -> None:
        self.moved += n
        if self.moved >= self.timeouts.min_bytes:
            self.moved = 0
            self.end = time.monotonic() + self.timeouts.deadline


_state = threading.local()


def _clock() -> _Clock | None:
    """This thread's scope, else its current request through huggingface_hub's client."""
    return getattr(_state, "scope", None) or getattr(_state, "request", None)


@contextmanager
def bounded(timeouts: HubTimeouts) -> Iterator[None]:
    """Every socket operation of this thread is bounded by ``timeouts``, and done by a
    deadline ``timeouts.deadline`` from now (moved on as bytes move)."""
    before = getattr(_state, "scope", None)
    _state.scope = _Clock(timeouts)
    try:
        yield
    finally:
        _state.scope = before


def scoped() -> bool:
    """Whether this thread is within ``bounded``."""
    return getattr(_state, "scope", None) is not None


def left() -> float | None:
    """Seconds to the deadline of this thread's scope (None: not within ``bounded``)."""
    scope = getattr(_state, "scope", None)
    return None if scope is None else scope.end - time.monotonic()


_T = TypeVar("_T")


def _limited(op: Callable[[float | None], _T], timeout: float | None,
             connect: bool = False) -> _T:
    """``op(t)``, ``t`` being ``timeout`` capped by this thread's timeouts and what is left to
    its deadline; a timeout at the deadline is ``DeadlineExceeded``."""
    import httpcore2

    clock = _clock()
    if clock is None:
        return op(timeout)
    remaining = clock.end - time.monotonic()
    if remaining <= 0:
        raise DeadlineExceeded("no complete answer from the Hub before the deadline")
    cap = min(clock.timeouts.connect if connect else clock.timeouts.read,
              timeout if timeout is not None else remaining)
    try:
        return op(min(cap, remaining))
    except httpcore2.TimeoutException:
        if remaining <= cap:
            raise DeadlineExceeded("no complete answer from the Hub before the deadline") \
                from None
        raise


def _moved(n: int) -> None:
    clock = _clock()
    if clock is not None:
        clock.progress(n)


@functools.cache
def _backend_class() -> Callable[[httpcore2.NetworkBackend], httpcore2.NetworkBackend]:
    import httpcore2

    class DeadlineStream(httpcore2.NetworkStream):
        """A network stream whose reads and writes end at the thread's deadline."""

        def __init__(self, inner: httpcore2.NetworkStream) -> None:
            self._inner = inner

        def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
            data = _limited(lambda t: self._inner.read(max_bytes, t), timeout)
            _moved(len(data))
            return data

        def write(self, buffer: bytes, timeout: float | None = None) -> None:
            _limited(lambda t: self._inner.write(buffer, t), timeout)
            _moved(len(buffer))

        def close(self) -> None:
            self._inner.close()

        def start_tls(self, ssl_context: ssl.SSLContext, server_hostname: str | None = None,
                      timeout: float | None = None) -> httpcore2.NetworkStream:
            return DeadlineStream(_limited(
                lambda t: self._inner.start_tls(ssl_context, server_hostname, t), timeout,
                connect=True))

        def get_extra_info(self, info: str) -> Any:
            return self._inner.get_extra_info(info)

    class DeadlineBackend(httpcore2.NetworkBackend):
        """Connections whose streams end at the thread's deadline."""

        def __init__(self, inner: httpcore2.NetworkBackend) -> None:
            self._inner = inner

        def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                        local_address: str | None = None,
                        socket_options: Iterable[httpcore2.SOCKET_OPTION] | None = None
                        ) -> httpcore2.NetworkStream:
            return DeadlineStream(_limited(
                lambda t: self._inner.connect_tcp(host, port, t, local_address,
                                                  socket_options), timeout, connect=True))

        def connect_unix_socket(self, path: str, timeout: float | None = None,
                                socket_options: Iterable[httpcore2.SOCKET_OPTION] | None = None
                                ) -> httpcore2.NetworkStream:
            return DeadlineStream(_limited(
                lambda t: self._inner.connect_unix_socket(path, t, socket_options), timeout,
                connect=True))

        def sleep(self, seconds: float) -> None:
            self._inner.sleep(seconds)

    return DeadlineBackend


def _bound(client: httpx2.Client, timeouts: HubTimeouts) -> httpx2.Client:
    """``client`` (an ``httpx2.Client``) with ``timeouts`` and every connection bounded by
    the thread's deadline."""
    import httpx2

    client.timeout = httpx2.Timeout(connect=timeouts.connect, read=timeouts.read,
                                    write=timeouts.read, pool=timeouts.connect)
    backend = _backend_class()
    transports = [client._transport, *client._mounts.values()]  # noqa: SLF001
    for transport in transports:
        pool = getattr(transport, "_pool", None)
        if pool is None:
            continue
        # httpcore2 reads the pool's backend for each new connection: wrap it once
        if not hasattr(pool, "_network_backend"):  # pragma: no cover - httpcore2 changed
            raise AssertionError("httpcore2's connection pool has no _network_backend")
        pool._network_backend = backend(pool._network_backend)  # noqa: SLF001
    return client


def http_client(timeouts: HubTimeouts) -> httpx2.Client:
    """An ``httpx2.Client`` (proxies from the environment, redirects followed) whose every
    connection is bounded by ``timeouts`` and the thread's deadline."""
    import httpx2

    return _bound(httpx2.Client(follow_redirects=True, trust_env=True), timeouts)


class _HfSession:
    """huggingface_hub's client factory before ours (``base``) and the ``timeouts`` ours adds."""

    base: Callable[[], httpx2.Client] | None = None
    timeouts: HubTimeouts | None = None


_session_lock = threading.Lock()
_session = _HfSession()


def bound_hf_session(timeouts: HubTimeouts) -> None:
    """Bound huggingface_hub's shared HTTP client (every ``HfApi`` call: push's repository,
    preupload, LFS and commit requests) by ``timeouts`` and the thread's deadline; a request
    made outside ``bounded`` gets a deadline of its own. The client huggingface_hub's factory
    makes (its default, or the one an application set) is kept, with these bounds added;
    set again only when ``timeouts`` change (that closes huggingface_hub's open connections)."""
    from huggingface_hub import set_client_factory
    from huggingface_hub.utils import _http as hf_http

    with _session_lock:
        if _session.timeouts == timeouts:
            return
        if _session.base is None:  # the factory in place, else hf's default
            _session.base = getattr(hf_http, "_GLOBAL_CLIENT_FACTORY",
                                    hf_http.default_client_factory)
        base = _session.base

        def start(_request: httpx2.Request) -> None:  # an httpx2 request hook
            if not scoped():
                _state.request = _Clock(timeouts)

        def factory() -> httpx2.Client:
            client = _bound(base(), timeouts)
            client.event_hooks = {**client.event_hooks,
                                  "request": [start, *client.event_hooks["request"]]}
            return client

        set_client_factory(factory)
        _session.timeouts = timeouts
