"""Run directory -> release.

``build_release`` lists the run and hashes its files on worker threads while it reads and
validates the records and checks the out folder; once the digests are known it checks every
claim it is about to sign against the bytes, lays the release out in a staging folder
(artifacts, the manifest, checkpoint signatures, the cards and plots, the signed list of
release files, the release signature) and swaps it into place, never half-written. The
manifest itself is assembled by ``llm360.registry.build.assembly``; the cards are rendered by
``llm360.registry.cards``.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from llm360.errors import InputError, UnsafePathError
from llm360.registry import layout
from llm360.registry._files import Syncer, list_files, write_atomic
from llm360.registry.analysis.exports import write_exports
from llm360.registry.build.assembly import assemble
from llm360.registry.build.hashing import (
    HashCache,
    HashJob,
    hash_files,
    keep_entries_across_links,
    start_hashing,
)
from llm360.registry.build.merkle import LEGACY
from llm360.registry.build.release_dir import (
    INCOMPLETE_MARK,
    MANIFEST_FILE,
    RELEASE_FILES,
    ReleaseFile,
    ReleaseFiles,
    discard,
    finish_staging,
    materialize,
    new_staging,
    prepare_out,
    release_files_bytes,
    swap_into_place,
)
from llm360.registry.cards import CardsStep
from llm360.registry.installed import CARDS_EXTRA, require_extra
from llm360.registry.manifest.models import Manifest
from llm360.registry.manifest.problems import RECORDS
from llm360.registry.manifest.schema import Validated
from llm360.registry.manifest.serialize import canonical_json, to_data
from llm360.registry.run.checks import run_problems
from llm360.registry.run.chunks import ChunkCache, ChunkFacts
from llm360.registry.run.listing import RunListing, list_run
from llm360.registry.run.reader import RunRecords, read_run
from llm360.registry.signing import BUNDLE_FILE, SignatureInfo, Signer, describe_bundle

__all__ = ["BuildContext", "BuildOptions", "BuildResult", "RESERVED_NAMES", "build_manifest",
           "build_release", "format_created", "CACHE_FILE"]

#: the hash cache, inside the run directory (never an artifact)
CACHE_FILE = Path(layout.HASH_CACHE)
#: documents found valid before, inside the run directory (``schema.Validated``)
VALIDATED = Path(layout.VALID_CACHE)
#: top-level names a release writes itself; a run file of that name would collide with them
RESERVED_NAMES = frozenset(layout.RELEASE_NAMES)


@dataclass(frozen=True, kw_only=True)
class BuildOptions:
    """How to build: ``created`` pins the release time; ``use_cache`` trusts the run's hash
    cache (stat-checked); ``metadata_only`` leaves the artifacts in the run directory (the
    release then verifies with ``--root RUN`` only); ``allow_missing_records`` accepts a
    checkpoint without its eval or the log lines of its steps; ``cards`` renders the model,
    checkpoint and data cards and the plots (the ``[cards]`` extra; ``--no-cards`` is
    ``cards=False``)."""

    created: str | None = None
    use_cache: bool = True
    metadata_only: bool = False
    allow_missing_records: bool = False
    cards: bool = True


@dataclass(frozen=True, kw_only=True)
class BuildContext:
    """What the cards step sees: the release being assembled in ``release_dir`` (a staging
    folder until the swap) and the validated run. ``signed``: the checkpoints whose signature
    the build wrote. ``write(rel, data)`` writes a new file of the release (made durable on a
    worker thread before the swap)."""

    run_dir: Path
    release_dir: Path
    manifest: Manifest
    manifest_bytes: bytes
    records: RunRecords
    signature: SignatureInfo
    signed: frozenset[str]
    write: Callable[[str, bytes], None]


@dataclass(frozen=True, kw_only=True)
class BuildResult:
    manifest: Manifest
    manifest_path: Path
    manifest_sha256: str
    files: int
    bytes: int
    linked: int = 0
    copied: int = 0
    release_files: int = 0


def format_created(when: datetime | None = None) -> str:
    """A UTC time as the manifest writes it: 2026-11-27T00:00:00Z."""
    when = when or datetime.now(timezone.utc)
    return when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True, kw_only=True)
class _Hashing:
    """A run listed and being hashed, with the caches of its ``RUN/.llm360`` folder."""

    root: Path
    listing: RunListing
    cache_dir: Path | None
    validated: Validated
    job: HashJob


def _start_hashing(run_dir: Path, *, use_cache: bool, progress: Callable[[int], None] | None,
                   on_total: Callable[[int], None] | None) -> _Hashing:
    root = Path(run_dir)
    listing = list_run(root)
    cache_dir = _cache_dir(root) if use_cache else None
    validated = Validated(cache_dir / VALIDATED.name if cache_dir is not None else None)
    cache = HashCache(cache_dir / CACHE_FILE.name) if cache_dir is not None else None
    job = start_hashing(root, listing.files, cache=cache, progress=progress,
                        first=[p for p in listing.files if layout.chunk_index(p) is not None])
    if on_total is not None:
        on_total(sum(job.sizes.values()))
    return _Hashing(root=root, listing=listing, cache_dir=cache_dir, validated=validated,
                    job=job)


def build_manifest(run_dir: Path, *, created: str, progress: Callable[[int], None] | None = None,
                   on_total: Callable[[int], None] | None = None, use_cache: bool = True,
                   allow_missing_records: bool = False) -> tuple[Manifest, RunRecords]:
    """Read, hash, check every claim against the bytes and assemble; raises ``InputError``
    on any inconsistency (naming the first and counting the rest).

    The files are hashed on worker threads while this thread validates the records; an error
    there stops the hashing. With the cache, records and the manifest whose exact bytes an
    earlier build found valid are not validated again (``RUN/.llm360/validated.json``)."""
    hashing = _start_hashing(run_dir, use_cache=use_cache, progress=progress, on_total=on_total)
    manifest, records, _ = _manifest_of(hashing, created=created,
                                        allow_missing_records=allow_missing_records)
    return manifest, records


def _manifest_of(hashing: _Hashing, *, created: str, allow_missing_records: bool,
                 alongside: Callable[[], None] | None = None
                 ) -> tuple[Manifest, RunRecords, bytes]:
    """The manifest of the run ``hashing`` hashes, with its canonical bytes (serialised once);
    ``alongside`` runs first while the files are hashed (the build checks its output folder
    there). Whatever fails before the digests are all known stops the hashing."""
    root, job, validated = hashing.root, hashing.job, hashing.validated
    try:
        if alongside is not None:
            alongside()
        records = read_run(root, listing=hashing.listing, validated=validated)
        chunks = _chunk_facts(records, job, hashing.cache_dir)  # the chunks are hashed first
        digests = {d.path: d for d in job.result()}
    except BaseException:
        job.cancel()
        raise
    manifest = assemble(records, digests, created=created, chunks=chunks)
    problems = run_problems(records, manifest, chunks=chunks,
                            allow_missing_records=allow_missing_records, digests=digests)
    if problems:
        first = problems[0]
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        hint = "the run directory is inconsistent; fix it before releasing"
        if any(p.code == RECORDS for p in problems):
            hint = ("resume the run to redo what is missing, or pass --allow-missing-records "
                    "if it is absent on purpose")
        raise InputError(f"{first.as_error(records.root).message}{more}", hint=hint)
    data = to_data(manifest)
    raw = canonical_json(data)
    validated.check(data, "manifest", raw, source="manifest.json (built)")
    validated.save()
    return manifest, records, raw


def _chunk_facts(records: RunRecords, job: HashJob, cache_dir: Path | None
                 ) -> dict[str, ChunkFacts]:
    """Rows, tokens and Merkle root read from each chunk the index lists, once its digest is
    known (cached by it), while the other files are still being hashed."""
    on_disk = set(records.files)
    paths = [c.path for c in records.data_index.chunks if c.path in on_disk]
    fmt = records.data_index.merkle or LEGACY
    cache = ChunkCache(cache_dir)
    digests = job.wait(paths)
    facts = {rel: cache.facts(records.root, rel, digests[rel].sha256, fmt=fmt) for rel in paths}
    cache.save()
    return facts


def _cache_dir(root: Path) -> Path:
    """``RUN/.llm360``, refused when it (or what it holds) is a symbolic link: the build
    writes its caches there and must never write outside the run."""
    folder = root / CACHE_FILE.parent
    for path in (folder, folder / CACHE_FILE.name):
        if path.is_symlink():
            raise UnsafePathError(f"{path}: is a symbolic link; llm360 writes its cache there "
                                  "and refuses links in a run",
                                  hint="remove the link (the folder holds only caches)")
    return folder


def build_release(run_dir: Path, out_dir: Path, *, options: BuildOptions = BuildOptions(),
                  signer: Signer | None = None,
                  progress: Callable[[int], None] | None = None,
                  on_total: Callable[[int], None] | None = None) -> BuildResult:
    """Build the release of ``run_dir`` into ``out_dir``, all or nothing, signed by ``signer``
    (None: unsigned), with its cards and plots unless ``options.cards`` is False.

    ``out_dir`` must be new, empty, or a release this tool wrote (nothing else in it); it is
    never inside the run and never holds it. The order is fixed: artifacts, manifest,
    checkpoint signatures, cards and plots, ``release-files.json``, the release signature,
    swap. ``progress`` gets the bytes hashed as they are, ``on_total`` the bytes to hash."""
    if options.cards:
        require_extra("cards", CARDS_EXTRA, needed_for="rendering the cards and plots",
                      alternative="build without them (--no-cards, BuildOptions(cards=False))")
    run_dir, out_dir = Path(run_dir).resolve(), Path(out_dir).resolve()
    started_ns = time.time_ns()  # linking moves the run files' ctime: see the end
    hashing = _start_hashing(run_dir, use_cache=options.use_cache, progress=progress,
                             on_total=on_total)
    cards = CardsStep() if options.cards else None
    try:
        return _build(hashing, out_dir, options=options, signer=signer, cards=cards,
                      started_ns=started_ns)
    finally:
        if cards is not None:
            cards.close()


def _build(hashing: _Hashing, out_dir: Path, *, options: BuildOptions, signer: Signer | None,
           cards: CardsStep | None, started_ns: int) -> BuildResult:
    run_dir, validated = hashing.root, hashing.validated

    def check_out() -> None:
        prepare_out(out_dir, run_dir, validated=validated)

    manifest, records, raw = _manifest_of(
        hashing, created=options.created or format_created(),
        allow_missing_records=options.allow_missing_records, alongside=check_out)
    artifact_paths = [a.path for a in manifest.artifacts]
    if not options.metadata_only:
        clash = sorted(p for p in artifact_paths if p.split("/")[0] in RESERVED_NAMES)
        if clash:
            raise InputError(f"{run_dir / clash[0]}: the release writes a file of this "
                             "name itself", hint="rename or move it out of the run "
                             "directory, or build with --metadata-only")
    manifest_sha = hashlib.sha256(raw).hexdigest()
    staging = new_staging(out_dir)
    syncer = Syncer(staging)  # files written below are made durable as the build goes on
    try:
        placed = (materialize(run_dir, staging, artifact_paths)
                  if not options.metadata_only else None)
        syncer.write(MANIFEST_FILE, raw)
        signature = SignatureInfo(method="unsigned")
        bundles: dict[str, bytes] = {}
        if signer is not None:
            bundles = signer.sign_checkpoints(manifest)
            for name, bundle in bundles.items():
                syncer.write(layout.signature_path(name), bundle)
            if manifest.checkpoints:  # what the cards say of the signer
                first = manifest.checkpoints[0].name
                signature = describe_bundle(
                    bundles[first], name=BUNDLE_FILE,
                    source=str(staging / layout.signature_path(first)))
            else:
                signature = SignatureInfo(method=signer.method)
        if cards is not None:
            cards.run(BuildContext(run_dir=run_dir, release_dir=staging, manifest=manifest,
                                   manifest_bytes=raw, records=records, signature=signature,
                                   signed=frozenset(bundles), write=syncer.write))
        write_exports(manifest, raw, records, syncer.write)  # croissant, SPDX, CycloneDX
        release_files = _release_files(staging, manifest_sha, set(artifact_paths),
                                       metadata_only=options.metadata_only)
        syncer.add(f.path for f in release_files.files)
        if signer is not None:
            bundle = signer.sign_release(manifest, raw,
                                         release_files=release_files_bytes(release_files),
                                         train_config=records.train_config.to_data())
            write_atomic(staging / BUNDLE_FILE, bundle, durable=False)
        finish_staging(staging, release_files, syncer)
        # written here from typed data: the next build need not validate these bytes again
        validated.add("release_files", release_files_bytes(release_files))
        swap_into_place(staging, out_dir)
    except BaseException:
        syncer.close()
        discard(staging)
        raise
    validated.save()
    if options.use_cache and placed is not None and placed.linked:
        keep_entries_across_links(run_dir, artifact_paths, since_ns=started_ns)
    return BuildResult(manifest=manifest, manifest_path=out_dir / MANIFEST_FILE,
                       manifest_sha256=manifest_sha, files=len(manifest.artifacts),
                       bytes=sum(a.size for a in manifest.artifacts),
                       linked=placed.linked if placed else 0,
                       copied=placed.copied if placed else 0,
                       release_files=len(release_files.files))


def _release_files(staging: Path, manifest_sha: str, artifacts: set[str], *,
                   metadata_only: bool) -> ReleaseFiles:
    own = [p for p in list_files(staging)
           if p not in artifacts and p not in (MANIFEST_FILE, INCOMPLETE_MARK, BUNDLE_FILE,
                                                RELEASE_FILES)]
    return ReleaseFiles(
        manifest_sha256=manifest_sha, layout="metadata-only" if metadata_only else "full",
        files=tuple(ReleaseFile(path=d.path, size=d.size, sha256=d.sha256)
                    for d in hash_files(staging, own)))
