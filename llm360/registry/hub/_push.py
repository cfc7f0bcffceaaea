"""Push a release folder to the Hub: one branch per checkpoint, ``main``, a dataset repo, a tag.

Before anything is written the release is verified as ``llm360 verify`` verifies it (the
caller's ``TrustPolicy``), and each repository must be new, empty or an llm360 release of the
same name (``_prepare``). Each branch is then brought to its planned content, exactly, by at
most one ``create_commit`` whose ``parent_commit`` is the head just listed: files the release
does not place there are deleted in that commit, so a branch is never half-written, never keeps
what verify --hub would reject, and a concurrent commit is an error (HTTP 412), not an
overwrite. What the Hub already holds (same path, size and sha256 for LFS/Xet files, same git
blob id for small files) is not uploaded again: a rerun after an interruption uploads only the
rest, a rerun on a complete repository makes no commit.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from llm360.errors import HubError, InputError, VerificationError
from llm360.registry._files import write_atomic
from llm360.registry.build.release_dir import PUBLICATION_FILE
from llm360.registry.hub._client import HubClient, RemoteFile
from llm360.registry.hub._layout import DATASET, MAIN, MODEL, branch_order, layout
from llm360.registry.hub._prepare import (
    IGNORED_REMOTE,
    VerifiedRelease,
    foreign,
    through_lfs,
    verified_release,
    xet_fallback,
)
from llm360.registry.hub._repo_id import validate_repo_id
from llm360.registry.manifest.models import Manifest, final_checkpoint
from llm360.registry.verify.parent import ParentCheck
from llm360.registry.verify.policy import TrustPolicy

__all__ = ["PushResult", "BranchResult", "push_release", "PUBLICATION_FILE", "git_blob_oid"]


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
    removed: tuple[str, ...] = ()   # were on the branch, not placed there by the release


@dataclass(frozen=True, kw_only=True)
class PushResult:
    endpoint: str
    repo: str
    data_repo: str | None
    tag: str
    branches: tuple[BranchResult, ...]
    publication: Path
    notes: tuple[str, ...] = field(default_factory=tuple)
    warnings: tuple[str, ...] = field(default_factory=tuple)  # opt-outs in force, mismatches

    @property
    def commits(self) -> int:
        return sum(b.committed for b in self.branches)

    @property
    def uploaded_bytes(self) -> int:
        return sum(b.uploaded_bytes for b in self.branches)

    def as_data(self) -> dict[str, Any]:
        return {"endpoint": self.endpoint, "repo": self.repo, "data_repo": self.data_repo,
                "tag": self.tag, "commits": self.commits, "uploaded_bytes": self.uploaded_bytes,
                "publication": str(self.publication), "notes": list(self.notes),
                "warnings": list(self.warnings),
                "branches": [{"repo": b.repo, "repo_type": b.repo_type, "branch": b.branch,
                              "commit": b.commit, "committed": b.committed, "files": b.files,
                              "uploaded_files": b.uploaded_files,
                              "uploaded_bytes": b.uploaded_bytes, "removed": list(b.removed)}
                             for b in self.branches]}


def git_blob_oid(data: bytes) -> str:
    """The git blob id the Hub reports for a regular (non-LFS) file."""
    return hashlib.sha1(b"blob %d\x00" % len(data) + data).hexdigest()


@dataclass(frozen=True, kw_only=True)
class _Local:
    release_path: str
    file: Path
    size: int     # as verified
    sha256: str   # as verified


def _same(local: _Local, remote: RemoteFile | None) -> bool:
    """The Hub holds ``local``'s verified bytes at that place (LFS/Xet files by the sha256 the
    Hub reports; small files by git blob id, of bytes that still have the verified sha256)."""
    if remote is None or remote.size != local.size:
        return False
    if remote.sha256 is not None:
        return remote.sha256 == local.sha256
    if local.size > 10 * 1024 * 1024:
        return False
    data = local.file.read_bytes()
    return hashlib.sha256(data).hexdigest() == local.sha256 and \
        remote.git_oid == git_blob_oid(data)


def push_release(client: HubClient, release: Path, repo: str | None = None, *,
                 policy: TrustPolicy, data_repo: str | None = None, private: bool = False,
                 overwrite_foreign: bool = False, parent: ParentCheck | None = None,
                 progress: Callable[[str], None] | None = None) -> PushResult:
    """Publish ``release`` to ``repo`` (default: the Hub repository its llm360.yaml links
    declare) and its data to ``data_repo`` (default: the declared dataset, else
    ``<repo>-data``); writes ``RELEASE/publication.json``. ``policy`` is what ``llm360 verify``
    would be given: the release must verify under it (a derived release's link to its parent
    as ``parent`` says: None leaves it unchecked, with a note). A repository that holds
    something other than this release is refused unless ``overwrite_foreign``. See the module
    docstring."""
    release = Path(release)
    say = progress or (lambda _msg: None)
    for given, option in ((repo, "--repo"), (data_repo, "--data-repo")):
        if given is not None:  # before the release is read: a typo costs nothing
            validate_repo_id(given, what=option)
    say(f"verifying {release}")
    checked = verified_release(release, policy, parent=parent)
    manifest = checked.manifest
    repos, warnings, notes = _targets(manifest, repo, data_repo)
    if checked.unsigned:
        warnings.insert(0, "the release is unsigned (--allow-unsigned): nobody can tell who "
                           "published it")
    plan = layout(manifest, checked.own)
    local = _local_files(checked)
    kinds = sorted({k for k, _ in plan})
    warnings += _owners(client, {k: repos[k] for k in kinds}, manifest.release.name,
                        overwrite_foreign)
    for kind in kinds:
        client.call(f"create {kind} repository {repos[kind]}", client.api.create_repo,
                    repos[kind], repo_type=kind, private=private, exist_ok=True)
    fallback = xet_fallback(client, repos[MODEL], MODEL)
    if fallback:
        notes.append(fallback)
    lfs = not client.xet or fallback is not None  # this push's uploads, not the process's
    heads = {kind: client.refs(repos[kind], kind) for kind in kinds}
    roots: dict[str, str] = {}
    results = []
    order = branch_order(plan)
    for i, (kind, branch) in enumerate(order, 1):
        files = {hub: local[rel] for hub, rel in plan[(kind, branch)].items()}
        say(f"[{i}/{len(order)}] {repos[kind]}@{branch}: {len(files)} files")
        results.append(_push_branch(client, repos[kind], kind, branch, files, heads[kind][0],
                                    roots, manifest, say, lfs=lfs))
    tag = f"v{manifest.release.version}"
    for kind in sorted(heads):
        head = next(r.commit for r in results if r.repo_type == kind and r.branch == MAIN)
        notes += _tag(client, repos[kind], kind, tag, head, heads[kind][1])
    publication = _write_publication(release, client.endpoint, manifest, checked.manifest_raw,
                                     repos, tag, results)
    return PushResult(endpoint=client.endpoint, repo=repos[MODEL],
                      data_repo=repos[DATASET] if DATASET in heads else None, tag=tag,
                      branches=tuple(results), publication=publication, notes=tuple(notes),
                      warnings=tuple(warnings))


def _targets(manifest: Manifest, repo: str | None, data_repo: str | None
             ) -> tuple[dict[str, str], list[str], list[str]]:
    """({MODEL: repo, DATASET: data repo}, warnings, notes): the given repositories, else the
    ones llm360.yaml declares (the cards name those), else ``<repo>-data`` for the data."""
    from llm360.registry.cards._hub_meta import hub_links
    from llm360.registry.cards._view import HUB_URL

    declared = hub_links(manifest.release.links)
    if repo is None:
        if declared.repo is None:
            raise InputError("no repository to push to: pass --repo ORG/NAME",
                             hint="or declare it in llm360.yaml (links: {hub: "
                                  "https://huggingface.co/ORG/NAME}) and rebuild")
        repo = validate_repo_id(declared.repo, what="llm360.yaml links.hub")
    data_repo = validate_repo_id(data_repo or declared.data_repo or f"{repo}-data",
                                 what="--data-repo")
    warnings: list[str] = []
    notes: list[str] = []
    for what, named, target in (("repository", declared.repo, repo),
                                ("dataset repository", declared.data_repo, data_repo)):
        if named is not None and named != target:
            warnings.append(f"the cards name {named} as the release's Hub {what} (llm360.yaml "
                            f"links), not {target}: their usage and links point there")
    if declared.repo is None:
        notes.append(f"the cards show how to load checkpoints from a release folder: declare "
                     f"links: {{hub: {HUB_URL}/{repo}}} in llm360.yaml and rebuild to have them "
                     f'show from_pretrained("{repo}", revision=...)')
    return {MODEL: repo, DATASET: data_repo}, warnings, notes


def _owners(client: HubClient, repos: dict[str, str], name: str,
            overwrite_foreign: bool) -> list[str]:
    """Refuse, before anything is written, a repository that is not new, empty or a release
    of ``name``; with ``overwrite_foreign``, the warnings saying whose content is replaced."""
    warnings = []
    for kind, repo in repos.items():
        holds = foreign(client, repo, kind, name)
        if holds is None:
            continue
        if not overwrite_foreign:
            raise InputError(f"{repo} ({kind}): not an llm360 release of {name}: {holds}; "
                             "refusing to overwrite it",
                             hint="push to another --repo / --data-repo, or pass "
                                  "--overwrite-foreign to replace its content")
        warnings.append(f"{repo} ({kind}) holds {holds}: replacing its content "
                        "(--overwrite-foreign)")
    return warnings


def _local_files(checked: VerifiedRelease) -> dict[str, _Local]:
    return {rel: _Local(release_path=rel, file=checked.folder / rel, size=size, sha256=sha)
            for rel, (size, sha) in checked.expected.items()}


def _root_commit(client: HubClient, repo: str, kind: str, roots: dict[str, str]) -> str:
    """The repository's first commit: new branches start there, empty of release files."""
    if repo not in roots:
        commits = client.call(f"list the commits of {repo}", client.api.list_repo_commits,
                              repo, repo_type=kind)
        roots[repo] = commits[-1].commit_id
    return roots[repo]


def _push_branch(client: HubClient, repo: str, kind: str, branch: str,
                 files: dict[str, _Local], branches: dict[str, str], roots: dict[str, str],
                 manifest: Manifest, say: Callable[[str], None], *,
                 lfs: bool) -> BranchResult:
    from huggingface_hub import CommitOperationAdd, CommitOperationDelete

    for attempt in range(client.retries + 1):
        exists = branch in branches
        remote = client.tree(repo, kind, branch) if exists else {}
        todo = {hub: f for hub, f in files.items() if not _same(f, remote.get(hub))}
        removed = tuple(sorted(set(remote) - set(files) - IGNORED_REMOTE))
        if not todo and not removed:
            return BranchResult(repo=repo, repo_type=kind, branch=branch,
                                commit=branches[branch], committed=False, files=len(files),
                                uploaded_files=0, uploaded_bytes=0)
        if not exists:
            start = _root_commit(client, repo, kind, roots)
            client.call(f"create branch {branch} of {repo}", client.api.create_branch, repo,
                        branch=branch, revision=start, repo_type=kind, exist_ok=True)
            # the branch starts at the root commit; had someone else created it meanwhile,
            # the commit below fails on parent_commit instead of overwriting theirs
            branches[branch] = start
        adds = [CommitOperationAdd(path_in_repo=hub, path_or_fileobj=str(f.file))
                for hub, f in sorted(todo.items())]
        for op, (_hub, f) in zip(adds, sorted(todo.items())):
            if op.upload_info.sha256.hex() != f.sha256 or op.upload_info.size != f.size:
                raise VerificationError(f"{f.file}: changed since the release was verified "
                                        "(its sha256 is not the signed one); refusing to "
                                        "publish", artifact=f.release_path)
        ops = [*adds, *(CommitOperationDelete(path_in_repo=hub) for hub in removed)]
        say(f"  uploading {len(adds)} files, {sum(f.size for f in todo.values())} bytes"
            + (f"; removing {len(removed)} files the release does not place there"
               if removed else ""))
        try:
            with through_lfs(lfs):
                info = client.call(f"commit to {repo}@{branch}", client.api.create_commit,
                                   repo, operations=ops,
                                   commit_message=_message(manifest, branch),
                                   revision=branch, repo_type=kind,
                                   parent_commit=branches[branch])
        except HubError as exc:
            if not exc.transient or attempt == client.retries:
                raise
            branches.update(client.refs(repo, kind)[0])  # did the commit land? look again
            continue
        branches[branch] = info.oid
        return BranchResult(repo=repo, repo_type=kind, branch=branch, commit=info.oid,
                            committed=True, files=len(files), uploaded_files=len(adds),
                            uploaded_bytes=sum(f.size for f in todo.values()),
                            removed=removed)
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
    branches: dict[str, dict[str, str | int]] = {}
    for r in results:
        entry: dict[str, str | int] = {"repo": r.repo, "repo_type": r.repo_type, "commit": r.commit}
        ckpt = manifest.checkpoint(r.branch) if r.repo_type == MODEL else None
        if r.repo_type == MODEL and r.branch == MAIN:
            ckpt = final_checkpoint(manifest)
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
