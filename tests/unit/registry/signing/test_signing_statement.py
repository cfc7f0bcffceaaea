"""The statements llm360 signs: SLSA provenance over manifest.json, OMS per checkpoint."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path

import pytest

from llm360.registry.build.release import build_manifest
from llm360.registry.manifest.serialize import manifest_to_bytes
from llm360.registry.signing import (
    BUILD_TYPE,
    data_chunks_digest,
    oms_statement,
    provenance_statement,
    statements_for,
)


@pytest.fixture
def built(synthetic_run: Path):
    manifest, records = build_manifest(synthetic_run, created="2026-11-27T00:00:00Z")
    return manifest, manifest_to_bytes(manifest), records


def test_provenance_statement(built) -> None:
    manifest, raw, records = built
    st = json.loads(provenance_statement(manifest, raw, train_config=records.train_config.to_data(),
                                         builder_version="0.1.0"))
    assert st["_type"] == "https://in-toto.io/Statement/v1"
    assert st["subject"] == [{"name": "manifest.json",
                              "digest": {"sha256": hashlib.sha256(raw).hexdigest()}}]
    assert st["predicateType"] == "https://slsa.dev/provenance/v1"
    bd = st["predicate"]["buildDefinition"]
    assert bd["buildType"] == BUILD_TYPE
    assert bd["externalParameters"]["trainingConfig"] == records.train_config.to_data()
    assert bd["externalParameters"]["release"] == {
        "name": manifest.release.name, "version": manifest.release.version,
        "created": "2026-11-27T00:00:00Z"}
    assert bd["internalParameters"]["worldSize"] == manifest.training.world_size
    assert bd["internalParameters"]["seed"] == manifest.training.seed
    deps = {d["name"]: d for d in bd["resolvedDependencies"]}
    assert deps["data-chunks"]["digest"] == {"sha256": data_chunks_digest(manifest)}
    assert deps["data-chunks"]["annotations"]["chunks"] == len(manifest.data.chunks)
    assert deps["tokenizer"]["digest"] == {"sha256": manifest.model.tokenizer_sha256}
    assert not any("chunk_0" in json.dumps(d) for d in bd["resolvedDependencies"])
    rd = st["predicate"]["runDetails"]
    assert rd["builder"]["version"] == {"llm360": "0.1.0"}
    assert rd["metadata"]["finishedOn"] == "2026-11-27T00:00:00Z"
    names = {b["name"] for b in rd["byproducts"]}
    assert set(manifest.logs) | set(manifest.evals) == names


def test_sigstore_accepts_the_slsa_predicate(built) -> None:
    from sigstore.dsse import Statement
    from sigstore.dsse._predicate import SLSAPredicateV1_0

    manifest, raw, records = built
    payload = provenance_statement(manifest, raw, train_config=records.train_config.to_data())
    Statement(payload)  # in-toto Statement v1 as sigstore-python validates it
    SLSAPredicateV1_0.model_validate(json.loads(payload)["predicate"])


def test_code_commit_and_parent_release(built) -> None:
    manifest, raw, _ = built
    manifest = dataclasses.replace(manifest, code=dataclasses.replace(
        manifest.code, repository="https://github.com/x/y", commit="a" * 40, dirty=False))
    st = json.loads(provenance_statement(manifest, raw, parent_release={
        "name": "amber", "sha256": "b" * 64, "uri": "hf://LLM360/Amber"}))
    deps = {d["name"]: d for d in st["predicate"]["buildDefinition"]["resolvedDependencies"]}
    assert deps["code"] == {"name": "code", "digest": {"gitCommit": "a" * 40},
                            "uri": "git+https://github.com/x/y@" + "a" * 40,
                            "annotations": {"dirty": False}}
    assert deps["parent-release:amber"]["digest"] == {"sha256": "b" * 64}


def test_statement_size_does_not_grow_with_chunks(built) -> None:
    manifest, raw, _ = built
    chunk = manifest.data.chunks[0]
    many = tuple(dataclasses.replace(chunk, index=i) for i in range(10_000))
    big = dataclasses.replace(manifest, data=dataclasses.replace(manifest.data, chunks=many))
    small_len = len(provenance_statement(manifest, raw))
    big_len = len(provenance_statement(big, raw))
    assert big_len - small_len < 50 and big_len < 10_000


def test_oms_statement_matches_manifest(built) -> None:
    manifest, _, _ = built
    ckpt = manifest.checkpoints[1]
    st = json.loads(oms_statement(manifest, ckpt))
    assert st["predicateType"] == "https://model_signing/signature/v1.0"
    assert st["subject"] == [{"name": ckpt.name, "digest": {"sha256": ckpt.root_digest}}]
    names = [r["name"] for r in st["predicate"]["resources"]]
    assert names == sorted(p.rsplit("/", 1)[1] for p in ckpt.files)
    assert st["predicate"]["serialization"]["method"] == "files"
    assert st["predicate"]["serialization"]["hash_type"] == "sha256"


def test_oms_root_digest_is_model_signings(built, synthetic_run: Path) -> None:
    hashing = pytest.importorskip("model_signing.hashing")
    manifest, _, _ = built
    ckpt = manifest.checkpoints[0]
    theirs = hashing.Config().hash(synthetic_run / "checkpoints" / ckpt.name)
    root = hashlib.sha256(b"".join(rd.digest.digest_value
                                   for rd in theirs.resource_descriptors())).hexdigest()
    assert root == ckpt.root_digest == json.loads(
        oms_statement(manifest, ckpt))["subject"][0]["digest"]["sha256"]


def test_oms_refuses_inconsistent_checkpoint(built) -> None:
    manifest, _, _ = built
    bad = dataclasses.replace(manifest.checkpoints[0], root_digest="0" * 64)
    with pytest.raises(ValueError, match="root digest"):
        oms_statement(manifest, bad)


def test_statements_for_orders_release_then_checkpoints(built) -> None:
    manifest, raw, records = built
    out = statements_for(manifest, raw, train_config=records.train_config.to_data(),
                         release_files=b"{}")
    assert len(out) == 1 + len(manifest.checkpoints)
    assert [s["name"] for s in json.loads(out[0])["subject"]] == ["manifest.json",
                                                                   "release-files.json"]
    assert [json.loads(s)["subject"][0]["name"] for s in out[1:]] == \
        [c.name for c in manifest.checkpoints]
