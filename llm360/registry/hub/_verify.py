"""``verify --hub``: the signed manifest from the Hub, then every place of every file of the
layout against it, from the Hub's metadata (or, with ``download``, from the bytes)."""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Callable
from pathlib import Path

from llm360.errors import InputError
from llm360.registry import lineage
from llm360.registry.hub._client import HubClient
from llm360.registry.hub._layout import MAIN
from llm360.registry.hub._source import HubSource
from llm360.registry.lineage import Problem
from llm360.registry.models import Manifest
from llm360.registry.serialize import manifest_from_bytes
from llm360.registry.sources import Located
from llm360.registry.verify import Report

__all__ = ["verify_hub", "compare_located", "signed_manifest"]


def verify_hub(client: HubClient, repo: str, *, revision: str = MAIN,
               data_repo: str | None = None, download: bool = False,
               key: Path | None = None, identity: str | None = None,
               issuer: str | None = None, offline: bool = False,
               trust_config: Path | None = None, staging: bool = False,
               allow_unsigned: bool = False,
               progress: Callable[[int], None] | None = None) -> tuple[Report, HubSource]:
    """Verify the release published at ``repo`` (see the module docstring)."""
    source = HubSource(client, repo, revision=revision, data_repo=data_repo, download=download)
    policy = dict(key=key, identity=identity, issuer=issuer, offline=offline,
                  trust_config=trust_config, staging=staging, allow_unsigned=allow_unsigned)
    raw, manifest, sig, problems, notes = signed_manifest(source, **policy)
    manifest_sha = hashlib.sha256(raw).hexdigest()
    if manifest is None:
        return Report(manifest=f"{source.description}/manifest.json",
                      manifest_sha256=manifest_sha, root=source.description,
                      files_checked=0, bytes_checked=0, problems=tuple(problems),
                      strict=True, notes=tuple(notes), signature=sig.info), source
    problems += lineage.check(manifest)
    expected = [a.path for a in manifest.artifacts] + source.release_files(manifest)
    located = source.locate(expected, manifest=manifest, progress=progress)
    artifacts = {a.path for a in manifest.artifacts}
    source.prefetch([p for p in expected if p not in artifacts])
    own = {p: source.read_bytes(p) for p in expected if p not in artifacts}
    canonical = {p: (len(b), hashlib.sha256(b).hexdigest()) for p, b in own.items()
                 if b is not None}
    problems += compare_located(manifest, located, canonical)
    checked = [x for x in located if x.size is not None and x.sha256 is not None]
    notes.append(f"{source.bytes_downloaded} bytes downloaded from the Hub "
                 + ("(every file)" if download else "(small files only; sizes and sha256 of "
                    "LFS/Xet files from the Hub's metadata)"))
    return Report(manifest=f"{source.description}/manifest.json", manifest_sha256=manifest_sha,
                  root=source.description, files_checked=len(checked),
                  bytes_checked=sum(x.size for x in checked), problems=tuple(problems),
                  strict=True, notes=tuple(notes), signature=sig.info), source


def signed_manifest(source: HubSource, **policy):
    """(raw, manifest or None if the signature link is broken, SignatureCheck, problems,
    notes): the manifest, its bundle and every checkpoint's model.sig read from the Hub and
    checked as ``verify`` checks a local release."""
    from llm360.registry.signing import (
        BUNDLE_FILE, check_checkpoint_signatures, check_manifest_signature,
    )

    raw = source.read_bytes("manifest.json")
    if raw is None:
        raise InputError(f"{source.description}: no manifest.json",
                         hint="is this a repository pushed by `llm360 push`? pass --revision "
                              "if the release is on another branch or tag")
    notes: list[str] = []
    with tempfile.TemporaryDirectory(prefix="llm360-hub-") as tmp:
        tmp_path = Path(tmp)
        (tmp_path / "manifest.json").write_bytes(raw)
        bundle = source.read_bytes(BUNDLE_FILE)
        if bundle is not None:
            (tmp_path / BUNDLE_FILE).write_bytes(bundle)
        sig = check_manifest_signature(tmp_path / "manifest.json", raw, **policy)
        if sig.info.get("unsigned") and policy.get("allow_unsigned"):
            notes.append("the manifest is unsigned: accepted because of --allow-unsigned")
        if not sig.ok and not sig.info.get("unsigned"):
            notes.append("nothing else was checked: the signature link is broken")
            return raw, None, sig, list(sig.problems), notes
        manifest = manifest_from_bytes(raw, source=f"{source.description}/manifest.json")
        if bundle is not None:
            source.prefetch([f"signatures/{c.name}/model.sig" for c in manifest.checkpoints])
        for ckpt in manifest.checkpoints:
            rel = f"signatures/{ckpt.name}/model.sig"
            data = source.read_bytes(rel) if bundle is not None else None
            if data is not None:
                (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
                (tmp_path / rel).write_bytes(data)
        problems: list[Problem] = list(sig.problems)
        problems += check_checkpoint_signatures(tmp_path, manifest, sig)
    return raw, manifest, sig, problems, notes


def compare_located(manifest: Manifest, located: list[Located],
                    release_files: dict[str, tuple[int, str]]) -> list[Problem]:
    """Missing, extra and changed places; a weight file that equals another checkpoint's
    weights is named as such. ``release_files``: path -> (size, sha256) of the canonical copy
    of each release file that is not an artifact."""
    by_path = {a.path: a for a in manifest.artifacts}
    weights = {}
    for ckpt in manifest.checkpoints:
        for p in ckpt.files:
            art = by_path.get(p)
            if art is not None and art.kind == "weights":
                weights.setdefault(art.sha256, ckpt.name)
    chunks = {c.sha256: c.path for c in manifest.data.chunks}
    problems = []
    for loc in located:
        if loc.path is None:
            problems.append(Problem(code="extra", path=loc.where, message=(
                f"{loc.where}: not part of the release")))
            continue
        art = by_path.get(loc.path)
        want = (art.size, art.sha256) if art is not None else release_files.get(loc.path)
        if loc.size is None:
            problems.append(Problem(code="missing", path=loc.path, message=(
                f"{loc.where}: missing ({loc.path} of the release)")))
        elif want is None:
            problems.append(Problem(code="missing", path=loc.path, message=(
                f"{loc.where}: the release's own copy of {loc.path} is missing")))
        elif loc.sha256 is None:
            problems.append(Problem(code="unverified", path=loc.path, message=(
                f"{loc.where}: its sha256 is unknown (a {loc.size}-byte regular file); "
                "rerun with --download to check its bytes")))
        elif (loc.size, loc.sha256) != want:
            other = weights.get(loc.sha256) or chunks.get(loc.sha256)
            what = (f"it serves the weights of checkpoint {other}" if loc.sha256 in weights
                    else f"it holds {other}" if other else
                    f"size {loc.size}, sha256 {loc.sha256[:16]}...")
            problems.append(Problem(code="sha256" if loc.size == want[0] else "size",
                                    path=loc.path, message=(
                f"{loc.where}: changed: {what}; the release says {loc.path} has size "
                f"{want[0]}, sha256 {want[1][:16]}...")))
    return problems
