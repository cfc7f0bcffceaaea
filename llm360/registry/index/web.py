"""``registry serve``: a read-only web view of the registry, server-rendered HTML.

Pages: ``/`` (releases and their verification state, a chunk search), ``/release/ID``
(checkpoints, evaluation curves and the lineage graph across releases as inline SVG, the signer
and the verification history), ``/checkpoint/ID`` (chunks, metrics, what derives from it and
what it derives from) and ``/chunk?q=SHA256`` (who trained on a chunk).

Every value is escaped by the templates (jinja2 autoescape, ``StrictUndefined``): release
names, metadata and metric names are hostile input. Pages carry a Content-Security-Policy with
no script source at all. The server (stdlib, a thread per request) answers GET and HEAD only
and listens on 127.0.0.1 unless told otherwise.
"""

from __future__ import annotations

import importlib.resources
import re
from collections.abc import Callable, Iterable
from functools import lru_cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlsplit

from llm360.errors import Llm360Error
from llm360.registry.index import queries
from llm360.registry.index._drawing import eval_charts, lineage_graph
from llm360.registry.index.records import CheckpointRef, ReleaseRef
from llm360.registry.index.store import Store

if TYPE_CHECKING:
    import jinja2

__all__ = ["make_server", "render_page"]

_PACKAGE = "llm360.templates"
_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
                               "form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
_ROUTE = re.compile(r"/(release|checkpoint)/([0-9]{1,18})")


class NotFound(Exception):
    """A page that does not exist (404)."""


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    """The HTML templates' environment: autoescape on, ``StrictUndefined``."""
    import jinja2

    def load(name: str) -> tuple[str, None, Callable[[], bool]] | None:
        res = importlib.resources.files(_PACKAGE).joinpath(name)
        if not res.is_file():
            return None
        return res.read_text("utf-8"), None, lambda: True

    return jinja2.Environment(loader=jinja2.FunctionLoader(load), autoescape=True,
                              undefined=jinja2.StrictUndefined, trim_blocks=True,
                              lstrip_blocks=True)


def _page(name: str, **view: object) -> str:
    return environment().get_template(f"registry_{name}.html.j2").render(**view)


def render_page(store: Store, path: str, query: str = "") -> tuple[int, str]:
    """(HTTP status, HTML) of the page at ``path`` (``query``: the URL's query string)."""
    try:
        return 200, _render(store, path, parse_qs(query))
    except NotFound:
        return 404, _page("error", title="Not found", message=f"no page at {path}")
    except Llm360Error as exc:
        return 400, _page("error", title="Bad request", message=exc.message)


def _render(store: Store, path: str, params: dict[str, list[str]]) -> str:
    if path in ("/", "/index.html"):
        return _page("list", title="Releases", releases=queries.list_releases(store))
    if path == "/chunk":
        q = (params.get("q") or [""])[0].strip()
        if not q:
            return _page("chunk", title="Chunk lookup", q="", result=None, derived=())
        result = queries.chunk(store, q)
        return _page("chunk", title=f"Chunk {q[:16]}", q=q, result=result,
                     derived=_by_release(result.derived))
    match = _ROUTE.fullmatch(path)
    if match is None:
        raise NotFound(path)
    kind, ident = match.group(1), int(match.group(2))
    try:
        if kind == "release":
            detail = queries.show_release(store, ident)
            rid = detail.summary.release.id
            return _page("release", title=detail.summary.release.name, r=detail,
                         graph=lineage_graph(rid, detail.checkpoints,
                                             queries.cross_edges(store, rid)),
                         charts=eval_charts(detail.checkpoints))
        ckpt = queries.show_checkpoint(store, ident)
    except Llm360Error:
        raise NotFound(path) from None
    return _page("checkpoint", title=ckpt.info.checkpoint.label, c=ckpt,
                 derived=_by_release(ckpt.derived), ancestors=_by_release(ckpt.ancestors))


def _by_release(refs: Iterable[CheckpointRef]
                ) -> list[tuple[ReleaseRef, list[CheckpointRef]]]:
    """Checkpoints grouped by release, in order: [(release ref, [checkpoint refs])]."""
    groups: dict[int, tuple[ReleaseRef, list[CheckpointRef]]] = {}
    for ref in refs:
        groups.setdefault(ref.release.id, (ref.release, []))[1].append(ref)
    return list(groups.values())


class _Handler(BaseHTTPRequestHandler):
    server_version = "llm360-registry"
    sys_version = ""
    store: Store

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self._answer(send_body=True)

    def do_HEAD(self) -> None:  # noqa: N802
        self._answer(send_body=False)

    def _answer(self, *, send_body: bool) -> None:
        url = urlsplit(self.path)
        try:
            status, html = render_page(self.store, url.path, url.query)
        except Exception:  # noqa: BLE001 - one page fails, the server goes on
            status, html = 500, _page("error", title="Error",
                                      message="the page could not be rendered")
        body = html.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        for name, value in _HEADERS.items():
            self.send_header(name, value)
        self.end_headers()
        if send_body:
            self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - quiet by default
        pass


def make_server(store: Store, *, host: str = "127.0.0.1", port: int = 8360
                ) -> ThreadingHTTPServer:
    """A threaded HTTP server of the view (call ``serve_forever``; port 0 picks a free one)."""
    environment()
    handler = type("RegistryHandler", (_Handler,), {"store": store})
    server = ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    return server
