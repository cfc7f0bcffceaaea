"""``llm360 export``: a verified release as Croissant, SPDX or CycloneDX.

The release is verified first, as ``llm360 verify`` does under the same ``TrustPolicy``: a
release whose signature or bytes fail is refused, and the records the export reads are checked
against the manifest's sha256 as they are read. The document is the one ``release build``
wrote into the release (``croissant.json``, ``bom.spdx.json``, ``bom.cdx.json``: signed through
``release-files.json``), its bytes checked against that list; only a release built before the
exports existed has it rendered from its verified manifest and records.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from llm360 import __version__
from llm360.errors import InputError, UnsafePathError, VerificationError
from llm360.registry._files import write_atomic
from llm360.registry.analysis.exports import _croissant, _cyclonedx, _spdx
from llm360.registry.analysis.exports._common import (
    FILES,
    FORMATS,
    ReleaseFacts,
    dumps,
    release_facts,
)
from llm360.registry.build.release_dir import RELEASE_FILES, read_release_files
from llm360.registry.run.records import DataConfig, DataIndex, EvalRecord, Record
from llm360.registry.signing import SignatureStatus
from llm360.registry.verify.open import OpenedRelease, open_release
from llm360.registry.verify.policy import TrustPolicy

__all__ = ["ExportResult", "render", "render_all", "facts_of_release", "export_release",
           "write_export"]

R = TypeVar("R", bound=Record)
_WRITERS = {"croissant": _croissant.document, "spdx": _spdx.document,
            "cyclonedx": _cyclonedx.document}


@dataclass(frozen=True, kw_only=True)
class ExportResult:
    """An export: its bytes, where they were written (None: nowhere) and what the
    verification found (``signature``: the report's; ``opt_outs``: weakening flags used)."""

    format: str
    release: str
    version: str
    data: bytes
    out: Path | None
    signature: SignatureStatus
    opt_outs: tuple[str, ...] = ()

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


def render(facts: ReleaseFacts, fmt: str) -> bytes:
    """The document of ``fmt`` (one of ``FORMATS``), as the release file holds it."""
    writer = _WRITERS.get(fmt)
    if writer is None:
        raise InputError(f"--format: {fmt!r} is not one of {', '.join(FORMATS)}")
    return dumps(writer(facts))


def render_all(facts: ReleaseFacts) -> dict[str, bytes]:
    """Release path -> bytes of every export."""
    return {FILES[fmt]: render(facts, fmt) for fmt in FORMATS}


def facts_of_release(source: OpenedRelease) -> ReleaseFacts:
    """The facts of an opened release; each record read is checked against its sha256."""
    m = source.manifest

    def record(rel: str | None, cls: type[R]) -> R | None:
        return (cls.from_json(source.read(rel), source=rel)
                if rel and m.artifact(rel) is not None else None)

    evals = {c.eval: record(c.eval, EvalRecord) for c in m.checkpoints if c.eval}
    return release_facts(
        m, source.manifest_sha256, data_config=record(m.training.data_config, DataConfig),
        data_index=record(m.data.index, DataIndex),
        evals={k: v for k, v in evals.items() if v is not None}, tool_version=__version__)


def export_release(release: Path, fmt: str, *, root: Path | None = None,
                   policy: TrustPolicy = TrustPolicy(), out: Path | None = None
                   ) -> ExportResult:
    """Verify ``release`` (a folder or its ``manifest.json``) under ``policy``, then write its
    ``fmt`` document to ``out`` (None: only return it). ``root`` holds the artifacts of a
    metadata-only release."""
    from llm360.registry.verify.verifier import verify_release

    if fmt not in FORMATS:
        raise InputError(f"--format: {fmt!r} is not one of {', '.join(FORMATS)}")
    report = verify_release(Path(release), root, policy=policy)
    if not report.ok:
        first = report.failures[0]
        more = f" (and {len(report.failures) - 1} more)" if len(report.failures) > 1 else ""
        if report.signature.unsigned and not policy.names_signer \
                and not policy.allow_unsigned:
            raise InputError(f"{release}: {first.message}",
                             hint="export an unsigned release with --allow-unsigned")
        raise VerificationError(f"{release}: verification failed: {first.message}{more}",
                                artifact=first.file,
                                hint="a release is exported only when it verifies; run "
                                     "`llm360 verify` for the full report")
    source = open_release(release, root=root)
    data = _signed_export(source, fmt)
    if data is None:  # a release built before exports existed
        data = render(facts_of_release(source), fmt)
    if out is not None:
        write_export(Path(out), data)
    m = source.manifest
    return ExportResult(format=fmt, release=m.release.name, version=m.release.version,
                        data=data, out=Path(out) if out is not None else None,
                        signature=report.signature, opt_outs=report.opt_outs)


def _signed_export(source: OpenedRelease, fmt: str) -> bytes | None:
    """The release's own document of ``fmt``, its sha256 checked against the signed
    ``release-files.json`` (which ``verify_release`` has just checked); None when the release
    lists none."""
    name = FILES[fmt]
    listed = source.release_file(RELEASE_FILES)
    if listed is None:
        return None
    entry = next((f for f in read_release_files(listed, source=RELEASE_FILES).files
                  if f.path == name), None)
    if entry is None:
        return None
    data = source.release_file(name)
    if data is None or hashlib.sha256(data).hexdigest() != entry.sha256:
        raise VerificationError(f"{name}: not the bytes release-files.json lists (changed "
                                "since the release was verified?)", artifact=name,
                                hint="run `llm360 verify` on the release")
    return data


def write_export(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically; an existing file is replaced only when it
    holds these bytes already (nothing llm360 did not write is overwritten), a link never."""
    if path.is_symlink():
        raise UnsafePathError(f"{path}: is a symbolic link; refusing to write through it",
                              hint="choose another --out path")
    if path.exists():
        try:
            same = path.is_file() and path.read_bytes() == data
        except OSError:
            same = False
        if not same:
            raise InputError(f"{path}: exists; refusing to overwrite it",
                             hint="remove it or choose another --out path")
        return
    write_atomic(path, data)
