"""Pull one checkpoint of a published release into a run directory, every byte checked against
the signed manifest, so that ``llm360 train --run OUT --resume-from OUT/checkpoints/CKPT``
continues exactly as the published run did.

Fetched: the checkpoint's files (from its branch), the run's records from ``main`` (llm360.yaml,
config/, tokenizer/, code/provenance.json, logs/) and, with ``data``, everything under ``data/``
from the dataset repository. Each file is streamed to a temporary name inside ``OUT/.llm360``,
its size and sha256 checked against the manifest, then moved into place; a file already in
place with the right bytes is kept (a rerun resumes), one with other bytes is an error (nothing
llm360 did not write is overwritten). The pull holds the run's writer lock (``run.lock``: no
trainer writes it meanwhile) and removes the temporary files a killed pull left.

The manifest and every file of ``main`` are read at the commit the revision names when the pull
starts, and the pulled run records where it comes from in ``config/derived_from.json`` (the
release's repo, that commit, its manifest's sha256 and signer, the checkpoint's name, step,
tokens and root digest; relation ``continuation``): a release built from what is trained on top
derives from this checkpoint (the parent's own ``config/derived_from.json`` is not pulled).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llm360.errors import InputError, VerificationError
from llm360.registry import layout as run_layout
from llm360.registry._files import resolve_inside, write_atomic
from llm360.registry.build.hashing import hash_files
from llm360.registry.hub._client import HubClient
from llm360.registry.hub._layout import DATASET, MAIN, MODEL, layout
from llm360.registry.hub._parent import signed_release
from llm360.registry.hub._repo_id import validate_repo_id
from llm360.registry.hub._source import HubSource
from llm360.registry.manifest.models import Artifact, Checkpoint, DerivedFrom, Manifest
from llm360.registry.run.derived import link_to, read_derived_from, write_derived_from
from llm360.registry.run.lock import lock_run
from llm360.registry.signing import SignatureStatus
from llm360.registry.verify.policy import TrustPolicy

__all__ = ["PullResult", "pull_checkpoint"]

_RUN_RECORDS = (run_layout.RUN_METADATA, *(f"{d}/" for d in (
    run_layout.CONFIG_DIR, run_layout.TOKENIZER_DIR, run_layout.CODE_DIR, run_layout.LOGS_DIR)))


@dataclass(frozen=True, kw_only=True)
class PullResult:
    run: Path
    checkpoint: str
    step: int
    tokens_seen: int
    files: int
    downloaded_files: int
    downloaded_bytes: int
    manifest_sha256: str
    signature: SignatureStatus
    derived_from: DerivedFrom | None = None   # what the pulled run records it continues

    def as_data(self) -> dict[str, Any]:
        return {"run": str(self.run), "checkpoint": self.checkpoint, "step": self.step,
                "tokens_seen": self.tokens_seen, "files": self.files,
                "downloaded_files": self.downloaded_files,
                "downloaded_bytes": self.downloaded_bytes,
                "manifest_sha256": self.manifest_sha256,
                "signature": self.signature.as_data(),
                "derived_from": {"file": run_layout.DERIVED_FROM,
                                 "link": self.derived_from.label,
                                 "location": self.derived_from.location,
                                 "relation": self.derived_from.relation}
                if self.derived_from is not None else None,
                "resume": f"llm360 train --run {self.run} --resume-from "
                          f"{self.run}/{run_layout.checkpoint_dir(self.checkpoint)}"}


def pull_checkpoint(client: HubClient, repo: str, checkpoint: str, out: Path, *,
                    policy: TrustPolicy = TrustPolicy(), data: bool = False,
                    data_repo: str | None = None, revision: str = MAIN,
                    progress: Callable[[int], None] | None = None,
                    on_total: Callable[[int], None] | None = None) -> PullResult:
    """See the module docstring; ``policy`` says whom the signature must name, as for
    ``verify``."""
    repo = validate_repo_id(repo, what="repository")
    source, raw, manifest, sig = signed_release(
        client, repo, revision=revision, data_repo=data_repo, policy=policy,
        refused="nothing was pulled: the release's signature does not hold")
    ckpt = manifest.checkpoint(checkpoint)
    if ckpt is None:
        names = ", ".join(c.name for c in manifest.checkpoints[:6])
        raise InputError(f"--checkpoint {checkpoint}: not in the release (it has {names}"
                         f"{', ...' if len(manifest.checkpoints) > 6 else ''})")
    wanted = _wanted(manifest, ckpt, data, where=source.description)
    link = link_to(manifest, raw, ckpt.name, signature=sig, repo=repo,
                   revision=source.revision, data_repo=source.data_repo)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    with lock_run(out, command="llm360 pull"):  # one writer per run, a trainer included
        return _pull_into(client, out, manifest, raw, ckpt, link, wanted, sig,
                          source=source, on_total=on_total, progress=progress)


def _pull_into(client: HubClient, out: Path, manifest: Manifest, raw: bytes, ckpt: Checkpoint,
               link: DerivedFrom, wanted: list[tuple[str, str, str, Artifact]],
               sig: SignatureStatus, *, source: HubSource,
               on_total: Callable[[int], None] | None,
               progress: Callable[[int], None] | None) -> PullResult:
    """The files of ``wanted`` into ``out`` (whose writer lock is held), then the records of
    where they come from."""
    had = read_derived_from(out)
    if had is not None:
        if (had.release, had.checkpoint) != (link.release, link.checkpoint):
            raise InputError(f"{out}/{run_layout.DERIVED_FROM}: the run already continues "
                             f"{had.label} ({had.location}), not {link.label}",
                             hint="pull into a new --out folder")
        link = had  # a rerun: keep what a resume recorded since (a fork)
    tmp_dir = _own_folder(out, f"{run_layout.CACHE_DIR}/pull")
    for stale in tmp_dir.glob("*.part"):  # a pull killed midway (no writer holds the run now)
        if stale.is_file() and not stale.is_symlink():
            stale.unlink()
    todo = _not_in_place(out, wanted)
    if on_total is not None:
        on_total(sum(a.size for _, _, _, a in todo))
    got_bytes = 0
    for kind, branch, hub, art in todo:
        dest = resolve_inside(out, art.path, where="manifest artifact")
        part = _new_part(tmp_dir)
        repo_id = source.repo if kind == MODEL else source.data_repo
        rev = source.revision if (kind, branch) == (MODEL, MAIN) else branch
        try:
            size, sha = client.download(repo_id, kind, rev, hub, part, limit=art.size,
                                        progress=progress)
        except BaseException:
            part.unlink(missing_ok=True)
            raise
        got_bytes += size
        if (size, sha) != (art.size, art.sha256):
            part.unlink(missing_ok=True)
            raise VerificationError(
                f"hub:{repo_id}@{branch}/{hub}: size {size}, sha256 {sha[:16]}... is not "
                f"{art.path} of the signed manifest (size {art.size}, sha256 "
                f"{art.sha256[:16]}...)", artifact=art.path,
                hint="the Hub serves other bytes than were signed; run `llm360 verify --hub`")
        dest.parent.mkdir(parents=True, exist_ok=True)
        os.chmod(part, 0o644)
        os.replace(part, dest)
    write_atomic(resolve_inside(out, f"{run_layout.CACHE_DIR}/pulled-manifest.json"), raw)
    write_derived_from(out, link)
    try:
        tmp_dir.rmdir()
    except OSError:
        pass
    return PullResult(run=out, checkpoint=ckpt.name, step=ckpt.step,
                      tokens_seen=ckpt.tokens_seen, files=len(wanted),
                      downloaded_files=len(todo), downloaded_bytes=got_bytes,
                      manifest_sha256=hashlib.sha256(raw).hexdigest(), signature=sig,
                      derived_from=link)


def _wanted(manifest: Manifest, ckpt: Checkpoint, data: bool, *, where: str
            ) -> list[tuple[str, str, str, Artifact]]:
    """(repo kind, branch, hub path, artifact) of every file to pull: each file of ``ckpt``
    from its branch (the final checkpoint's from main where it has no branch of its own), the
    run's records from main and, with ``data``, ``data/`` from the dataset repo. A file of the
    checkpoint that the layout places nowhere is a ``VerificationError``: it was never
    published, and a pull without it is no checkpoint."""
    plan = layout(manifest)
    by_path = {a.path: a for a in manifest.artifacts}
    wanted: list[tuple[str, str, str, Artifact]] = []
    for rel in ckpt.files:
        places = [(branch, hub) for branch in (ckpt.name, MAIN)
                  for hub, placed in plan.get((MODEL, branch), {}).items() if placed == rel]
        art = by_path.get(rel)
        if not places or art is None:
            raise VerificationError(
                f"{where}: {rel} of checkpoint {ckpt.name} is published nowhere on the Hub "
                "(the checkpoint has no branch of its own)", artifact=rel,
                hint="nothing was pulled; run `llm360 verify --hub` for the full report")
        branch, hub = places[0]
        wanted.append((MODEL, branch, hub, art))
    for hub, rel in plan[(MODEL, MAIN)].items():
        art = by_path.get(rel)
        if art is not None and hub == rel and rel.startswith(_RUN_RECORDS) \
                and rel != run_layout.DERIVED_FROM:  # the parent's own origin, not the pull's
            wanted.append((MODEL, MAIN, hub, art))
    if data:
        for hub, rel in plan.get((DATASET, MAIN), {}).items():
            art = by_path.get(rel)
            if art is not None and rel.startswith(run_layout.DATA_DIR + "/"):
                wanted.append((DATASET, MAIN, hub, art))
    return wanted


def _not_in_place(out: Path, wanted: list[tuple[str, str, str, Artifact]]
                  ) -> list[tuple[str, str, str, Artifact]]:
    present = [a.path for _, _, _, a in wanted if resolve_inside(out, a.path).is_file()]
    digests = {d.path: d for d in hash_files(out, present)} if present else {}
    todo = []
    for item in wanted:
        art = item[3]
        have = digests.get(art.path)
        if have is None:
            todo.append(item)
        elif (have.size, have.sha256) != (art.size, art.sha256):
            raise InputError(f"{out / art.path}: exists with other bytes than the release's "
                             f"{art.path}; refusing to overwrite it",
                             hint="pull into a new --out folder")
    return todo


def _own_folder(out: Path, rel: str) -> Path:
    """``out/rel``, made, refused where it (or a folder on the way) is a symbolic link."""
    folder = resolve_inside(out, rel, where="pull folder")
    folder.mkdir(parents=True, exist_ok=True)
    return resolve_inside(out, rel, where="pull folder")


def _new_part(folder: Path) -> Path:
    """A new, empty file of a name nobody could plant a link at (``mkstemp``: O_EXCL)."""
    fd, name = tempfile.mkstemp(suffix=".part", dir=folder)
    os.close(fd)
    return Path(name)
