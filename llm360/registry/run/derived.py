"""A run that continues a checkpoint of another release: ``config/derived_from.json``.

The record is the manifest's ``DerivedFrom`` (``llm360.registry.manifest.models``) with a
``schema_version``: the same typed, frozen dataclass in the run and in the release (manifest
v1.3), so ``release build`` copies it and ``verify`` compares the two as it compares every
other field. ``llm360 pull`` writes it, ``llm360 train --resume-from`` keeps it (a fork turns
a ``continuation`` into a ``fork``), ``run import-checkpoints --derived-from`` and
``RunWriter(derived_from=...)`` set it.

The parent checkpoint is referenced, never released again: a run may hold a copy of it (the
pulled ``checkpoints/NAME/``), which the build leaves out of the release after checking that
its root digest is the recorded one (``checks.derived_problems``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from llm360.errors import InputError
from llm360.registry import layout
from llm360.registry._files import resolve_inside, write_atomic
from llm360.registry.manifest.models import (
    RELATIONS,
    DerivedFrom,
    Manifest,
    ParentCheckpoint,
    ParentRelease,
    ParentSigner,
)
from llm360.registry.manifest.schema import validate
from llm360.registry.manifest.serialize import (
    canonical_json,
    from_data,
    parse_json,
    read_bytes,
    to_data,
)

if TYPE_CHECKING:  # signing imports verify, which imports run
    from llm360.registry.signing import SignatureStatus

__all__ = ["DERIVED_FROM_VERSION", "RELATIONS", "derived_from_bytes", "parse_derived_from",
           "derived_from_of", "read_derived_from", "write_derived_from", "signer_of",
           "link_to", "with_relation"]

DERIVED_FROM_VERSION = "llm360.derived_from/v1"


def derived_from_bytes(link: DerivedFrom) -> bytes:
    """``config/derived_from.json``: sorted-key canonical JSON, checked against its schema."""
    data = {"schema_version": DERIVED_FROM_VERSION, **to_data(link)}
    validate(data, "derived_from", source=layout.DERIVED_FROM)
    return canonical_json(data, source=layout.DERIVED_FROM)


def derived_from_of(data: Mapping[str, Any]) -> DerivedFrom:
    """The ``DerivedFrom`` of validated record data (``RunRecords.derived_from``)."""
    return from_data(DerivedFrom, {k: v for k, v in data.items() if k != "schema_version"})


def parse_derived_from(raw: bytes, *, source: str) -> DerivedFrom:
    """Parse and validate the bytes of a ``config/derived_from.json``."""
    data = parse_json(raw, source=source)
    validate(data, "derived_from", source=source)
    return derived_from_of(data)


def read_derived_from(run: Path) -> DerivedFrom | None:
    """The run's ``config/derived_from.json`` (None when it has none)."""
    path = resolve_inside(Path(run), layout.DERIVED_FROM, where="run file")
    if not path.is_file():
        return None
    return parse_derived_from(read_bytes(path, str(path), limit=1 << 20), source=str(path))


def write_derived_from(run: Path, link: DerivedFrom, *, replace: bool = False) -> bool:
    """Write ``config/derived_from.json`` (atomically; never through a link). Other bytes
    already there are refused unless ``replace`` (llm360 wrote them: a resume that forks).
    Returns whether the file changed."""
    raw = derived_from_bytes(link)
    path = resolve_inside(Path(run), layout.DERIVED_FROM, where="run file")
    if path.is_file():
        have = read_bytes(path, str(path), limit=1 << 20)
        if have == raw:
            return False
        if not replace:
            raise InputError(f"{path}: the run already continues another checkpoint "
                             f"({parse_derived_from(have, source=str(path)).label}); "
                             "refusing to overwrite it",
                             hint="continue that checkpoint in this run, or use a new run "
                                  "directory")
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(resolve_inside(Path(run), layout.DERIVED_FROM, where="run file"), raw)
    return True


def with_relation(link: DerivedFrom, relation: str) -> DerivedFrom:
    """``link`` with another relation (one of ``RELATIONS``)."""
    if relation not in RELATIONS:
        raise InputError(f"relation {relation!r} is not one of {', '.join(RELATIONS)}")
    return DerivedFrom(relation=relation, release=link.release, checkpoint=link.checkpoint)


def signer_of(info: SignatureStatus) -> ParentSigner:
    """The parent's signer from what signature verification found (``SignatureCheck.info``
    / ``Report.signature``)."""
    if info.unsigned or info.method not in ("key", "sigstore"):
        return ParentSigner(method="unsigned")
    if info.method == "key":
        return ParentSigner(method="key", key_fingerprint=info.key_fingerprint)
    return ParentSigner(method="sigstore", identity=info.identity, issuer=info.issuer)


def link_to(manifest: Manifest, manifest_bytes: bytes, checkpoint: str, *,
            signature: SignatureStatus, relation: str = "continuation",
            repo: str | None = None, revision: str | None = None,
            data_repo: str | None = None) -> DerivedFrom:
    """The link to ``checkpoint`` of the release ``manifest`` (whose bytes are
    ``manifest_bytes``, signed as ``signature`` says)."""
    ckpt = manifest.checkpoint(checkpoint)
    if ckpt is None:
        names = ", ".join(c.name for c in manifest.checkpoints[:6])
        raise InputError(f"{checkpoint}: not a checkpoint of {manifest.release.name} "
                         f"{manifest.release.version} (it has {names}"
                         f"{', ...' if len(manifest.checkpoints) > 6 else ''})")
    if relation not in RELATIONS:
        raise InputError(f"relation {relation!r} is not one of {', '.join(RELATIONS)}")
    return DerivedFrom(
        relation=relation,
        release=ParentRelease(name=manifest.release.name, version=manifest.release.version,
                              manifest_sha256=hashlib.sha256(manifest_bytes).hexdigest(),
                              signer=signer_of(signature), repo=repo, revision=revision,
                              data_repo=data_repo),
        checkpoint=ParentCheckpoint(name=ckpt.name, step=ckpt.step,
                                    tokens_seen=ckpt.tokens_seen,
                                    root_digest=ckpt.root_digest))
