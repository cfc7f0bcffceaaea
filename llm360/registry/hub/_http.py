"""HTTP for reading the Hub, bounded in time: a connect timeout, a read timeout (the longest
silence tolerated), and a deadline that every socket operation of a request checks, so that a
server that never answers, or drips a byte every few seconds into the status line, the headers
or the body, fails the request in bounded time.

The deadline is per thread (``deadline(seconds)`` around a request and its retries; a download
moves it on with ``extend`` as long as bytes keep arriving at a minimal rate). It is enforced
below httpx2, in the network streams of the client's connection pools: the one place every
byte read passes, headers included.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

__all__ = ["HubTimeouts", "deadline", "extend", "http_client"]


@dataclass(frozen=True, kw_only=True)
class HubTimeouts:
    """How long reading the Hub may wait, in seconds.

    ``connect``: to open a connection; ``read``: the longest silence within an answer;
    ``deadline``: a request with its retries (a listing, a small file, the head of a download)
    is answered within it, and a download then delivers each further ``min_bytes`` within it.
    """

    connect: float = 10.0
    read: float = 60.0
    deadline: float = 120.0
    min_bytes: int = 1 << 20


_state = threading.local()


def _end() -> float | None:
    return getattr(_state, "end", None)


@contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Every socket operation of this thread must be done ``seconds`` from now."""
    before = _end()
    _state.end = time.monotonic() + seconds
    try:
        yield
    finally:
        _state.end = before


def extend(seconds: float) -> None:
    """Move this thread's deadline to ``seconds`` from now (a download that made progress)."""
    if _end() is not None:
        _state.end = time.monotonic() + seconds


def left() -> float | None:
    """Seconds to this thread's deadline (None: no deadline)."""
    end = _end()
    return None if end is None else end - time.monotonic()


def _bounded(timeout: float | None, error: type[Exception]) -> float | None:
    remaining = left()
    if remaining is None:
        return timeout
    if remaining <= 0:
        raise error("no complete answer from the Hub before the deadline")
    return remaining if timeout is None else min(timeout, remaining)


@functools.cache
def _backend_class():
    import httpcore2

    class DeadlineStream(httpcore2.NetworkStream):
        """A network stream whose reads and writes end at the thread's deadline."""

        def __init__(self, inner) -> None:
            self._inner = inner

        def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
            return self._inner.read(max_bytes, _bounded(timeout, httpcore2.ReadTimeout))

        def write(self, buffer: bytes, timeout: float | None = None) -> None:
            self._inner.write(buffer, _bounded(timeout, httpcore2.WriteTimeout))

        def close(self) -> None:
            self._inner.close()

        def start_tls(self, ssl_context, server_hostname=None, timeout=None):
            return DeadlineStream(self._inner.start_tls(
                ssl_context, server_hostname, _bounded(timeout, httpcore2.ConnectTimeout)))

        def get_extra_info(self, info: str):
            return self._inner.get_extra_info(info)

    class DeadlineBackend(httpcore2.NetworkBackend):
        """Connections whose streams end at the thread's deadline."""

        def __init__(self, inner) -> None:
            self._inner = inner

        def connect_tcp(self, host, port, timeout=None, local_address=None,
                        socket_options=None):
            return DeadlineStream(self._inner.connect_tcp(
                host, port, _bounded(timeout, httpcore2.ConnectTimeout), local_address,
                socket_options))

        def connect_unix_socket(self, path, timeout=None, socket_options=None):
            return DeadlineStream(self._inner.connect_unix_socket(
                path, _bounded(timeout, httpcore2.ConnectTimeout), socket_options))

        def sleep(self, seconds: float) -> None:
            self._inner.sleep(seconds)

    return DeadlineBackend


def http_client(timeouts: HubTimeouts):
    """An ``httpx2.Client`` (proxies from the environment, redirects followed) whose every
    connection is bounded by ``timeouts`` and the thread's deadline."""
    import httpx2

    client = httpx2.Client(
        timeout=httpx2.Timeout(connect=timeouts.connect, read=timeouts.read,
                               write=timeouts.read, pool=timeouts.connect),
        follow_redirects=True, trust_env=True)
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
