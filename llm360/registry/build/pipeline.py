"""The build once its files are being hashed (``llm360.registry.build.release`` starts that).

While the workers hash, this thread makes the signer, checks the out folder, reads and
validates the records, reads the chunks (hashed first) and readies the card renderer; once the
digests are known it checks every claim it is about to sign against the bytes, lays the release
out in a staging folder (artifacts, the manifest, checkpoint signatures, the cards and plots,
the exports, the signed list of release files, the release signature) and swaps it into place,
never half-written. The manifest itself is assembled by ``llm360.registry.build.assembly``; the
cards are rendered by ``llm360.registry.cards``.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from llm360.errors import InputError
from llm360.registry import layout
from llm360.registry._files import Syncer, list_files, write_atomic
from llm360.registry.analysis.exports import write_exports
from llm360.registry.build.assembly import assemble
from llm360.registry.build.hashing import HashJob, hash_files, keep_entries_across_links
from llm360.registry.build.merkle import LEGACY
from llm360.registry.build.release import (
    RESERVED_NAMES,
    BuildContext,
    BuildOptions,
    BuildResult,
    Hashing,
    SignerFactory,
    format_created,
)
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
from llm360.registry.manifest.models import Manifest
from llm360.registry.manifest.problems import RECORDS
from llm360.registry.manifest.serialize import canonical_json, to_data
from llm360.registry.run.checks import run_problems
from llm360.registry.run.chunks import ChunkCache, ChunkFacts
from llm360.registry.run.reader import RunRecords, read_run
from llm360.registry.signing import BUNDLE_FILE, SignatureInfo, Signer, describe_bundle

__all__ = ["build", "manifest_of", "read_records"]


def read_records(hashing: Hashing) -> tuple[RunRecords, dict[str, ChunkFacts]]:
    """The run's records, read and validated while its files hash (records whose exact bytes
    an earlier build found valid are not validated again: ``Hashing.validated``), with the
    facts of its chunks (hashed first)."""
    records = read_run(hashing.root, listing=hashing.listing, validated=hashing.validated)
    return records, _chunk_facts(records, hashing.job, hashing.cache_dir)


def manifest_of(hashing: Hashing, records: RunRecords, chunks: dict[str, ChunkFacts], *,
                created: str, allow_missing_records: bool
                ) -> tuple[Manifest, bytes]:
    """Once every digest is known: the manifest, each claim checked against the bytes, and
    its canonical bytes (serialised once)."""
    validated = hashing.validated
    digests = {d.path: d for d in hashing.job.result()}
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
    return manifest, raw


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


def build(hashing: Hashing, out_dir: Path, *, options: BuildOptions,
          signer: Signer | SignerFactory | None, started_ns: int) -> BuildResult:
    """``build_release`` from the moment its files are being hashed."""
    if callable(signer):  # a wrong key or passphrase fails here, long before the hashing ends
        signer = signer()
    cards = CardsStep(hashing.root) if options.cards else None
    try:
        return _build(hashing, out_dir, options=options, signer=signer, cards=cards,
                      started_ns=started_ns)
    finally:
        if cards is not None:
            cards.close()


def _build(hashing: Hashing, out_dir: Path, *, options: BuildOptions, signer: Signer | None,
           cards: CardsStep | None, started_ns: int) -> BuildResult:
    run_dir, validated = hashing.root, hashing.validated
    # while the files hash: the out folder, the records, the chunks and the card renderer
    prepare_out(out_dir, run_dir, validated=validated)
    records, chunks = read_records(hashing)
    if cards is not None and hashing.job.running:  # work for this thread while it waits
        cards.prepare()
    manifest, raw = manifest_of(hashing, records, chunks,
                                created=options.created or format_created(),
                                allow_missing_records=options.allow_missing_records)
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
