"""A HOSTILE Hub for tests: rules on the Hub test server (``server.py``, same process, 127.0.0.1)
that answer chosen requests the way an attacker's or a broken server would.

    hostile = HostileHub(hub_server)
    hostile.when("GET", "/tree/ckpt_001", hang)                   # accepts, never answers
    hostile.when("GET", "/resolve/main/manifest.json", drip())    # a byte every 2 s
    hostile.when("GET", "/resolve/ckpt_001/model", endless())     # a body without end
    hostile.when("GET", "/tree/main", rewrite(lambda d: ...))     # a malformed listing
    hostile.when("GET", "/resolve/ckpt_001/config.json", serve(b"other bytes"))

Every answer that would run forever ends when the server stops (``server.stopping``), so a
test's fixture that stops the server ends them; ``sent`` counts the bytes they wrote.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass

Answer = Callable[[object], None]  # given the request handler


@dataclass
class _Rule:
    method: str
    part: str
    answer: Answer
    times: int | None


class HostileHub:
    """Rules on a running ``HubTestServer``: the first rule whose method matches and whose
    ``part`` is in the request path answers it (``times`` None: every time)."""

    def __init__(self, server) -> None:
        self.server = server
        self.rules: list[_Rule] = []
        self.hits: list[str] = []
        self.sent = 0
        self._lock = threading.Lock()
        server.intercept = self._pick

    def when(self, method: str, part: str, answer: Answer, *, times: int | None = None
             ) -> HostileHub:
        self.rules.append(_Rule(method, part, answer, times))
        return self

    def _pick(self, method: str, path: str) -> Answer | None:
        with self._lock:
            for rule in self.rules:
                if rule.method == method and rule.part in path and rule.times != 0:
                    if rule.times is not None:
                        rule.times -= 1
                    self.hits.append(path)
                    hostile = self

                    def run(handler, answer=rule.answer, hostile=hostile):
                        handler.hostile = hostile
                        answer(handler)

                    return run
        return None

    def count(self, n: int) -> None:
        with self._lock:
            self.sent += n


def _write(handler, data: bytes) -> bool:
    """Write ``data``; False when the client has gone."""
    try:
        handler.wfile.write(data)
        handler.wfile.flush()
    except OSError:
        return False
    handler.hostile.count(len(data))
    return True


def hang(handler) -> None:
    """Accept the request and never answer (until the server stops)."""
    handler.hub.stopping.wait()
    handler.close_connection = True


def drip(every: float = 2.0, *, in_headers: bool = False) -> Answer:
    """Answer 200 and then one byte every ``every`` seconds, forever: of the body (a large
    Content-Length announced) or, ``in_headers``, of a header that never ends."""

    def answer(handler) -> None:
        head = b"HTTP/1.1 200 OK\r\n"
        if not in_headers:
            head += b"Content-Type: application/json\r\nContent-Length: 1000000000\r\n\r\n"
        ok = _write(handler, head + (b"X-Drip: " if in_headers else b""))
        while ok and not handler.hub.stopping.wait(every):
            ok = _write(handler, b"a" if in_headers else b"[")
        handler.close_connection = True

    return answer


def endless(block: int = 1 << 16, *, cap: int | None = None) -> Answer:
    """Answer 200 with a body that never ends (no Content-Length, the connection closed at
    its end, which never comes), as fast as the client reads; ``cap`` ends it after that many
    bytes all the same (a test that must not fill the disk of a client that reads on)."""

    def answer(handler) -> None:
        head = (b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
                b"Connection: close\r\n\r\n")
        ok, chunk, sent = _write(handler, head), b"\0" * block, 0
        while ok and not handler.hub.stopping.is_set() and (cap is None or sent < cap):
            ok = _write(handler, chunk)
            sent += block
        handler.close_connection = True

    return answer


def rewrite(change: Callable[[object], object]) -> Answer:
    """The server's own JSON answer, changed by ``change`` (given the parsed JSON, returning
    the JSON to send)."""

    def answer(handler) -> None:
        status, headers, out = handler.answer(handler.command)
        out = json.dumps(change(json.loads(out))).encode()
        handler.send(handler.command, status, {**headers, "Content-Type": "application/json"},
                     out)

    return answer


def serve(data: bytes) -> Answer:
    """Answer 200 with ``data`` whatever the listing says the file holds (other bytes under a
    known blob id)."""

    def answer(handler) -> None:
        status, headers, _ = handler.answer(handler.command)
        handler.send(handler.command, status, headers, data)

    return answer


def publish(server, release, repo: str) -> None:
    """Put the release folder ``release`` on ``server`` where the Hub layout places each file
    (straight into the server's state, one commit per branch, no push): what a push of it
    leaves on the Hub, whatever push itself checks."""
    import sys
    from pathlib import Path

    from llm360.registry.hub import MODEL, layout
    from llm360.registry.manifest.serialize import manifest_from_bytes

    release = Path(release)
    manifest = manifest_from_bytes((release / "manifest.json").read_bytes())
    artifacts = {a.path for a in manifest.artifacts}
    own = [p.relative_to(release).as_posix() for p in sorted(release.rglob("*"))
           if p.is_file() and p.relative_to(release).as_posix() not in artifacts]
    module = sys.modules[type(server).__module__]
    with server.lock:
        for (kind, branch), placed in layout(manifest, own).items():
            repo_id = repo if kind == MODEL else f"{repo}-data"
            target = server.repos.setdefault((kind, repo_id), module.Repo())
            tree = {".gitattributes": server.store(".gitattributes", module.GITATTRIBUTES,
                                                   lfs=False)}
            for hub, rel in placed.items():
                tree[hub] = server.store(hub, (release / rel).read_bytes())
            server.commit(target, branch, tree, f"publish {branch}")
