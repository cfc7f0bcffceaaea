"""A tiny 3-chunk run: every file of the run directory, a falling loss, a release that builds
and verifies, bit-exact resume in a fresh process, forks, transformers compatibility."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from llm360.registry.build import BuildOptions, build_release
from llm360.registry.hashing import root_digest, sha256_file
from llm360.registry.lineage import children
from llm360.registry.policy import TrustPolicy
from llm360.registry.schema import validate
from llm360.registry.verify import verify_release

from .conftest import llm360_cmd, subprocess_env

CKPT_FILES = ["config.json", "generation_config.json", "model.safetensors",
              "optimizer.safetensors", "rng.safetensors", "trainer_state.json"]
pytestmark = pytest.mark.slow


def _tree(run: Path) -> list[str]:
    return sorted(p.relative_to(run).as_posix() for p in run.rglob("*")
                  if p.is_file() and ".llm360" not in p.parts)


def test_run_directory_has_every_file_and_the_loss_falls(trained_run) -> None:
    run, result = trained_run
    expected = {"llm360.yaml", "config/model.json", "config/train.json", "config/data.json",
                "tokenizer/tokenizer.json", "data/index.json", "data/heldout.safetensors",
                "logs/train.jsonl", "code/provenance.json"}
    expected |= {f"data/chunk_{k:03d}.safetensors" for k in range(3)}
    expected |= {f"checkpoints/ckpt_{k:03d}/{f}" for k in range(3) for f in CKPT_FILES}
    expected |= {f"evals/ckpt_{k:03d}.json" for k in range(3)}
    assert set(_tree(run)) == expected
    states = [json.loads((run / f"checkpoints/ckpt_{k:03d}/trainer_state.json").read_bytes())
              for k in range(3)]
    for k, st in enumerate(states):
        validate(st, "trainer_state", source=f"ckpt_{k}")
        assert st["data_chunks"] == [k] and st["position"] == {"chunk": k + 1, "row": 0}
        ev = json.loads((run / f"evals/ckpt_{k:03d}.json").read_bytes())
        validate(ev, "eval", source="eval")
        assert set(ev["metrics"]) == {"heldout_loss", "heldout_perplexity", "memorization",
                                      "next_token_accuracy"}
        assert ev["step"] == st["step"]
    assert states[0]["parents"] == []
    for parent, child in zip(states, states[1:]):
        assert child["step"] > parent["step"] and child["tokens_seen"] > parent["tokens_seen"]
        folder = run / "checkpoints" / parent["checkpoint"]
        assert child["parents"] == [{"name": parent["checkpoint"], "root_digest": root_digest(
            (p.name, sha256_file(p)[1]) for p in folder.iterdir())}]
    assert states[-1]["metrics"]["train_loss"] < states[0]["metrics"]["train_loss"]
    assert result.losses[-1] < result.losses[0] - 0.5
    lines = [json.loads(x) for x in (run / "logs/train.jsonl").read_text().splitlines()]
    assert [x["step"] for x in lines] == list(range(1, states[-1]["step"] + 1))
    for rel, schema in (("config/model.json", "model_config"), ("config/train.json",
                        "train_config"), ("code/provenance.json", "provenance")):
        validate(json.loads((run / rel).read_bytes()), schema, source=rel)


def test_release_builds_and_verifies(trained_run, tmp_path: Path) -> None:
    run, _ = trained_run
    built = build_release(run, tmp_path / "release",
                          options=BuildOptions(created="2026-11-27T00:00:00Z"))
    assert [c.name for c in built.manifest.checkpoints] == ["ckpt_000", "ckpt_001", "ckpt_002"]
    assert built.manifest.model.parameters > 900_000
    report = verify_release(built.manifest_path, run, policy=TrustPolicy(allow_unsigned=True))
    assert report.problems == ()


def test_resume_in_a_fresh_process_is_byte_identical(trained_run, tmp_path: Path) -> None:
    run, _ = trained_run
    import shutil

    copy = tmp_path / "resumed"
    shutil.copytree(run, copy)
    shutil.rmtree(copy / "checkpoints/ckpt_002")
    (copy / "evals/ckpt_002.json").unlink()
    out = subprocess.run([*llm360_cmd(), "train", "--run", str(copy), "--resume-from",
                          str(copy / "checkpoints/ckpt_001"), "--json"],
                         capture_output=True, text=True, env=subprocess_env(tmp_path),
                         timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert [c["name"] for c in json.loads(out.stdout)["checkpoints"]] == ["ckpt_002"]
    for name in CKPT_FILES:
        rel = f"checkpoints/ckpt_002/{name}"
        assert (copy / rel).read_bytes() == (run / rel).read_bytes(), rel
    rel = "evals/ckpt_002.json"
    assert (copy / rel).read_bytes() == (run / rel).read_bytes()
    assert _tree(copy) == _tree(run)


def test_resume_with_other_hyperparameters_forks(run_copy: Path, tmp_path: Path) -> None:
    from llm360.train import TrainOptions, train

    result = train(run_copy, TrainOptions(resume_from=run_copy / "checkpoints/ckpt_001",
                                          precision="bf16"))
    assert result.forked and [c["name"] for c in result.checkpoints] == ["ckpt_002-fork1"]
    st = json.loads((run_copy / "checkpoints/ckpt_002-fork1/trainer_state.json").read_bytes())
    assert st["parents"][0]["name"] == "ckpt_001" and st["train_config"]["precision"] == "bf16"
    assert (run_copy / "logs/train-fork1.jsonl").is_file()
    built = build_release(run_copy, tmp_path / "release",
                          options=BuildOptions(created="2026-11-27T00:00:00Z"))
    assert children(built.manifest, "ckpt_001") == ["ckpt_002", "ckpt_002-fork1"]
    assert verify_release(built.manifest_path, run_copy,
                          policy=TrustPolicy(allow_unsigned=True)).problems == ()


def test_resume_never_overwrites_a_different_checkpoint(run_copy: Path) -> None:
    from llm360.train import TrainOptions, train

    victim = run_copy / "checkpoints/ckpt_002/generation_config.json"
    victim.write_bytes(b'{"changed":true}')
    result = train(run_copy, TrainOptions(resume_from=run_copy / "checkpoints/ckpt_001"))
    assert [c["name"] for c in result.checkpoints] == ["ckpt_002-fork1"]
    assert victim.read_bytes() == b'{"changed":true}'
    same = train(run_copy, TrainOptions(resume_from=run_copy / "checkpoints/ckpt_000",
                                        max_checkpoints=1))
    assert [(c["name"], c["status"]) for c in same.checkpoints] == [("ckpt_001", "identical")]


def test_trained_checkpoint_loads_in_transformers(trained_run) -> None:
    transformers = pytest.importorskip("transformers")
    import torch

    from llm360.train.checkpoint import load_checkpoint
    from llm360.train.config import model_config_from_hf
    from llm360.train.model import build_model

    folder = trained_run[0] / "checkpoints/ckpt_002"
    hf = transformers.AutoModelForCausalLM.from_pretrained(folder).eval()
    state = load_checkpoint(folder)
    ours = build_model(model_config_from_hf(state.config), seed=0)
    ours.load_state_dict(state.model)
    ids = torch.randint(0, 512, (2, 64), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        assert (hf(ids).logits - ours.eval()(ids)).abs().max().item() < 1e-5
