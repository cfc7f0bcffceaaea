"""A published release as an ``ArtifactSource``: located from the Hub's metadata alone.

Each branch of the layout is listed once (``list_repo_tree``, recursive): LFS and Xet-backed
files carry their sha256 and size there, so no weight or data byte is downloaded; small regular
files (cards, JSON, signatures) are downloaded once per distinct git blob and hashed. With
``download=True`` every file is streamed and hashed instead (the full byte check).
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Callable, Collection
from concurrent.futures import ThreadPoolExecutor

from llm360.registry import layout as run_layout
from llm360.registry.hub._client import SMALL_FILE_LIMIT, HubClient, RemoteFile
from llm360.registry.hub._layout import MAIN, MODEL, layout
from llm360.registry.sources import Located

__all__ = ["HubSource"]

_IGNORED = frozenset({".gitattributes"})


class HubSource:
    """The release at ``repo`` (model) and ``data_repo`` (dataset) on the client's endpoint."""

    def __init__(self, client: HubClient, repo: str, *, revision: str = MAIN,
                 data_repo: str | None = None, download: bool = False,
                 workers: int = 8) -> None:
        self.client, self.repo, self.revision = client, repo, revision
        self.data_repo = data_repo or f"{repo}-data"
        self.download, self.workers = download, workers
        self.description = f"hub:{repo}@{revision}"
        self._small: dict[tuple[str, str, str], bytes] = {}
        self._lock = threading.Lock()
        self.bytes_downloaded = 0

    def _repo(self, kind: str) -> str:
        return self.repo if kind == MODEL else self.data_repo

    def _rev(self, kind: str, branch: str) -> str:
        return self.revision if (kind, branch) == (MODEL, MAIN) else branch

    def read_bytes(self, path: str) -> bytes | None:
        """A small release file from the model repo's revision (main by default)."""
        key = (MODEL, self.revision, path)
        if key not in self._small:
            data = self.client.read_bytes(self.repo, MODEL, self.revision, path)
            if data is None:
                return None
            self._count(len(data))
            self._small[key] = data
        return self._small[key]

    def prefetch(self, paths: Collection[str]) -> None:
        """Read several small release files at once (in parallel) into the cache."""
        todo = [p for p in paths if (MODEL, self.revision, p) not in self._small]
        with ThreadPoolExecutor(self.workers) as pool:
            list(pool.map(self.read_bytes, todo))

    def locate(self, expected: Collection[str], *,
               progress: Callable[[int], None] | None = None,
               on_total: Callable[[int], None] | None = None) -> list[Located]:
        """One ``Located`` per place of each expected path in the layout, plus one per file
        on a listed branch that the layout does not place (path None)."""
        from llm360.registry.serialize import manifest_from_bytes

        raw = self.read_bytes(run_layout.MANIFEST)
        manifest = manifest_from_bytes(raw or b"",
                                       source=f"{self.description}/{run_layout.MANIFEST}")
        artifacts = {a.path for a in manifest.artifacts}
        plan = layout(manifest, [p for p in expected if p not in artifacts])
        trees = self._trees(plan)
        jobs: list[tuple[str, str, str, RemoteFile]] = []  # (kind, branch, hub path, remote)
        out: list[Located] = []
        for (kind, branch), files in plan.items():
            tree = trees[(kind, branch)]
            where = f"hub:{self._repo(kind)}@{branch}"
            if tree is None:
                out += [Located(path=rel, where=f"{where}/{hub} (no branch {branch})",
                                size=None, sha256=None) for hub, rel in sorted(files.items())]
                continue
            for hub in sorted(set(tree) | set(files)):
                if hub in _IGNORED:
                    continue
                remote, rel = tree.get(hub), files.get(hub)
                if remote is None:
                    out.append(Located(path=rel, where=f"{where}/{hub}", size=None, sha256=None))
                else:
                    jobs.append((kind, branch, hub, remote))
        if on_total is not None:
            on_total(sum(remote.size for *_, remote in jobs))
        digests = self._digests(jobs, progress)
        for kind, branch, hub, remote in jobs:
            rel = plan[(kind, branch)].get(hub)
            out.append(Located(path=rel, where=f"hub:{self._repo(kind)}@{branch}/{hub}",
                               size=remote.size, sha256=digests.get((kind, branch, hub))))
        return out

    # ---- internals ------------------------------------------------------------------------
    def _trees(self, plan) -> dict[tuple[str, str], dict[str, RemoteFile] | None]:
        branches = {kind: self.client.refs(self._repo(kind), kind)[0]
                    for kind in {k for k, _ in plan}}

        def one(key):
            kind, branch = key
            rev = self._rev(kind, branch)
            if rev == branch and branch not in branches[kind]:
                return key, None
            return key, self.client.tree(self._repo(kind), kind, rev)

        with ThreadPoolExecutor(self.workers) as pool:
            return dict(pool.map(one, list(plan)))

    def _digests(self, jobs, progress) -> dict[tuple[str, str, str], str | None]:
        out: dict[tuple[str, str, str], str | None] = {}
        fetch: dict[str, tuple[str, str, str, RemoteFile]] = {}  # one download per git blob
        for kind, branch, hub, remote in jobs:
            if remote.sha256 is not None and not self.download:
                out[(kind, branch, hub)] = remote.sha256
                if progress is not None:
                    progress(remote.size)
            elif self.download or remote.size <= SMALL_FILE_LIMIT:
                key = remote.git_oid if not self.download else f"{kind}:{branch}:{hub}"
                fetch.setdefault(key, (kind, branch, hub, remote))
            else:
                out[(kind, branch, hub)] = None  # a big regular file: digest unknown

        def one(item):
            key, (kind, branch, hub, remote) = item
            if not self.download:
                data = self.client.read_bytes(self._repo(kind), kind, self._rev(kind, branch),
                                              hub)
                if data is None:
                    return key, None
                self._count(len(data))
                small[key] = data
                return key, hashlib.sha256(data).hexdigest()
            size, sha = self.client.download(self._repo(kind), kind, self._rev(kind, branch),
                                             hub, os.devnull, progress=self._count)
            return key, sha

        small: dict[str, bytes] = {}
        got: dict[str, str | None] = {}
        if not self.download:  # files read before (manifest, bundle, signatures): no GET
            for data in list(self._small.values()):
                oid = _git_oid(data)
                if oid in fetch:
                    small[oid], got[oid] = data, hashlib.sha256(data).hexdigest()
                    del fetch[oid]
        with ThreadPoolExecutor(self.workers) as pool:
            got.update(pool.map(one, fetch.items()))
        for kind, branch, hub, remote in jobs:
            if (kind, branch, hub) in out:
                continue
            key = remote.git_oid if not self.download else f"{kind}:{branch}:{hub}"
            out[(kind, branch, hub)] = got.get(key)
            if (kind, branch) == (MODEL, MAIN) and key in small:  # read_bytes needs no GET
                self._small[(MODEL, self.revision, hub)] = small[key]
            if progress is not None and not (remote.sha256 is not None and not self.download):
                progress(remote.size)
        return out

    def _count(self, n: int) -> None:
        with self._lock:
            self.bytes_downloaded += n


def _git_oid(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\x00" % len(data) + data).hexdigest()
