"""Manifest -> report: the signature chain, then every file a source holds against what was
signed, then (for a folder laid out like a run) every manifest field against the run's records.

``verify(source, policy)`` is the one verifier; ``verify_release`` opens a local release folder
(or a metadata-only release with its run directory) as a ``LocalSource``. What fails:

* a broken signature link (nothing else is then checked), an unsigned manifest unless
  ``allow_unsigned`` (and never when a key or identity is named);
* a listed artifact or release file that is missing, of another size or another sha256;
* any file the source holds that neither the manifest nor the signed ``release-files.json``
  lists, unless ``allow_extra``;
* lineage, a manifest field the run's records contradict, a version other than
  ``expect_version``;
* for a derived release (manifest v1.3), its link to the parent release when the caller
  passes a ``ParentCheck`` (``llm360.registry.verify.parent``): a parent that cannot be checked
  unless ``allow_unverified``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llm360.errors import InputError, Llm360Error
from llm360.registry import layout
from llm360.registry.analysis import lineage
from llm360.registry.build.assembly import assemble
from llm360.registry.build.hashing import FileDigest
from llm360.registry.build.merkle import LEGACY
from llm360.registry.build.release_dir import (
    INCOMPLETE_MARK,
    MANIFEST_FILE,
    PUBLICATION_FILE,
    RELEASE_FILES,
    ReleaseFiles,
    read_release_files,
)
from llm360.registry.manifest.models import Manifest, Release
from llm360.registry.manifest.problems import Problem
from llm360.registry.manifest.serialize import manifest_from_bytes, parse_json, to_data
from llm360.registry.run.chunks import ChunkCache
from llm360.registry.run.reader import artifact_kind, read_run
from llm360.registry.signing import (
    BUNDLE_FILE,
    SignatureCheck,
    SignatureStatus,
    check_checkpoint_signatures,
    check_manifest_signature,
)
from llm360.registry.verify.open import open_release
from llm360.registry.verify.parent import LinkSummary, ParentCheck, check_link
from llm360.registry.verify.policy import TrustPolicy
from llm360.registry.verify.sources import ArtifactSource, LocalSource, Located

__all__ = ["Report", "Problem", "TrustPolicy", "verify", "verify_release",
           "signed_files"]


@dataclass(frozen=True, kw_only=True)
class Report:
    """What ``verify`` found: problems (each naming its file) and what was checked.
    ``signature``: what the signature check found; ``release``: the manifest's release (None
    when the signature link is broken: nothing else was read); ``parent``: a derived release's
    link (``parent.check_link``; None for a release that derives from none)."""

    manifest: str
    manifest_sha256: str
    root: str
    files_checked: int
    bytes_checked: int
    problems: tuple[Problem, ...]
    signature: SignatureStatus
    allow_extra: bool = False
    notes: tuple[str, ...] = ()
    release: Release | None = None
    opt_outs: tuple[str, ...] = ()
    parent: LinkSummary | None = None

    def fails(self, problem: Problem) -> bool:
        return not (problem.code == "extra" and self.allow_extra)

    @property
    def failures(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if self.fails(p))

    @property
    def ok(self) -> bool:
        return not self.failures

    def as_data(self) -> dict[str, Any]:
        rel = self.release
        return {
            "ok": self.ok, "manifest": self.manifest, "manifest_sha256": self.manifest_sha256,
            "root": self.root, "files_checked": self.files_checked,
            "bytes_checked": self.bytes_checked,
            "release": {} if rel is None else {"name": rel.name, "version": rel.version,
                                                "created": rel.created},
            "opt_outs": list(self.opt_outs), "notes": list(self.notes),
            "signature": self.signature.as_data(),
            "parent": {} if self.parent is None else self.parent.as_data(),
            "problems": [{**p.as_data(), "fails": self.fails(p)} for p in self.problems],
        }


def verify_release(target: Path, root: Path | None = None, *,
                   policy: TrustPolicy = TrustPolicy(), parent: ParentCheck | None = None,
                   progress: Callable[[int], None] | None = None,
                   on_total: Callable[[int], None] | None = None) -> Report:
    """Verify the release folder ``target`` (or its ``manifest.json``); ``root`` holds the
    artifacts of a metadata-only release (its run directory); ``parent``: how to check a
    derived release's link to its parent (None: not checked, a note says so)."""
    opened = open_release(target, root=root)
    if opened.release_dir is not None and (opened.release_dir / INCOMPLETE_MARK).exists():
        raise InputError(f"{opened.origin}: an unfinished release (a build was interrupted)",
                         hint="rerun llm360 release build; it cleans this folder up")
    return verify(opened.source, policy, parent=parent, progress=progress, on_total=on_total,
                  manifest_name=opened.manifest_name)


def verify(source: ArtifactSource, policy: TrustPolicy, *, parent: ParentCheck | None = None,
           progress: Callable[[int], None] | None = None,
           on_total: Callable[[int], None] | None = None,
           manifest_name: str = MANIFEST_FILE) -> Report:
    """Verify the release ``source`` holds, under ``policy``; a derived release's link to its
    parent as ``parent`` says (None: not checked, a note says so)."""
    raw = source.read_bytes(manifest_name)
    if raw is None:
        raise InputError(f"{source.description}: no {manifest_name}")
    where = f"{source.description}/{manifest_name}"
    sha = hashlib.sha256(raw).hexdigest()
    sig = check_manifest_signature(raw, source.read_bytes(BUNDLE_FILE), policy)
    notes = [f"{flag} is in force" for flag in policy.opt_outs()]
    if sig.info.unsigned and sig.ok:
        notes.append("the manifest is unsigned: accepted because of --allow-unsigned")
    if not sig.ok and not sig.info.unsigned:
        notes.append("nothing else was checked: the signature link is broken")
        return Report(manifest=where, manifest_sha256=sha, root=source.description,
                      files_checked=0, bytes_checked=0, problems=tuple(sig.problems),
                      signature=sig.info, allow_extra=policy.allow_extra,
                      notes=tuple(notes), opt_outs=policy.opt_outs())
    manifest = manifest_from_bytes(raw, source=where)
    problems: list[Problem] = list(sig.problems)
    if policy.expect_version is not None and manifest.release.version != policy.expect_version:
        problems.append(Problem(code="version", file=MANIFEST_FILE, message=(
            f"release {manifest.release.name} is version {manifest.release.version} (created "
            f"{manifest.release.created}), expected {policy.expect_version}")))
    ckpt_problems, signature = check_checkpoint_signatures(source.read_bytes, manifest, sig)
    problems += ckpt_problems
    problems += lineage.check(manifest)
    release_files, rf_problems = _release_files(source, sig, sha, notes)
    problems += rf_problems
    if release_files is not None and release_files.layout == "metadata-only" \
            and isinstance(source, LocalSource) and not source.separate_root:
        raise InputError(f"{source.description}: a metadata-only release; its artifacts are "
                         "in the run directory", hint="pass --root RUN")
    files_checked = bytes_checked = 0
    if policy.check_bytes:
        expected = signed_files(manifest, release_files)
        own = {MANIFEST_FILE, manifest_name, BUNDLE_FILE, RELEASE_FILES, PUBLICATION_FILE}
        located = source.locate(set(expected) | own, progress=progress, on_total=on_total)
        byte_problems = _compare(located, expected, own, manifest)
        problems += byte_problems
        problems += _publication(source, located, sha, notes)
        checked = [loc for loc in located if loc.path in expected and loc.size is not None]
        files_checked = len(checked)
        bytes_checked = sum(loc.size or 0 for loc in checked)
        if isinstance(source, LocalSource):
            # an unlisted file (a card of a release-file list that names another manifest)
            # leaves the listed records as they are: their fields are still compared
            if any(p.code != "extra" for p in byte_problems):
                notes.append("manifest fields were not compared with the run's records: "
                             "bytes differ")
            else:
                problems += _field_problems(manifest, source.artifact_root, notes)
    else:
        notes.append("bytes were not checked (--metadata-only): only the signed metadata was")
    link = check_link(manifest, parent)
    problems += link.problems
    notes += link.notes
    return Report(manifest=where, manifest_sha256=sha, root=source.description,
                  files_checked=files_checked, bytes_checked=bytes_checked,
                  problems=tuple(problems), signature=signature,
                  allow_extra=policy.allow_extra, notes=tuple(notes),
                  release=manifest.release, opt_outs=policy.opt_outs() + link.opt_outs,
                  parent=link.summary)


def _release_files(source: ArtifactSource, sig: SignatureCheck, manifest_sha: str,
                   notes: list[str]) -> tuple[ReleaseFiles | None, list[Problem]]:
    """The release's own files, trusted only as far as the signature covers them."""
    raw = source.read_bytes(RELEASE_FILES)
    signed = sig.info.release_files_sha256

    def problem(message: str) -> list[Problem]:
        return [Problem(code="signature", file=RELEASE_FILES, message=message)]

    if sig.info.verified and signed is None:
        notes.append("the signature covers the manifest only (a release built before cards "
                     "were signed): its cards, plots and signatures count as unlisted files")
        return None, []
    if raw is None:
        return None, (problem(f"{RELEASE_FILES}: missing, but the signature covers it")
                      if signed else [])
    if signed is not None and hashlib.sha256(raw).hexdigest() != signed:
        return None, problem(f"{RELEASE_FILES} was changed after it was signed (it lists "
                             "the cards, plots and signatures of the release)")
    rf = read_release_files(raw, source=f"{source.description}/{RELEASE_FILES}")
    if rf.manifest_sha256 != manifest_sha:
        return None, problem(f"{RELEASE_FILES} belongs to another manifest "
                             f"(sha256 {rf.manifest_sha256[:16]}...)")
    return rf, []


def signed_files(manifest: Manifest, rf: ReleaseFiles | None) -> dict[str, tuple[int, str]]:
    """release path -> (size, sha256) of every file the manifest and ``rf`` (the release-file
    list) list: what was signed, where the signature covers ``rf``."""
    out = {a.path: (a.size, a.sha256) for a in manifest.artifacts}
    if rf is not None:
        out.update({f.path: (f.size, f.sha256) for f in rf.files})
    return out


def _compare(located: list[Located], expected: dict[str, tuple[int, str]], own: set[str],
             manifest: Manifest) -> list[Problem]:
    by_sha: dict[str, str] = {}
    for ckpt in manifest.checkpoints:
        for path in ckpt.files:
            art = manifest.artifact(path)
            if art is not None and artifact_kind(path) == "weights":
                by_sha.setdefault(art.sha256, path)
    problems = []
    for loc in located:
        if loc.path is None or (loc.path not in expected and loc.path not in own):
            problems.append(Problem(code="extra", file=loc.where, message=(
                f"{loc.where}: not signed (neither the manifest nor {RELEASE_FILES} lists it)")))
            continue
        if loc.path not in expected:
            continue  # the manifest, its bundle, the release-file list: checked above
        size, sha = expected[loc.path]
        if loc.size is None:
            problems.append(Problem(code="missing", file=loc.path,
                                    message=f"{loc.where}: missing"))
        elif loc.size != size:
            problems.append(Problem(code="size", file=loc.path, message=(
                f"{loc.where}: size {loc.size} bytes, signed {size}")))
        elif loc.sha256 is None:
            problems.append(Problem(code="unchecked", file=loc.path,
                                    message=f"{loc.where}: its sha256 could not be read"))
        elif loc.sha256 != sha:
            same = by_sha.get(loc.sha256)
            extra = f" (these are the bytes of {same})" if same and same != loc.path else ""
            problems.append(Problem(code="sha256", file=loc.path, message=(
                f"{loc.where}: sha256 {loc.sha256[:16]}... differs from the signed "
                f"{sha[:16]}...{extra}")))
    return problems


def _publication(source: ArtifactSource, located: list[Located], manifest_sha: str,
                 notes: list[str]) -> list[Problem]:
    """``publication.json`` is written by push after signing: it must name this manifest."""
    if not any(loc.path == PUBLICATION_FILE and loc.size is not None for loc in located):
        return []
    raw = source.read_bytes(PUBLICATION_FILE)
    try:
        data = parse_json(raw or b"", source=PUBLICATION_FILE)
        names = data.get("manifest_sha256") if isinstance(data, dict) else None
    except InputError:
        names = None
    if names != manifest_sha:
        return [Problem(code="extra", file=PUBLICATION_FILE, message=(
            f"{PUBLICATION_FILE}: not signed, and it does not name this manifest"))]
    notes.append(f"{PUBLICATION_FILE} (where push published the release) is not signed; it "
                 "names this manifest and steers nothing")
    return []


def _field_problems(manifest: Manifest, root: Path, notes: list[str]) -> list[Problem]:
    """Rebuild the manifest from the run's records (whose bytes were just verified), reading
    each chunk's facts from its bytes, and name every field that differs."""
    if not (root / layout.RUN_METADATA).is_file():
        notes.append("root is not laid out like a run: manifest fields were not compared with "
                     "the run's records")
        return []
    try:
        listed = {a.path: FileDigest(path=a.path, size=a.size, sha256=a.sha256)
                  for a in manifest.artifacts}
        records = read_run(root, only=set(listed))
        fmt = records.data_index.merkle or LEGACY
        facts = ChunkCache(None)
        chunks = {c.path: facts.facts(root, c.path, c.sha256, fmt=fmt)
                  for c in manifest.data.chunks if c.path in listed}
        rebuilt = assemble(records, listed, created=manifest.release.created, chunks=chunks,
                           schema_version=manifest.schema_version)
    except (Llm360Error, KeyError) as exc:
        notes.append(f"the run's records could not be read for comparison: {exc}")
        return []
    problems: list[Problem] = []
    for path, have, want in _diff(to_data(manifest), to_data(rebuilt), "$"):
        if path.startswith("$.artifacts") and not path.endswith(".kind"):
            continue  # bytes are reported per artifact above
        if want is _ABSENT:  # a file the manifest names that the run lacks
            problems.append(Problem(code="missing", file=str(have), json_path=path, message=(
                f"{have}: in the manifest ({path}), missing from the run ({root})")))
            continue
        message = (f"{want}: in the run ({root}), not in the manifest ({path})"
                   if have is _ABSENT else
                   f"{path}: manifest says {_short(have)}, the run says {_short(want)}")
        problems.append(Problem(code="field", file=str(want) if have is _ABSENT else MANIFEST_FILE,
                                json_path=None if have is _ABSENT else path,
                                message=message))
    return problems


_ABSENT = object()  # one side of a list of names lacks the item


def _diff(a: object, b: object, path: str) -> Iterator[tuple[str, object, object]]:
    """(JSON path, manifest value, run value) per difference; lists of names that differ as
    sets give one item per name on one side only (``_ABSENT`` on the other)."""
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            yield from _diff(a.get(k), b.get(k), f"{path}.{k}")
    elif isinstance(a, list) and isinstance(b, list) and _names(a) and _names(b) \
            and set(a) != set(b):
        only_a, only_b = set(a) - set(b), set(b) - set(a)
        yield from ((path, x, _ABSENT) for x in a if x in only_a)
        yield from ((path, _ABSENT, x) for x in b if x in only_b)
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b)):
            yield from _diff(x, y, f"{path}[{i}]")
    elif a != b:
        yield path, a, b


def _names(items: list[object]) -> bool:
    return all(isinstance(x, str) for x in items)


def _short(value: object) -> str:
    """A value for one line: digests whole, anything longer cut."""
    text = json.dumps(value, sort_keys=True)
    return text if len(text) <= 80 else text[:77] + "..."
