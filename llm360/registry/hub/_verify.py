"""``verify --hub``: the one verifier (``registry.verify.verifier.verify``) over a
``HubSource``, and the signature chain alone for ``pull``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from llm360.errors import InputError
from llm360.registry import layout
from llm360.registry.hub._client import HubClient
from llm360.registry.hub._layout import MAIN
from llm360.registry.hub._source import HubSource
from llm360.registry.manifest.models import Manifest
from llm360.registry.manifest.problems import Problem
from llm360.registry.manifest.serialize import manifest_from_bytes
from llm360.registry.signing import SignatureStatus
from llm360.registry.verify.parent import ParentCheck
from llm360.registry.verify.policy import TrustPolicy
from llm360.registry.verify.verifier import Report, verify

__all__ = ["verify_hub", "signed_manifest"]


def verify_hub(client: HubClient, repo: str, *, policy: TrustPolicy = TrustPolicy(),
               revision: str = MAIN, data_repo: str | None = None, download: bool = False,
               parent: ParentCheck | None = None,
               progress: Callable[[int], None] | None = None,
               on_total: Callable[[int], None] | None = None) -> tuple[Report, HubSource]:
    """Verify the release published at ``repo`` (its manifest read at ``revision``): the
    signature chain, then every place of every signed file on every branch of the layout and
    in the dataset repo, from the Hub's metadata (or, with ``download``, from the bytes);
    a derived release's link to its parent as ``parent`` says (``verify``)."""
    source = HubSource(client, repo, revision=revision, data_repo=data_repo, download=download)
    if source.read_bytes(layout.MANIFEST) is None:
        raise InputError(f"{source.description}: no {layout.MANIFEST}",
                         hint="is this a repository pushed by `llm360 push`? pass --revision "
                              "if the release is on another branch or tag")
    report = verify(source, policy, parent=parent, progress=progress, on_total=on_total)
    note = (f"{source.bytes_downloaded} bytes downloaded from the Hub "
            + ("(every file)" if download else "(small files only; sizes and sha256 of LFS/Xet "
               "files from the Hub's metadata)"))
    return replace(report, notes=report.notes + (note,)), source


def signed_manifest(source: HubSource, policy: TrustPolicy
                    ) -> tuple[bytes, Manifest | None, SignatureStatus, list[Problem]]:
    """(manifest bytes, manifest or None when the signature link is broken, what the
    signature check found, problems): the release signature and each checkpoint's model.sig,
    read from the Hub."""
    from llm360.registry.signing import (
        BUNDLE_FILE,
        check_checkpoint_signatures,
        check_manifest_signature,
    )

    raw = source.read_bytes(layout.MANIFEST)
    if raw is None:
        raise InputError(f"{source.description}: no {layout.MANIFEST}",
                         hint="is this a repository pushed by `llm360 push`?")
    sig = check_manifest_signature(raw, source.read_bytes(BUNDLE_FILE), policy)
    if not sig.ok and not sig.info.unsigned:
        return raw, None, sig.info, list(sig.problems)
    manifest = manifest_from_bytes(raw, source=f"{source.description}/{layout.MANIFEST}")
    if sig.info.verified:
        source.prefetch([layout.signature_path(c.name) for c in manifest.checkpoints])
    ckpt_problems, info = check_checkpoint_signatures(source.read_bytes, manifest, sig)
    return raw, manifest, info, list(sig.problems) + ckpt_problems
