"""trace: rows found with their step and the checkpoints after, matches across two rows,
nothing for what was never trained on, and proofs that check with the manifest alone."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import load_file

from llm360.errors import InputError, VerificationError
from llm360.registry.analysis.trace import (
    build_proofs,
    check_proofs,
    find_tokens,
    read_tokens_file,
    trace_text,
)
from llm360.registry.build.release import BuildOptions, build_release
from llm360.registry.verify.open import open_release
from llm360.registry.verify.policy import TrustPolicy

FIXTURE_V1 = Path(__file__).resolve().parents[2] / "fixtures" / "manifest_v1"


@pytest.fixture
def release(synthetic_run: Path, tmp_path: Path):
    build_release(synthetic_run, tmp_path / "release",
                  options=BuildOptions(created="2026-11-27T00:00:00Z", use_cache=False))
    return open_release(tmp_path / "release")


def _rows(source, k: int) -> np.ndarray:
    return load_file(str(source.root / f"data/chunk_{k:03d}.safetensors"))["tokens"]


def test_a_trained_row_with_its_step_and_the_checkpoints_after(release) -> None:
    row = _rows(release, 1)[5]
    result = find_tokens(release, row.tolist())
    [m] = result.matches
    assert (m.chunk, m.row, m.column, m.rows) == (1, 5, 0, (5,))
    [t] = m.trained
    # ckpt_000 ends at step 4; chunk 1 trains 2 rows a step: row 5 is in step 4 + 2 + 1
    assert (t.checkpoint, t.first_step, t.last_step) == ("ckpt_001", 7, 7)
    assert t.after == ("ckpt_001", "ckpt_002")
    assert result.trained and result.tokens_searched == 3 * 8 * 16


def test_a_match_across_two_rows(release) -> None:
    rows = _rows(release, 2)
    query = rows[3][-5:].tolist() + rows[4][:6].tolist()
    [m] = find_tokens(release, query).matches
    assert (m.chunk, m.row, m.column, m.rows) == (2, 3, 11, (3, 4))
    [t] = m.trained
    assert (t.checkpoint, t.first_step, t.last_step, t.after) == ("ckpt_002", 10, 11,
                                                                  ("ckpt_002",))


def test_text_through_the_release_tokenizer(release) -> None:
    # the synthetic tokenizer maps UTF-8 bytes to ids: plant ASCII text in no row, then look
    result = trace_text(release, "never trained on")
    assert result.matches == () and not result.trained


def test_nothing_for_tokens_never_trained_on(release) -> None:
    result = find_tokens(release, [1000, 1001, 1002])
    assert result.matches == () and not result.trained


def test_chunk_bytes_are_checked_first(release) -> None:
    path = release.root / "data/chunk_000.safetensors"
    raw = bytearray(path.read_bytes())
    raw[-1] ^= 1
    path.write_bytes(bytes(raw))
    with pytest.raises(VerificationError, match="chunk_000.safetensors"):
        find_tokens(release, [1, 2])


def test_a_proof_checks_and_changed_rows_other_chunks_other_manifests_fail(
        release, synthetic_run: Path, tmp_path: Path) -> None:
    rows = _rows(release, 1)
    query = rows[6][-3:].tolist() + rows[7][:3].tolist()
    result = find_tokens(release, query)
    doc = json.loads(json.dumps(build_proofs(release, result)))  # as saved and read back
    assert [(p["chunk"], p["row"]) for p in doc["proofs"]] == [(1, 6), (1, 7)]
    assert doc["merkle"] == "rfc6962"
    manifest, digest = release.manifest, release.manifest_sha256
    assert check_proofs(manifest, digest, doc) == []
    assert check_proofs(manifest, digest, {"proof": doc}) == []  # the --json form

    changed = copy.deepcopy(doc)
    changed["proofs"][0]["tokens"][0] += 1
    [problem] = check_proofs(manifest, digest, changed)
    assert "chunk 1 row 6" in problem and "does not lead to the Merkle root" in problem

    other_chunk = copy.deepcopy(doc)
    other_chunk["proofs"][1]["chunk"] = 2
    assert len(check_proofs(manifest, digest, other_chunk)) == 1

    other_row = copy.deepcopy(doc)
    other_row["proofs"][0]["row"] = 7
    assert len(check_proofs(manifest, digest, other_row)) == 1

    build_release(synthetic_run, tmp_path / "other",
                  options=BuildOptions(created="2026-11-28T00:00:00Z", use_cache=False))
    other = open_release(tmp_path / "other")
    [problem] = check_proofs(other.manifest, other.manifest_sha256, doc)
    assert "the proof is for manifest" in problem


def test_malformed_proofs_are_bad_input(release) -> None:
    for doc in ({}, {"schema_version": "llm360.trace_proof/v1"},
                {"schema_version": "llm360.trace_proof/v1", "manifest_sha256": "x",
                 "proofs": [{"chunk": 0, "row": 0, "tokens": [], "audit_path": ["zz"]}]}):
        with pytest.raises(InputError):
            check_proofs(release.manifest, release.manifest_sha256, doc)


def test_tokens_files(tmp_path: Path) -> None:
    f = tmp_path / "ids.txt"
    f.write_text("[1, 2, 3]")
    assert read_tokens_file(f) == [1, 2, 3]
    f.write_text("4 5,6\n7")
    assert read_tokens_file(f) == [4, 5, 6, 7]
    for bad in ("", "a b", "[1.5]", "[-1]", "-1", "1 ٣"):
        f.write_text(bad)
        with pytest.raises(InputError):
            read_tokens_file(f)
    f.write_text("1 2 " + "x" * 100_000)  # a text that is no token list: named, not echoed
    with pytest.raises(InputError) as caught:
        read_tokens_file(f)
    assert caught.value.message.endswith("item 3 is 'xxxxxxxxxxxxxxxxxxxxxxxx...'")


def test_a_v1_manifest_still_verifies_and_proves_in_the_legacy_format() -> None:
    from llm360.registry.verify.verifier import verify_release

    # the fixture folder holds the old light release with its run and a note beside it
    report = verify_release(FIXTURE_V1 / "manifest.json", FIXTURE_V1 / "run",
                            policy=TrustPolicy(allow_unsigned=True, allow_extra=True))
    assert report.ok, report.as_data()
    source = open_release(FIXTURE_V1 / "manifest.json", root=FIXTURE_V1 / "run")
    assert source.manifest.schema_version == "llm360.manifest/v1"
    assert source.manifest.data.merkle is None
    assert source.manifest.data.merkle_format == "legacy"
    row = load_file(str(FIXTURE_V1 / "run/data/chunk_001.safetensors"))["tokens"][2]
    result = find_tokens(source, row.tolist())
    doc = build_proofs(source, result)
    assert doc["merkle"] == "legacy"
    assert check_proofs(source.manifest, source.manifest_sha256, doc) == []
