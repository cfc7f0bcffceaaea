"""Manifest -> report: schema, every artifact's presence, size and sha256, extra files, lineage,
and (when the root is a run directory) every manifest field against what the run says."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from llm360.errors import InputError, Llm360Error
from llm360.registry import lineage
from llm360.registry._files import list_files, resolve_inside
from llm360.registry._run import read_run
from llm360.registry.build import SOURCE_FILE, assemble
from llm360.registry.hashing import FileDigest, hash_files
from llm360.registry.lineage import Problem
from llm360.registry.models import Manifest
from llm360.registry.serialize import manifest_from_bytes, to_data

__all__ = ["Report", "Problem", "verify_release", "default_root"]


@dataclass(frozen=True, kw_only=True)
class Report:
    """What ``verify`` found: problems (each naming its artifact) and what was checked."""

    manifest: str
    manifest_sha256: str
    root: str
    files_checked: int
    bytes_checked: int
    problems: tuple[Problem, ...]
    strict: bool
    notes: tuple[str, ...] = ()
    signature: dict = field(default_factory=dict)

    @property
    def failures(self) -> tuple[Problem, ...]:
        """Problems that fail verification (extra files only under ``strict``)."""
        return tuple(p for p in self.problems if p.code != "extra" or self.strict)

    @property
    def ok(self) -> bool:
        return not self.failures

    def as_data(self) -> dict:
        return {
            "ok": self.ok, "manifest": self.manifest, "manifest_sha256": self.manifest_sha256,
            "root": self.root, "files_checked": self.files_checked,
            "bytes_checked": self.bytes_checked, "strict": self.strict,
            "notes": list(self.notes), "signature": self.signature,
            "problems": [{"code": p.code, "path": p.path, "message": p.message,
                          "fails": p.code != "extra" or self.strict} for p in self.problems],
        }


def default_root(manifest_path: Path) -> Path:
    """The run directory the release was built from, else the manifest's own folder."""
    release = Path(manifest_path).parent
    source = release / SOURCE_FILE
    try:
        run = Path(json.loads(source.read_text("utf-8"))["run"])
        if run.is_dir():
            return run
    except (OSError, ValueError, KeyError, TypeError):
        pass
    return release


def verify_release(manifest_path: Path, root: Path | None = None, *, strict: bool = False,
                   progress: Callable[[int], None] | None = None,
                   on_total: Callable[[int], None] | None = None,
                   check_bytes: bool = True, allow_unsigned: bool = False,
                   key: Path | None = None, identity: str | None = None,
                   issuer: str | None = None, offline: bool = False,
                   trust_config: Path | None = None, staging: bool = False) -> Report:
    """Verify a release's signature, its manifest and every byte it lists against ``root``.

    The signature comes first (``manifest.sigstore.json`` beside the manifest, checked with the
    pinned public ``key`` or the keyless ``identity`` + ``issuer``; ``offline`` /
    ``trust_config`` / ``staging`` choose the Sigstore trust root), then the manifest's sha256
    against the signed subject, then each checkpoint's OMS signature, then every byte. A broken
    signature link is a ``Problem`` with code ``signature`` and nothing else is checked. An
    unsigned manifest fails unless ``allow_unsigned``.

    Bad input (a missing, malformed or wrong-version manifest, a missing root, an identity
    without an issuer, a signed release without ``key``/``identity``) raises ``InputError``;
    everything that differs is a ``Problem`` in the report.
    """
    manifest_path = Path(manifest_path)
    try:
        raw = manifest_path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{manifest_path}: manifest not found") from None
    except IsADirectoryError:
        raise InputError(f"{manifest_path}: is a directory; pass RELEASE/manifest.json") from None
    from llm360.registry.signing import check_checkpoint_signatures, check_manifest_signature

    root = Path(root) if root is not None else default_root(manifest_path)
    if not root.is_dir():
        raise InputError(f"{root}: root directory not found",
                         hint="pass --root with the run directory the release was built from")
    sig = check_manifest_signature(manifest_path, raw, key=key, identity=identity,
                                   issuer=issuer, offline=offline, trust_config=trust_config,
                                   staging=staging, allow_unsigned=allow_unsigned)
    signature = sig.info
    notes: list[str] = []
    if signature.get("unsigned") and allow_unsigned:
        notes.append("the manifest is unsigned: accepted because of --allow-unsigned")
    if not sig.ok and not signature.get("unsigned"):
        notes.append("nothing else was checked: the signature link is broken")
        return Report(manifest=str(manifest_path),
                      manifest_sha256=hashlib.sha256(raw).hexdigest(), root=str(root),
                      files_checked=0, bytes_checked=0, problems=tuple(sig.problems),
                      strict=strict, notes=tuple(notes), signature=signature)
    manifest = manifest_from_bytes(raw, source=str(manifest_path))
    problems: list[Problem] = list(sig.problems)
    problems += check_checkpoint_signatures(manifest_path.parent, manifest, sig)
    problems += lineage.check(manifest)
    files_checked = bytes_checked = 0
    if check_bytes:
        digests, byte_problems = _check_artifacts(manifest, root, progress, on_total)
        problems += byte_problems
        files_checked = len(digests)
        bytes_checked = sum(d.size for d in digests.values())
        problems += _extra_files(manifest, root, manifest_path.parent)
        if byte_problems:
            notes.append("manifest fields were not compared with the run's records: bytes differ")
        else:
            problems += _field_problems(manifest, root, notes)
    return Report(manifest=str(manifest_path), manifest_sha256=hashlib.sha256(raw).hexdigest(),
                  root=str(root), files_checked=files_checked, bytes_checked=bytes_checked,
                  problems=tuple(problems), strict=strict, notes=tuple(notes),
                  signature=signature)


def _check_artifacts(manifest: Manifest, root: Path, progress, on_total
                     ) -> tuple[dict[str, FileDigest], list[Problem]]:
    problems: list[Problem] = []
    present: list[str] = []
    for art in manifest.artifacts:
        full = resolve_inside(root, art.path, where="manifest artifact")
        if full.is_file():
            present.append(art.path)
        else:
            problems.append(Problem(code="missing", path=art.path,
                                    message=f"{art.path}: missing from {root}"))
    if on_total is not None:
        on_total(sum(os.stat(root / p).st_size for p in present))
    digests = {d.path: d for d in hash_files(root, present, progress=progress)}
    for art in manifest.artifacts:
        got = digests.get(art.path)
        if got is None:
            continue
        if got.size != art.size:
            problems.append(Problem(code="size", path=art.path, message=(
                f"{art.path}: size {got.size} bytes, manifest says {art.size}")))
        elif got.sha256 != art.sha256:
            problems.append(Problem(code="sha256", path=art.path, message=(
                f"{art.path}: sha256 {got.sha256[:16]}... differs from the manifest's "
                f"{art.sha256[:16]}...")))
    return digests, problems


def _extra_files(manifest: Manifest, root: Path, release_dir: Path) -> list[Problem]:
    listed = {a.path for a in manifest.artifacts}
    own: set[str] = set()
    try:
        rel = release_dir.resolve().relative_to(root.resolve())
        prefix = "" if str(rel) == "." else rel.as_posix() + "/"
        own = {prefix + p for p in list_files(release_dir)}
        own |= {prefix + SOURCE_FILE}
    except ValueError:
        pass
    return [Problem(code="extra", path=p, message=f"{p}: on disk but not in the manifest")
            for p in list_files(root) if p not in listed and p not in own]


def _field_problems(manifest: Manifest, root: Path, notes: list[str]) -> list[Problem]:
    """Rebuild the manifest from the run's records (whose bytes were just verified) and
    name every field that differs from what the manifest says."""

    if not (root / "llm360.yaml").is_file():
        notes.append("root is not a run directory: manifest fields were not compared with the "
                     "run's records")
        return []
    try:
        listed = {a.path: FileDigest(path=a.path, size=a.size, sha256=a.sha256)
                  for a in manifest.artifacts}
        records = read_run(root, only=set(listed))
        rebuilt = assemble(records, listed, created=manifest.release.created,
                           schema_version=manifest.schema_version)
    except (Llm360Error, KeyError) as exc:
        notes.append(f"the run's records could not be read for comparison: {exc}")
        return []
    problems = []
    for path, have, want in _diff(to_data(manifest), to_data(rebuilt), "$"):
        if path.startswith("$.artifacts"):
            continue  # bytes are reported per artifact above
        problems.append(Problem(code="field", path=path, message=(
            f"{path}: manifest says {_short(have)}, the run says {_short(want)}")))
    return problems


def _diff(a, b, path: str):
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            yield from _diff(a.get(k), b.get(k), f"{path}.{k}")
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b)):
            yield from _diff(x, y, f"{path}[{i}]")
    elif a != b:
        yield path, a, b


def _short(value) -> str:
    text = json.dumps(value, sort_keys=True)
    return text if len(text) <= 60 else text[:57] + "..."


