"""`llm360 audit`, `llm360 lineage` and `llm360 trace` end to end, on a release with a fork."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from safetensors.numpy import load_file

from llm360.cli.main import cli
from llm360.registry.build.hashing import root_digest
from llm360.registry.manifest.serialize import canonical_json

CREATED = "2026-11-27T00:00:00Z"


def _fork(run: Path) -> None:
    """Restart from ckpt_000 with other settings: ckpt_001-fork1 trains chunk 1 again, then
    ckpt_002-fork1 chunk 2 (as `llm360 train --resume-from` names a fork)."""
    parent = ("ckpt_000", json.loads((run / "checkpoints/ckpt_001/trainer_state.json")
                                     .read_bytes())["parents"][0]["root_digest"])
    for k in (1, 2):
        src, name = run / f"checkpoints/ckpt_{k:03d}", f"ckpt_{k:03d}-fork1"
        dst = run / "checkpoints" / name
        shutil.copytree(src, dst)
        state = json.loads((dst / "trainer_state.json").read_bytes())
        state.update(checkpoint=name, parents=[{"name": parent[0], "root_digest": parent[1]}],
                     step=state["step"] + 1, tokens_seen=state["tokens_seen"] + 32,
                     metrics={"train_loss": 9.0})
        (dst / "trainer_state.json").write_bytes(canonical_json(state))
        digests = [(f.name, hashlib.sha256(f.read_bytes()).hexdigest()) for f in dst.iterdir()]
        parent = (name, root_digest(digests))


def run_cli(*args: str):
    return CliRunner().invoke(cli, [str(a) for a in args])


@pytest.fixture(scope="module")
def forked_release(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from _synthetic import write_synthetic_run

    tmp = tmp_path_factory.mktemp("forked")
    run = write_synthetic_run(tmp / "run")
    _fork(run)
    result = run_cli("release", "build", run, "--out", tmp / "release", "--created", CREATED,
                     "--no-cards", "--allow-missing-records")  # the hand-made fork has no evals
    assert result.exit_code == 0, result.output
    return tmp / "release"


def test_lineage_tree_shows_both_lines(forked_release: Path) -> None:
    result = run_cli("lineage", forked_release)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("ckpt_000  step 4  tokens 128  chunks 0  [fork: 2 lines]")
    assert any(line.startswith("├── ckpt_001  step 8") for line in lines)
    # an only child is drawn below its parent at the same depth (a long line stays flat)
    assert any(line.startswith("│   ckpt_002  step 12") for line in lines)
    assert any(line.startswith("└── ckpt_001-fork1  step 9") for line in lines)
    assert any(line.startswith("    ckpt_002-fork1  step 13") for line in lines)


def test_lineage_of_a_checkpoint_lists_the_chunks_of_its_line(forked_release: Path) -> None:
    result = run_cli("lineage", forked_release / "manifest.json", "--checkpoint",
                     "ckpt_002-fork1", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["ancestry"] == ["ckpt_000", "ckpt_001-fork1"]
    assert [(d["checkpoint"], d["chunk"], d["tokens"]) for d in data["data"]] == [
        ("ckpt_000", 0, 128), ("ckpt_001-fork1", 1, 128), ("ckpt_002-fork1", 2, 128)]
    text = run_cli("lineage", forked_release, "--checkpoint", "ckpt_002")
    assert "in ckpt_001\n" in text.output and "fork1" not in text.output
    bad = run_cli("lineage", forked_release, "--checkpoint", "ckpt_999")
    assert bad.exit_code == 2 and "no checkpoint 'ckpt_999'" in bad.output


def test_trace_names_both_lines_and_proves_the_rows(forked_release: Path,
                                                    tmp_path: Path) -> None:
    run = forked_release.parent / "run"
    row = load_file(str(run / "data/chunk_001.safetensors"))["tokens"][3]
    ids = tmp_path / "ids.json"
    ids.write_text(json.dumps(row.tolist()))
    result = run_cli("trace", forked_release, "--tokens", ids)
    assert result.exit_code == 0, result.output
    assert "chunk 1 (data/chunk_001.safetensors) row 3, from token 0:" in result.output
    assert "trained at step 6 in ckpt_001; checkpoints after: ckpt_001, ckpt_002" \
        in result.output
    assert "in ckpt_001-fork1; checkpoints after: ckpt_001-fork1, ckpt_002-fork1" \
        in result.output

    proof = run_cli("trace", forked_release, "--tokens", ids, "--proof")
    assert proof.exit_code == 0
    saved = tmp_path / "proof.json"
    saved.write_text(proof.stdout)
    assert json.loads(proof.stdout)["proofs"][0]["row"] == 3
    ok = run_cli("trace", forked_release, "--check-proof", saved)
    assert ok.exit_code == 0 and ok.output.startswith("VERIFIED: 1 row proof(s)")

    doc = json.loads(saved.read_text())
    doc["proofs"][0]["tokens"][-1] += 1
    saved.write_text(json.dumps(doc))
    bad = run_cli("trace", forked_release, "--check-proof", saved, "--json")
    assert bad.exit_code == 1 and json.loads(bad.output)["ok"] is False


def test_trace_finds_nothing_in_one_line_exit_1(forked_release: Path, tmp_path: Path) -> None:
    ids = tmp_path / "ids.txt"
    ids.write_text("300 301 302")
    result = run_cli("trace", forked_release, "--tokens", ids)
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        "not found: the 3 tokens are in none of the 3 data chunks (384 tokens searched)"]
    both = run_cli("trace", forked_release, "--tokens", ids, "--text", "x")
    assert both.exit_code == 2 and "exactly one of" in both.output


def test_audit_cli_and_mot_yaml(forked_release: Path, tmp_path: Path) -> None:
    out = tmp_path / "mot.yml"
    result = run_cli("audit", forked_release, "--json", "--mot-yaml", out)
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["class"] == 0 and data["next_class"] == 3
    assert {m["component"] for m in data["missing_for_next"]} == {
        "Model card", "Data card", "Technical report (or a research paper)"}
    record = yaml.safe_load(out.read_text())
    assert record["framework"]["name"] == "Model Openness Framework"
    text = run_cli("audit", forked_release / "manifest.json")
    assert "class: Unclassified" in text.output
    assert "NO Datasets: 3 data chunks, 384 tokens; license PSF-2.0 (not open)" in text.output
    missing = run_cli("audit", tmp_path / "nowhere")
    assert missing.exit_code == 2 and "manifest not found" in missing.output
