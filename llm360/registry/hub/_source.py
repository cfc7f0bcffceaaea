"""A published release as an ``ArtifactSource``: located from the Hub's metadata alone.

Each branch of the layout is listed once (a recursive tree listing): LFS and Xet-backed files
carry their sha256 and size there, so no weight or data byte is downloaded; small regular files
(cards, JSON, signatures) are downloaded from their own branch and hashed, each branch's copy
on its own (a git blob id seen on one branch vouches for nothing on another). With
``download=True`` every file is streamed and hashed instead (the full byte check).

Every signed path has a place in the layout or is reported missing: a checkpoint with no
branch of its own, or an artifact under ``checkpoints/`` outside every checkpoint folder, is
published nowhere and fails.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Callable, Collection
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from llm360.errors import InputError
from llm360.registry import layout as run_layout
from llm360.registry.hub._client import SMALL_FILE_LIMIT, HubClient, RemoteFile
from llm360.registry.hub._layout import LOCAL_ONLY, MAIN, MODEL, branch_order, layout
from llm360.registry.hub._repo_id import validate_repo_id
from llm360.registry.manifest.models import Manifest
from llm360.registry.verify.sources import MAX_RELEASE_FILE, Located

__all__ = ["HubSource"]

_IGNORED = frozenset({".gitattributes"})
#: (repo kind, branch, path on the Hub)
Place = tuple[str, str, str]


class HubSource:
    """The release at ``repo`` (model) and ``data_repo`` (dataset) on the client's endpoint.

    ``max_record``: the largest release record (manifest, bundle, signature, file list) read,
    as for a release folder."""

    def __init__(self, client: HubClient, repo: str, *, revision: str = MAIN,
                 data_repo: str | None = None, download: bool = False,
                 workers: int = 8, max_record: int = MAX_RELEASE_FILE) -> None:
        self.repo = validate_repo_id(repo, what="repository")
        self.data_repo = validate_repo_id(data_repo or f"{repo}-data", what="--data-repo")
        if not isinstance(revision, str) or not revision or len(revision) > 256:
            raise InputError(f"--revision {revision!r}: not a branch, tag or commit")
        self.client, self.revision = client, revision
        self.download, self.workers, self.max_record = download, workers, max_record
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
            data = self.client.read_bytes(self.repo, MODEL, self.revision, path,
                                          limit=self.max_record)
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
        """One ``Located`` per place of each expected path in the layout (one with no size
        for a path the layout places nowhere), plus one per file on a listed branch that the
        layout does not place (path None)."""
        from llm360.registry.manifest.serialize import manifest_from_bytes

        raw = self.read_bytes(run_layout.MANIFEST)
        manifest = manifest_from_bytes(raw or b"",
                                       source=f"{self.description}/{run_layout.MANIFEST}")
        artifacts = {a.path for a in manifest.artifacts}
        plan = layout(manifest, [p for p in expected if p not in artifacts])
        placed = {rel for files in plan.values() for rel in files.values()}
        out = [Located(path=rel, where=f"hub:{self.repo}: {rel} (published nowhere: the Hub "
                                       "layout has no place for it)", size=None, sha256=None)
               for rel in sorted(set(expected) - placed - LOCAL_ONLY)]
        trees = self._trees(plan)
        jobs: list[tuple[Place, RemoteFile]] = []
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
                    jobs.append(((kind, branch, hub), remote))
        if on_total is not None:
            on_total(sum(remote.size for _, remote in jobs))
        digests = self._digests(jobs, progress)
        for (kind, branch, hub), remote in jobs:
            out.append(Located(path=plan[(kind, branch)].get(hub),
                               where=f"hub:{self._repo(kind)}@{branch}/{hub}",
                               size=remote.size, sha256=digests.get((kind, branch, hub))))
        return out

    def place_of(self, manifest: Manifest, rel: str) -> Place | None:
        """Where the layout publishes the artifact ``rel`` (a checkpoint's own branch before
        ``main``), or None where it places it nowhere."""
        plan = layout(manifest)
        for kind, branch in branch_order(plan):
            for hub, path in sorted(plan[(kind, branch)].items()):
                if path == rel:
                    return kind, branch, hub
        return None

    def fetch(self, manifest: Manifest, rel: str, dest: Path, *, limit: int
              ) -> tuple[int, str]:
        """Download the artifact ``rel`` of ``manifest`` to ``dest`` (at most ``limit``
        bytes); (size, sha256) of what was written, for the caller to check."""
        place = self.place_of(manifest, rel)
        if place is None:
            raise InputError(f"hub:{self.repo}: {rel} is published nowhere (the Hub layout "
                             "has no place for it)")
        kind, branch, hub = place
        return self.client.download(self._repo(kind), kind, self._rev(kind, branch), hub, dest,
                                    limit=limit, progress=self._count)

    # ---- internals ------------------------------------------------------------------------
    def _trees(self, plan: dict[tuple[str, str], dict[str, str]]
               ) -> dict[tuple[str, str], dict[str, RemoteFile] | None]:
        branches = {kind: self.client.refs(self._repo(kind), kind)[0]
                    for kind in {k for k, _ in plan}}

        def one(key: tuple[str, str]
                ) -> tuple[tuple[str, str], dict[str, RemoteFile] | None]:
            kind, branch = key
            rev = self._rev(kind, branch)
            if rev == branch and branch not in branches[kind]:
                return key, None
            return key, self.client.tree(self._repo(kind), kind, rev)

        with ThreadPoolExecutor(self.workers) as pool:
            return dict(pool.map(one, list(plan)))

    def _digests(self, jobs: list[tuple[Place, RemoteFile]],
                 progress: Callable[[int], None] | None) -> dict[Place, str | None]:
        """The sha256 of each file: the Hub's (LFS/Xet) unless ``download``; else of its
        bytes, fetched from its own branch (never from another branch's copy of a blob)."""
        out: dict[Place, str | None] = {}
        fetch: list[tuple[Place, RemoteFile]] = []
        for place, remote in jobs:
            kind, branch, hub = place
            cached = self._small.get((MODEL, self._rev(kind, branch), hub)) \
                if kind == MODEL and not self.download else None
            if remote.sha256 is not None and not self.download:
                out[place] = remote.sha256
            elif cached is not None:  # read from this very branch before (manifest, bundle)
                out[place] = hashlib.sha256(cached).hexdigest()
            elif self.download or remote.size <= SMALL_FILE_LIMIT:
                fetch.append((place, remote))
                continue
            else:
                out[place] = None  # a big regular file: digest unknown
            if progress is not None:
                progress(remote.size)

        def one(item: tuple[Place, RemoteFile]) -> tuple[Place, str | None]:
            (kind, branch, hub), remote = item
            args = (self._repo(kind), kind, self._rev(kind, branch), hub)
            if self.download:
                _, sha = self.client.download(*args, Path(os.devnull), limit=remote.size,
                                              progress=self._count)
            else:
                data = self.client.read_bytes(*args, limit=remote.size)
                if data is None:
                    return (kind, branch, hub), None
                self._count(len(data))
                if kind == MODEL and self._rev(kind, branch) == self.revision:
                    self._small[(MODEL, self.revision, hub)] = data  # read_bytes needs no GET
                sha = hashlib.sha256(data).hexdigest()
            if progress is not None:
                progress(remote.size)
            return (kind, branch, hub), sha

        with ThreadPoolExecutor(self.workers) as pool:
            out.update(pool.map(one, fetch))
        return out

    def _count(self, n: int) -> None:
        with self._lock:
            self.bytes_downloaded += n
