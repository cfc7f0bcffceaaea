"""A Hub-protocol TEST SERVER: the slice of the Hugging Face Hub's HTTP API that
``huggingface_hub`` uses to push and read a repository (see ../shared/HUB-API.md).

It is a test double, not a Hub: one process, in memory, no auth model beyond an optional fixed
token, LFS only (clients must disable Xet), one page per tree listing. What it does for real:
repositories (model and dataset), commits with parents, branches, tags, git blob ids for regular
files, LFS objects checked against their sha256 on upload, ``parentCommit`` honoured (HTTP 412),
files served with ``X-Repo-Commit``/``ETag``/``Range``. ``fail_requests`` makes chosen requests
(by number, counted from 1) answer an HTTP error; ``log`` records every request with its bytes in
and out, which the benchmark reads.

    server = HubTestServer(); server.start(); ... server.url ...; server.stop()
    python tests/hub_server/server.py --port 0     # serves until interrupted
"""

from __future__ import annotations

import base64
import hashlib
import json
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, quote, unquote, urlsplit

LFS_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".ckpt", ".h5", ".npy")
LFS_MIN_SIZE = 10 * 1024 * 1024
DROP, DROP_AFTER = 0, -1
GITATTRIBUTES = b"*.safetensors filter=lfs diff=lfs merge=lfs -text\n"


def git_oid(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\x00" % len(data) + data).hexdigest()


@dataclass
class Entry:
    size: int
    oid: str                    # git blob id (of the pointer file for LFS)
    sha256: str | None = None   # LFS object id, None for a regular file


@dataclass
class Commit:
    id: str
    parent: str | None
    tree: dict[str, Entry]
    title: str
    message: str
    date: str


@dataclass
class Repo:
    branches: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    commits: dict[str, Commit] = field(default_factory=dict)
    private: bool = False


@dataclass
class Logged:
    method: str
    path: str
    status: int
    bytes_in: int
    bytes_out: int


class HttpError(Exception):
    def __init__(self, status: int, message: str, code: str | None = None):
        super().__init__(message)
        self.status, self.message, self.code = status, message, code


class HubTestServer:
    """State plus a threaded HTTP server on 127.0.0.1."""

    def __init__(self, *, port: int = 0, token: str | None = None) -> None:
        self.repos: dict[tuple[str, str], Repo] = {}
        self.blobs: dict[str, bytes] = {}      # git oid -> bytes (regular files)
        self.lfs: dict[str, bytes] = {}        # sha256 -> bytes
        self.token = token
        self.fail_requests: dict[int, int] = {}  # request number -> HTTP status to answer
        self.log: list[Logged] = []
        self.requests = 0
        #: called as on_request(method, path) before a request is served (tests race with it)
        self.on_request = None
        #: called as intercept(method, path) before a request is served: a callable it returns
        #: answers the request instead, given the handler (``hostile.py`` makes them)
        self.intercept = None
        #: set by stop(): a hostile answer still running ends when it is set
        self.stopping = threading.Event()
        self.lock = threading.RLock()
        self._port = port
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ---- lifecycle ---------------------------------------------------------------------
    def start(self) -> HubTestServer:
        self.stopping.clear()
        handler = type("Handler", (_Handler,), {"hub": self})
        self._httpd = ThreadingHTTPServer(("127.0.0.1", self._port), handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    @property
    def url(self) -> str:
        assert self._httpd is not None, "start() first"
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def fail_nth(self, n: int, status: int = 500) -> None:
        """Fail the ``n``-th request from now (1 = the next): answer HTTP ``status``, or with
        ``DROP`` close the connection unanswered (a crash), or with ``DROP_AFTER`` do the
        work and then close it unanswered (the answer lost on the way)."""
        with self.lock:
            self.fail_requests[self.requests + n] = status

    # ---- repository state (also used by tests to tamper) --------------------------------
    def repo(self, kind: str, repo_id: str) -> Repo:
        try:
            return self.repos[(kind, repo_id)]
        except KeyError:
            raise HttpError(404, f"repository {repo_id} not found", "RepoNotFound") from None

    def resolve(self, repo: Repo, rev: str) -> Commit:
        sha = repo.branches.get(rev) or repo.tags.get(rev) or (rev if rev in repo.commits else None)
        if sha is None:
            raise HttpError(404, f"revision {rev} not found", "RevisionNotFound")
        return repo.commits[sha]

    def commit(self, repo: Repo, branch: str, tree: dict[str, Entry], title: str,
               message: str = "") -> str:
        parent = repo.branches.get(branch)
        seed = json.dumps([parent, title, sorted((p, e.oid) for p, e in tree.items()),
                           time.time_ns()]).encode()
        sha = hashlib.sha1(seed).hexdigest()
        repo.commits[sha] = Commit(id=sha, parent=parent, tree=tree, title=title,
                                   message=message,
                                   date=time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()))
        repo.branches[branch] = sha
        return sha

    def put_file(self, kind: str, repo_id: str, branch: str, path: str, data: bytes,
                 *, lfs: bool | None = None) -> str:
        """Commit one file directly (a test's way to tamper); returns the commit id."""
        with self.lock:
            repo = self.repo(kind, repo_id)
            tree = dict(self.resolve(repo, branch).tree)
            tree[path] = self.store(path, data, lfs=lfs)
            return self.commit(repo, branch, tree, f"put {path}")

    def delete_file(self, kind: str, repo_id: str, branch: str, path: str) -> str:
        with self.lock:
            repo = self.repo(kind, repo_id)
            tree = dict(self.resolve(repo, branch).tree)
            del tree[path]
            return self.commit(repo, branch, tree, f"delete {path}")

    def store(self, path: str, data: bytes, *, lfs: bool | None = None) -> Entry:
        if lfs is None:
            lfs = is_lfs(path, len(data))
        if lfs:
            sha = hashlib.sha256(data).hexdigest()
            self.lfs[sha] = data
            return Entry(size=len(data), oid=git_oid(_pointer(sha, len(data))), sha256=sha)
        oid = git_oid(data)
        self.blobs[oid] = data
        return Entry(size=len(data), oid=oid)

    def read(self, entry: Entry) -> bytes:
        return self.lfs[entry.sha256] if entry.sha256 else self.blobs[entry.oid]


def is_lfs(path: str, size: int) -> bool:
    return size >= LFS_MIN_SIZE or (size > 0 and path.endswith(LFS_SUFFIXES))


def _pointer(sha: str, size: int) -> bytes:
    return (f"version https://git-lfs.github.com/spec/v1\noid sha256:{sha}\nsize {size}\n"
            ).encode()


class _Handler(BaseHTTPRequestHandler):
    hub: HubTestServer
    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:  # quiet
        pass

    def setup(self) -> None:
        super().setup()  # headers and body go out in two writes: no Nagle delay between them
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_GET(self): self._serve("GET")
    def do_HEAD(self): self._serve("HEAD")
    def do_POST(self): self._serve("POST")
    def do_PUT(self): self._serve("PUT")

    def _serve(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        hub = self.hub
        if hub.on_request is not None:
            hub.on_request(method, self.path)
        self.body = body
        answer = hub.intercept(method, self.path) if hub.intercept is not None else None
        if answer is not None:
            answer(self)
            return
        with hub.lock:
            hub.requests += 1
            fail = hub.fail_requests.pop(hub.requests, None)
        status, headers, out = 500, {}, b""
        if fail == DROP:
            self.close_connection = True
            return
        try:
            if fail is not None and fail != DROP_AFTER:
                raise HttpError(fail, f"injected failure of request {hub.requests}")
            if hub.token and self.headers.get("Authorization") != f"Bearer {hub.token}":
                raise HttpError(401, "Invalid credentials in Authorization header")
            status, headers, out = _route(hub, method, self.path, body, self.headers)
        except HttpError as exc:
            status, out = exc.status, json.dumps({"error": exc.message}).encode()
            headers = {"Content-Type": "application/json"}
            if exc.code:
                headers["X-Error-Code"] = exc.code
                headers["X-Error-Message"] = exc.message
        except Exception as exc:  # a bug of the test server: say so loudly
            status, out = 500, json.dumps({"error": f"test server bug: {exc!r}"}).encode()
        if fail == DROP_AFTER:
            self.close_connection = True
            return
        self.send(method, status, headers, out)
        with hub.lock:
            hub.log.append(Logged(method, self.path, status, len(body),
                                  0 if method == "HEAD" else len(out)))


    def send(self, method: str, status: int, headers: dict, out: bytes) -> None:
        """Answer with ``status``, ``headers`` and the body ``out``."""
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        if method != "HEAD":
            self.wfile.write(out)

    def answer(self, method: str) -> tuple[int, dict, bytes]:
        """(status, headers, body) the server would answer to this request."""
        try:
            with self.hub.lock:
                return _route(self.hub, method, self.path, self.body, self.headers)
        except HttpError as exc:
            return exc.status, {"X-Error-Code": exc.code or ""}, json.dumps(
                {"error": exc.message}).encode()


def _json(data, status: int = 200, headers: dict | None = None):
    return status, {"Content-Type": "application/json", **(headers or {})}, \
        json.dumps(data).encode()


def _entry_json(path: str, e: Entry) -> dict:
    out = {"type": "file", "oid": e.oid, "size": e.size, "path": path}
    if e.sha256:
        out["lfs"] = {"oid": e.sha256, "size": e.size, "pointerSize": len(_pointer(e.sha256,
                                                                               e.size))}
    return out


def _route(hub: HubTestServer, method: str, raw_path: str, body: bytes, headers):
    url = urlsplit(raw_path)
    query = parse_qs(url.query)
    parts = [unquote(p) for p in url.path.strip("/").split("/")]
    if method == "POST" and url.path == "/api/repos/create":
        return _create_repo(hub, json.loads(body or b"{}"))
    if method == "POST" and url.path == "/api/validate-yaml":
        return _json({"errors": [], "warnings": []})
    if parts[0] == "lfs-upload" and method == "PUT":
        return _lfs_put(hub, parts[1], body)
    if parts[0] == "lfs-verify" and method == "POST":
        data = json.loads(body)
        if data["oid"] not in hub.lfs:
            raise HttpError(404, "object not uploaded")
        return _json({})
    if parts[0] == "api" and len(parts) >= 5 and parts[1] in ("models", "datasets"):
        kind = parts[1][:-1]
        repo_id, verb, rest = f"{parts[2]}/{parts[3]}", parts[4], parts[5:]
        with hub.lock:
            return _api(hub, method, kind, repo_id, verb, rest, query, body, headers)
    kind = "model"
    if parts[0] == "datasets":
        kind, parts = "dataset", parts[1:]
    if len(parts) >= 2 and parts[1].endswith(".git") and parts[2:5] == ["info", "lfs",
                                                                         "objects"]:
        return _lfs_batch(hub, kind, f"{parts[0]}/{parts[1][:-4]}", json.loads(body))
    if len(parts) >= 5 and parts[2] == "resolve" and method in ("GET", "HEAD"):
        with hub.lock:
            return _resolve(hub, kind, f"{parts[0]}/{parts[1]}", parts[3],
                            "/".join(parts[4:]), headers)
    raise HttpError(404, f"no route for {method} {url.path}")


def _create_repo(hub: HubTestServer, data: dict):
    kind = data.get("type") or "model"
    repo_id = f"{data['organization']}/{data['name']}" if data.get("organization") \
        else data["name"]
    prefix = "" if kind == "model" else f"{kind}s/"
    with hub.lock:
        if (kind, repo_id) in hub.repos:
            return _json({"error": "You already created this repo",
                          "url": f"{_base(hub)}/{prefix}{repo_id}"}, 409)
        repo = Repo(private=data.get("visibility") == "private" or bool(data.get("private")))
        hub.repos[(kind, repo_id)] = repo
        hub.commit(repo, "main", {".gitattributes": hub.store(".gitattributes", GITATTRIBUTES,
                                                              lfs=False)}, "initial commit")
    return _json({"url": f"{_base(hub)}/{prefix}{repo_id}"})


def _base(hub: HubTestServer) -> str:
    return hub.url


def _lfs_batch(hub: HubTestServer, kind: str, repo_id: str, data: dict):
    with hub.lock:
        hub.repo(kind, repo_id)
        objects = []
        for obj in data.get("objects", []):
            item = {"oid": obj["oid"], "size": obj["size"]}
            if obj["oid"] not in hub.lfs:
                item["actions"] = {
                    "upload": {"href": f"{_base(hub)}/lfs-upload/{obj['oid']}"},
                    "verify": {"href": f"{_base(hub)}/lfs-verify/{obj['oid']}"}}
            objects.append(item)
    return _json({"transfer": "basic", "objects": objects})


def _lfs_put(hub: HubTestServer, oid: str, body: bytes):
    got = hashlib.sha256(body).hexdigest()
    if got != oid:
        raise HttpError(400, f"uploaded bytes have sha256 {got}, expected {oid}")
    with hub.lock:
        hub.lfs[oid] = body
    return _json({})


def _api(hub, method, kind, repo_id, verb, rest, query, body, headers):
    repo = hub.repo(kind, repo_id)
    rev = rest[0] if rest else "main"
    if verb == "preupload" and method == "POST":
        tree = hub.resolve(repo, rev).tree
        files = []
        for f in json.loads(body)["files"]:
            lfs = is_lfs(f["path"], f["size"])
            cur = tree.get(f["path"])
            oid = None if cur is None else (cur.sha256 if lfs else cur.oid)
            files.append({"path": f["path"], "uploadMode": "lfs" if lfs else "regular",
                          "shouldIgnore": False, "oid": oid})
        return _json({"files": files})
    if verb == "commit" and method == "POST":
        prefix = "" if kind == "model" else f"{kind}s/"
        return _commit(hub, repo, rev, body, f"{_base(hub)}/{prefix}{repo_id}")
    if verb == "branch" and method == "POST":
        if rev in repo.branches:
            raise HttpError(409, f"branch {rev} already exists")
        start = (json.loads(body or b"{}") or {}).get("startingPoint") or "main"
        repo.branches[rev] = hub.resolve(repo, start).id
        return _json({})
    if verb == "tag" and method == "POST":
        data = json.loads(body)
        if data["tag"] in repo.tags:
            raise HttpError(409, f"tag {data['tag']} already exists")
        repo.tags[data["tag"]] = hub.resolve(repo, rev).id
        return _json({})
    if verb == "refs" and method == "GET":
        refs = lambda d, p: [{"name": n, "ref": f"refs/{p}/{n}", "targetCommit": s}  # noqa
                             for n, s in sorted(d.items())]
        return _json({"branches": refs(repo.branches, "heads"), "tags": refs(repo.tags, "tags"),
                      "converts": []})
    if verb == "tree" and method == "GET":
        commit = hub.resolve(repo, rev)
        prefix = "/".join(rest[1:])
        recursive = query.get("recursive", ["false"])[0].lower() in ("1", "true")
        return _json(_tree(commit.tree, prefix, recursive))
    if verb == "paths-info" and method == "POST":
        commit = hub.resolve(repo, rev)
        paths = parse_qs(body.decode()).get("paths", [])
        return _json([_entry_json(p, commit.tree[p]) for p in paths if p in commit.tree])
    if verb == "revision" and method == "GET":
        commit = hub.resolve(repo, rev)
        siblings = []
        for p, e in sorted(commit.tree.items()):
            sib = {"rfilename": p, "size": e.size, "blobId": e.oid}
            if e.sha256:
                sib["lfs"] = {"sha256": e.sha256, "size": e.size, "pointerSize": 128}
            siblings.append(sib)
        return _json({"id": repo_id, "sha": commit.id, "siblings": siblings,
                      "private": repo.private, "disabled": False, "gated": False,
                      "tags": [], "downloads": 0, "likes": 0})
    if verb == "commits" and method == "GET":
        out, sha = [], hub.resolve(repo, rev).id
        while sha:
            c = repo.commits[sha]
            out.append({"id": c.id, "title": c.title, "message": c.message,
                        "authors": [{"user": "test"}], "date": c.date})
            sha = c.parent
        return _json(out)
    raise HttpError(404, f"no route for {method} {verb}")


def _tree(tree: dict[str, Entry], prefix: str, recursive: bool) -> list[dict]:
    base = prefix + "/" if prefix else ""
    out, dirs = [], set()
    for p in sorted(tree):
        if not p.startswith(base):
            continue
        rel = p[len(base):]
        if "/" in rel:
            parts = rel.split("/")
            for i in range(1, len(parts) if recursive else 2):
                dirs.add(base + "/".join(parts[:i]))
            if not recursive:
                continue
        out.append(_entry_json(p, tree[p]))
    if prefix and not out and not dirs:
        raise HttpError(404, f"{prefix} not found", "EntryNotFound")
    out += [{"type": "directory", "oid": "0" * 40, "size": 0, "path": d} for d in sorted(dirs)]
    return out


def _commit(hub: HubTestServer, repo: Repo, branch: str, body: bytes, repo_url: str):
    if branch not in repo.branches:
        raise HttpError(404, f"branch {branch} not found", "RevisionNotFound")
    lines = [json.loads(line) for line in body.splitlines() if line.strip()]
    header = next(x["value"] for x in lines if x["key"] == "header")
    parent = header.get("parentCommit")
    if parent and parent != repo.branches[branch]:
        raise HttpError(412, f"parent commit {parent} is not the head of {branch} "
                             f"({repo.branches[branch]})")
    tree = dict(repo.commits[repo.branches[branch]].tree)
    for item in lines:
        key, value = item["key"], item["value"]
        if key == "file":
            data = base64.b64decode(value["content"]) if value.get("encoding") == "base64" \
                else value["content"].encode()
            tree[value["path"]] = hub.store(value["path"], data, lfs=False)
        elif key == "lfsFile":
            if value["oid"] not in hub.lfs:
                raise HttpError(422, f"LFS object {value['oid']} of {value['path']} was "
                                     "never uploaded")
            tree[value["path"]] = Entry(size=value["size"], sha256=value["oid"],
                                        oid=git_oid(_pointer(value["oid"], value["size"])))
        elif key == "deletedFile":
            tree.pop(value["path"], None)
        elif key == "deletedFolder":
            base = value["path"].rstrip("/") + "/"
            tree = {p: e for p, e in tree.items() if not p.startswith(base)}
    sha = hub.commit(repo, branch, tree, header.get("summary", ""), header.get("description",
                                                                                ""))
    return _json({"commitOid": sha, "commitUrl": f"{repo_url}/commit/{sha}"})


def _resolve(hub: HubTestServer, kind: str, repo_id: str, rev: str, path: str, headers):
    repo = hub.repo(kind, repo_id)
    commit = hub.resolve(repo, rev)
    entry = commit.tree.get(path)
    if entry is None:
        raise HttpError(404, f"{path} not found at {rev}", "EntryNotFound")
    data = hub.read(entry)
    etag = entry.sha256 or entry.oid
    out = {"X-Repo-Commit": commit.id, "ETag": f'"{etag}"', "Accept-Ranges": "bytes",
           "Content-Type": "application/octet-stream"}
    if entry.sha256:
        out["X-Linked-Etag"], out["X-Linked-Size"] = f'"{etag}"', str(entry.size)
    rng = headers.get("Range")
    if rng and rng.startswith("bytes="):
        start_s, _, end_s = rng[6:].partition("-")
        start = int(start_s or 0)
        end = min(int(end_s), len(data) - 1) if end_s else len(data) - 1
        out["Content-Range"] = f"bytes {start}-{end}/{len(data)}"
        return 206, out, data[start:end + 1]
    return 200, out, data


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser(description="Hub-protocol test server (tests only)")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    server = HubTestServer(port=args.port).start()
    print(f"Hub TEST server on {server.url} (127.0.0.1, in memory; Ctrl-C stops it)",
          flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        server.stop()


if __name__ == "__main__":
    main()


__all__ = ["HubTestServer", "Entry", "git_oid", "is_lfs", "quote"]
