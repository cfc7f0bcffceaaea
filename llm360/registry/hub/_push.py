"""Push a release folder to the Hub: one branch per checkpoint, ``main``, a dataset repo, a tag.

Each branch is brought to its planned content by at most one ``create_commit`` whose
``parent_commit`` is the head just listed, so a branch is never half-written and a concurrent
commit is an error (HTTP 412), not an overwrite. What the Hub already holds (same path, size and
sha256 for LFS/Xet files, same git blob id for small files) is not uploaded again: a rerun after
an interruption uploads only the rest, a rerun on a complete repository makes no commit.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from llm360.errors import HubError, InputError, VerificationError
from llm360.registry._files import resolve_inside, write_atomic
from llm360.registry.hub._client import HubClient, RemoteFile
from llm360.registry.hub._layout import DATASET, MAIN, MODEL, branch_order, layout
from llm360.registry.models import Manifest
from llm360.registry.release_dir import (
    INCOMPLETE_MARK, MANIFEST_FILE, PUBLICATION_FILE, RELEASE_FILES, read_release_files,
)
from llm360.registry.serialize import manifest_from_bytes
from llm360.registry.signing import BUNDLE_FILE

__all__ = ["PushResult", "BranchResult", "push_release", "PUBLICATION_FILE", "git_blob_oid"]

_IGNORED_REMOTE = frozenset({".gitattributes"})


@dataclass(frozen=True, kw_only=True)
class BranchResult:
    repo: str            # repository id
    repo_type: str       # "model" | "dataset"
    branch: str
    commit: str          # head after the push
    committed: bool      # False: the branch already held everything
    files: int
    uploaded_files: int
    uploaded_bytes: int
    extra: tuple[str, ...] = ()   # on the branch, not in the release (left in place)


@dataclass(frozen=True, kw_only=True)
class PushResult:
    endpoint: str
    repo: str
    data_repo: str | None
    tag: str
    branches: tuple[BranchResult, ...]
    publication: Path
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def commits(self) -> int:
        return sum(b.committed for b in self.branches)

    @property
    def uploaded_bytes(self) -> int:
        return sum(b.uploaded_bytes for b in self.branches)

    def as_data(self) -> dict:
        return {"endpoint": self.endpoint, "repo": self.repo, "data_repo": self.data_repo,
                "tag": self.tag, "commits": self.commits, "uploaded_bytes": self.uploaded_bytes,
                "publication": str(self.publication), "notes": list(self.notes),
                "branches": [{"repo": b.repo, "repo_type": b.repo_type, "branch": b.branch,
                              "commit": b.commit, "committed": b.committed, "files": b.files,
                              "uploaded_files": b.uploaded_files,
                              "uploaded_bytes": b.uploaded_bytes, "extra": list(b.extra)}
                             for b in self.branches]}


def git_blob_oid(data: bytes) -> str:
    """The git blob id the Hub reports for a regular (non-LFS) file."""
    return hashlib.sha1(b"blob %d\x00" % len(data) + data).hexdigest()


@dataclass(frozen=True, kw_only=True)
class _Local:
    release_path: str
    file: Path
    size: int
    sha256: str


def _load_release(release: Path) -> tuple[Manifest, bytes, list[str]]:
    """The manifest, its bytes and the release's own files to publish (the manifest, bundle,
    release-files.json and every file it lists); refuses what is not a complete release."""
    release = Path(release)
    if (release / INCOMPLETE_MARK).exists():
        raise InputError(f"{release}: an unfinished release (a build was interrupted)",
                         hint="rerun llm360 release build")
    try:
        raw = (release / MANIFEST_FILE).read_bytes()
    except (FileNotFoundError, NotADirectoryError):
        raise InputError(f"{release}: not a release folder (no manifest.json)",
                         hint="build one with `llm360 release build RUN --out RELEASE`") from None
    manifest = manifest_from_bytes(raw, source=str(release / MANIFEST_FILE))
    own = [MANIFEST_FILE]
    rf_raw = (release / RELEASE_FILES).read_bytes() if (release / RELEASE_FILES).is_file() \
        else None
    if rf_raw is not None:
        rf = read_release_files(rf_raw, source=str(release / RELEASE_FILES))
        if rf.layout == "metadata-only":
            raise InputError(f"{release}: a metadata-only release (its artifacts are in the "
                             "run directory)", hint="push needs a full release: rebuild "
                                                    "without --metadata-only")
        if rf.manifest_sha256 != hashlib.sha256(raw).hexdigest():
            raise InputError(f"{release / RELEASE_FILES}: belongs to another manifest",
                             hint="rebuild the release")
        own += [RELEASE_FILES] + [f.path for f in rf.files]
    if (release / BUNDLE_FILE).is_file():
        own.append(BUNDLE_FILE)
    missing = [p for p in [a.path for a in manifest.artifacts] + own
               if not resolve_inside(release, p).is_file()]
    if missing:
        raise InputError(f"{release}: {len(missing)} files of the release are not in the "
                         f"folder (first: {missing[0]})",
                         hint="push needs a self-contained release: `llm360 release build RUN "
                              "--out RELEASE` lays every artifact out in it")
    return manifest, raw, sorted(set(own))


def _local_files(release: Path, manifest: Manifest, own: list[str]) -> dict[str, _Local]:
    out = {}
    for art in manifest.artifacts:
        file = release / art.path
        size = file.stat().st_size
        if size != art.size:
            raise VerificationError(f"{file}: {size} bytes, the manifest says {art.size}; "
                                    "refusing to publish", artifact=art.path,
                                    hint="run `llm360 verify RELEASE` to see what changed")
        out[art.path] = _Local(release_path=art.path, file=file, size=size, sha256=art.sha256)
    for rel in own:
        data = (release / rel).read_bytes()
        out[rel] = _Local(release_path=rel, file=release / rel, size=len(data),
                          sha256=hashlib.sha256(data).hexdigest())
    return out


def _same(local: _Local, remote: RemoteFile | None) -> bool:
    if remote is None or remote.size != local.size:
        return False
    if remote.sha256 is not None:
        return remote.sha256 == local.sha256
    if local.size > 10 * 1024 * 1024:
        return False
    return remote.git_oid == git_blob_oid(local.file.read_bytes())


def push_release(client: HubClient, release: Path, repo: str, *, data_repo: str | None = None,
                 private: bool = False,
                 progress: Callable[[str], None] | None = None) -> PushResult:
    """Publish ``release`` to ``repo`` (and its data to ``data_repo``, default
    ``<repo>-data``); writes ``RELEASE/publication.json``. See the module docstring."""
    release = Path(release)
    say = progress or (lambda _msg: None)
    manifest, manifest_raw, own = _load_release(release)
    data_repo = data_repo or f"{repo}-data"
    plan = layout(manifest, own)
    local = _local_files(release, manifest, own)
    repos = {MODEL: repo, DATASET: data_repo}
    for kind in sorted({k for k, _ in plan}):
        client.call(f"create {kind} repository {repos[kind]}", client.api.create_repo,
                    repos[kind], repo_type=kind, private=private, exist_ok=True)
    heads = {kind: client.refs(repos[kind], kind) for kind in {k for k, _ in plan}}
    roots: dict[str, str] = {}
    results = []
    order = branch_order(plan)
    for i, (kind, branch) in enumerate(order, 1):
        files = {hub: local[rel] for hub, rel in plan[(kind, branch)].items()}
        say(f"[{i}/{len(order)}] {repos[kind]}@{branch}: {len(files)} files")
        results.append(_push_branch(client, repos[kind], kind, branch, files, heads[kind][0],
                                    roots, manifest, say))
    tag = f"v{manifest.release.version}"
    notes = []
    for kind in sorted(heads):
        head = next(r.commit for r in results if r.repo_type == kind and r.branch == MAIN)
        notes += _tag(client, repos[kind], kind, tag, head, heads[kind][1])
    publication = _write_publication(release, client.endpoint, manifest, manifest_raw, repos,
                                     tag, results)
    return PushResult(endpoint=client.endpoint, repo=repo,
                      data_repo=data_repo if DATASET in heads else None, tag=tag,
                      branches=tuple(results), publication=publication, notes=tuple(notes))


def _root_commit(client: HubClient, repo: str, kind: str, roots: dict[str, str]) -> str:
    """The repository's first commit: new branches start there, empty of release files."""
    if repo not in roots:
        commits = client.call(f"list the commits of {repo}", client.api.list_repo_commits,
                              repo, repo_type=kind)
        roots[repo] = commits[-1].commit_id
    return roots[repo]


def _push_branch(client: HubClient, repo: str, kind: str, branch: str,
                 files: dict[str, _Local], branches: dict[str, str], roots: dict[str, str],
                 manifest: Manifest, say) -> BranchResult:
    from huggingface_hub import CommitOperationAdd

    for attempt in range(client.retries + 1):
        exists = branch in branches
        remote = client.tree(repo, kind, branch) if exists else {}
        todo = {hub: f for hub, f in files.items() if not _same(f, remote.get(hub))}
        extra = tuple(sorted(set(remote) - set(files) - _IGNORED_REMOTE))
        if not todo:
            return BranchResult(repo=repo, repo_type=kind, branch=branch,
                                commit=branches[branch], committed=False, files=len(files),
                                uploaded_files=0, uploaded_bytes=0, extra=extra)
        if not exists:
            start = _root_commit(client, repo, kind, roots)
            client.call(f"create branch {branch} of {repo}", client.api.create_branch, repo,
                        branch=branch, revision=start, repo_type=kind, exist_ok=True)
            # the branch starts at the root commit; had someone else created it meanwhile,
            # the commit below fails on parent_commit instead of overwriting theirs
            branches[branch] = start
        ops = [CommitOperationAdd(path_in_repo=hub, path_or_fileobj=str(f.file))
               for hub, f in sorted(todo.items())]
        for op, (hub, f) in zip(ops, sorted(todo.items())):
            if op.upload_info.sha256.hex() != f.sha256 or op.upload_info.size != f.size:
                raise VerificationError(f"{f.file}: changed since the release was built (sha256 "
                                        "differs from the manifest); refusing to publish",
                                        artifact=f.release_path)
        say(f"  uploading {len(ops)} files, {sum(f.size for f in todo.values())} bytes")
        try:
            info = client.call(f"commit to {repo}@{branch}", client.api.create_commit, repo,
                               operations=ops, commit_message=_message(manifest, branch),
                               revision=branch, repo_type=kind,
                               parent_commit=branches[branch])
        except HubError as exc:
            if not exc.transient or attempt == client.retries:
                raise
            branches.update(client.refs(repo, kind)[0])  # did the commit land? look again
            continue
        branches[branch] = info.oid
        return BranchResult(repo=repo, repo_type=kind, branch=branch, commit=info.oid,
                            committed=True, files=len(files), uploaded_files=len(ops),
                            uploaded_bytes=sum(f.size for f in todo.values()), extra=extra)
    raise AssertionError("unreachable")


def _message(manifest: Manifest, branch: str) -> str:
    rel = manifest.release
    ckpt = manifest.checkpoint(branch)
    where = (f"checkpoint {ckpt.name}: step {ckpt.step}, {ckpt.tokens_seen} tokens seen"
             if ckpt is not None else branch)
    return f"llm360: {rel.name} {rel.version}, {where}"


def _tag(client: HubClient, repo: str, kind: str, tag: str, head: str,
         tags: dict[str, str]) -> list[str]:
    if tag in tags:
        if tags[tag] != head:
            return [f"{repo}: tag {tag} already names commit {tags[tag][:12]}, not main's "
                    f"{head[:12]}; left as it is (tags are not moved)"]
        return []
    client.call(f"tag {repo} {tag}", client.api.create_tag, repo, tag=tag, revision=head,
                repo_type=kind, exist_ok=True)
    return []


def _write_publication(release: Path, endpoint: str, manifest: Manifest, manifest_raw: bytes,
                       repos: dict[str, str], tag: str, results: list[BranchResult]) -> Path:
    branches = {}
    for r in results:
        entry: dict = {"repo": r.repo, "repo_type": r.repo_type, "commit": r.commit}
        ckpt = manifest.checkpoint(r.branch) if r.repo_type == MODEL else None
        if r.repo_type == MODEL and r.branch == MAIN:
            ckpt = manifest.checkpoints[-1] if manifest.checkpoints else None
        if ckpt is not None:
            entry.update(checkpoint=ckpt.name, step=ckpt.step, tokens_seen=ckpt.tokens_seen)
        key = r.branch if r.repo_type == MODEL else f"{r.repo_type}:{r.branch}"
        branches[key] = entry
    record = {"schema_version": "llm360.publication/v1", "endpoint": endpoint,
              "repos": {"model": repos[MODEL], "dataset": repos[DATASET]}, "tag": tag,
              "manifest_sha256": hashlib.sha256(manifest_raw).hexdigest(),
              "release": {"name": manifest.release.name, "version": manifest.release.version},
              "branches": branches}
    path = release / PUBLICATION_FILE
    write_atomic(path, (json.dumps(record, sort_keys=True, indent=2) + "\n").encode())
    return path
