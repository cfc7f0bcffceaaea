"""The in-toto statements llm360 signs, built from the manifest alone (no re-hashing).

* the release statement: subject ``manifest.json`` (sha256 of its bytes), predicate SLSA
  provenance v1 with the llm360 ``buildType`` (see docs/signing.md);
* one OMS v1.0 statement per checkpoint: subject = the checkpoint's root digest, one resource
  per file, readable by the OpenSSF ``model_signing`` verifiers.

Only digests are signed, never file lists of unbounded size: transparency-log entries are
limited to about 100 KB.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from llm360.registry import layout
from llm360.registry.manifest.models import Checkpoint, Manifest
from llm360.registry.manifest.serialize import canonical_json

__all__ = [
    "IN_TOTO_STATEMENT", "IN_TOTO_PAYLOAD_TYPE", "SLSA_PROVENANCE_V1", "OMS_PREDICATE",
    "BUILD_TYPE", "BUILDER_ID", "MANIFEST_SUBJECT", "RELEASE_FILES_SUBJECT", "OMS_IGNORE_PATHS",
    "provenance_statement", "oms_statement", "data_chunks_digest", "release_identity",
]

IN_TOTO_STATEMENT = "https://in-toto.io/Statement/v1"
IN_TOTO_PAYLOAD_TYPE = "application/vnd.in-toto+json"
SLSA_PROVENANCE_V1 = "https://slsa.dev/provenance/v1"
OMS_PREDICATE = "https://model_signing/signature/v1.0"
#: how to read externalParameters / internalParameters / resolvedDependencies (docs/signing.md)
BUILD_TYPE = "https://llm360.dev/buildtypes/pretrain-release/v1"
#: the builder that assembled and signed the statement
BUILDER_ID = "https://llm360.dev/builders/llm360-release/v1"
MANIFEST_SUBJECT = layout.MANIFEST
#: the list of the release's own files (cards, plots, signatures) with their sha256
RELEASE_FILES_SUBJECT = layout.RELEASE_FILES_LIST
#: paths an OMS verifier skips when it hashes a checkpoint folder (model_signing's git
#: defaults, plus the signature and card a Hub checkpoint branch carries beside the files)
OMS_IGNORE_PATHS = (".git", ".gitattributes", ".github", ".gitignore", layout.MODEL_SIG,
                    layout.MODEL_CARD)


def release_identity(manifest: Manifest) -> dict[str, str]:
    """What names a release: the statement carries it so a verifier can tell a bundle of
    another release from a manifest changed after signing."""
    r = manifest.release
    return {"name": r.name, "version": r.version, "created": r.created}


def data_chunks_digest(manifest: Manifest) -> str:
    """One sha256 over the chunk list: canonical JSON (RFC 8785) of
    ``[{"index", "path", "sha256", "merkle_root", "sequences", "tokens"}, ...]`` by index."""
    chunks = [{"index": c.index, "path": c.path, "sha256": c.sha256,
               "merkle_root": c.merkle_root, "sequences": c.sequences, "tokens": c.tokens}
              for c in sorted(manifest.data.chunks, key=lambda c: c.index)]
    return hashlib.sha256(canonical_json(chunks)).hexdigest()


def _sha(manifest: Manifest, path: str | None) -> dict[str, str] | None:
    art = manifest.artifact(path) if path else None
    return {"sha256": art.sha256} if art is not None else None


def provenance_statement(manifest: Manifest, manifest_bytes: bytes, *,
                         train_config: Mapping[str, Any] | None = None,
                         release_files: bytes | None = None,
                         parent_release: Mapping[str, str] | None = None,
                         builder_version: str | None = None) -> bytes:
    """The release statement as canonical JSON bytes (what the DSSE envelope carries).

    ``parent_release``: ``{"name", "uri" (optional), "sha256"}`` of the manifest of the release
    this run continued from, if any (default: the manifest's ``derived_from``).
    ``release_files``: the bytes of ``release-files.json``, signed as a second subject so every
    card, plot and signature of the release is covered.
    """
    deps: list[dict[str, Any]] = []
    code = manifest.code
    if code.commit:
        dep: dict[str, Any] = {"name": "code", "digest": {"gitCommit": code.commit}}
        if code.repository:
            dep["uri"] = f"git+{code.repository}@{code.commit}"
        if code.dirty is not None:
            dep["annotations"] = {"dirty": code.dirty}
        deps.append(dep)
    for name, path in (("code-provenance", code.provenance),
                       ("tokenizer", manifest.model.tokenizer),
                       ("model-config", manifest.model.config),
                       ("data-config", manifest.training.data_config),
                       ("data-index", manifest.data.index)):
        digest = _sha(manifest, path)
        if digest is not None:
            deps.append({"name": name, "uri": path, "digest": digest})
    deps.append({
        "name": "data-chunks", "digest": {"sha256": data_chunks_digest(manifest)},
        "annotations": {"chunks": len(manifest.data.chunks),
                        "tokens": sum(c.tokens for c in manifest.data.chunks),
                        "digestOf": "llm360 chunk list (docs/signing.md)"},
    })
    link = manifest.derived_from
    if not parent_release and link is not None:  # manifest v1.3: the release it continues
        parent_release = {"name": link.release.name, "sha256": link.release.manifest_sha256}
        if link.release.repo and link.release.revision:
            parent_release["uri"] = f"hf://{link.release.repo}@{link.release.revision}"
    if parent_release:
        dep = {"name": f"parent-release:{parent_release['name']}",
               "digest": {"sha256": parent_release["sha256"]},
               "annotations": {"kind": "llm360-manifest"}}
        if parent_release.get("uri"):
            dep["uri"] = parent_release["uri"]
        if link is not None and parent_release["sha256"] == link.release.manifest_sha256:
            dep["annotations"].update(relation=link.relation,
                                      checkpoint=link.checkpoint.name,
                                      rootDigest=link.checkpoint.root_digest)
        deps.append(dep)

    byproducts = []
    for path in (*manifest.logs, *manifest.evals):
        digest = _sha(manifest, path)
        if digest is not None:
            media = "application/jsonl" if path.endswith(".jsonl") else "application/json"
            byproducts.append({"name": path, "digest": digest, "mediaType": media})

    internal: dict[str, Any] = {"worldSize": manifest.training.world_size,
                                "backend": manifest.training.backend,
                                "precision": manifest.training.precision}
    if manifest.training.seed is not None:
        internal["seed"] = manifest.training.seed
    external: dict[str, Any] = {"release": release_identity(manifest),
                                "trainingConfig": dict(train_config or {})}
    if code.repository:
        external["repository"] = code.repository
    builder: dict[str, Any] = {"id": BUILDER_ID}
    if builder_version:
        builder["version"] = {"llm360": builder_version}
    subjects = [{"name": MANIFEST_SUBJECT,
                 "digest": {"sha256": hashlib.sha256(manifest_bytes).hexdigest()}}]
    if release_files is not None:
        subjects.append({"name": RELEASE_FILES_SUBJECT,
                         "digest": {"sha256": hashlib.sha256(release_files).hexdigest()}})
    statement = {
        "_type": IN_TOTO_STATEMENT,
        "subject": subjects,
        "predicateType": SLSA_PROVENANCE_V1,
        "predicate": {
            "buildDefinition": {
                "buildType": BUILD_TYPE,
                "externalParameters": external,
                "internalParameters": internal,
                "resolvedDependencies": deps,
            },
            "runDetails": {
                "builder": builder,
                "metadata": {"invocationId": f"{manifest.release.name}@"
                                             f"{manifest.release.version}",
                             "finishedOn": manifest.release.created},
                "byproducts": byproducts,
            },
        },
    }
    return canonical_json(statement)


def oms_statement(manifest: Manifest, checkpoint: Checkpoint) -> bytes:
    """The OMS v1.0 statement of one checkpoint folder, from the manifest's digests."""
    prefix = layout.checkpoint_dir(checkpoint.name) + "/"
    resources = []
    for path in checkpoint.files:
        art = manifest.artifact(path)
        if art is None or not path.startswith(prefix):
            raise ValueError(f"checkpoint {checkpoint.name}: {path} is not one of its artifacts")
        resources.append({"name": path[len(prefix):], "algorithm": "sha256",
                          "digest": art.sha256})
    resources.sort(key=lambda r: r["name"])
    root = hashlib.sha256(b"".join(bytes.fromhex(r["digest"]) for r in resources)).hexdigest()
    if root != checkpoint.root_digest:
        raise ValueError(f"checkpoint {checkpoint.name}: root digest {checkpoint.root_digest} "
                         f"does not match its files ({root})")
    statement = {
        "_type": IN_TOTO_STATEMENT,
        "subject": [{"name": checkpoint.name, "digest": {"sha256": root}}],
        "predicateType": OMS_PREDICATE,
        "predicate": {
            "serialization": {"method": "files", "hash_type": "sha256", "allow_symlinks": False,
                              "ignore_paths": list(OMS_IGNORE_PATHS)},
            "resources": resources,
        },
    }
    return canonical_json(statement)
