"""A tiny 3-chunk run: every file of the run directory, a falling loss, a release that builds
and verifies, bit-exact resume in a fresh process, forks, transformers compatibility."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from llm360.registry.analysis.lineage import children
from llm360.registry.build.hashing import root_digest, sha256_file
from llm360.registry.build.release import BuildOptions, build_release
from llm360.registry.manifest.schema import validate
from llm360.registry.verify.policy import TrustPolicy
from llm360.registry.verify.verifier import verify_release

from .conftest import llm360_cmd, subprocess_env

CKPT_FILES = ["config.json", "generation_config.json", "model.safetensors",
              "optimizer.safetensors", "rng.safetensors", "special_tokens_map.json",
              "tokenizer.json", "tokenizer_config.json", "trainer_state.json"]
pytestmark = pytest.mark.slow


def _tree(run: Path) -> list[str]:
    return sorted(p.relative_to(run).as_posix() for p in run.rglob("*")
                  if p.is_file() and ".llm360" not in p.parts)


def test_run_directory_has_every_file_and_the_loss_falls(trained_run) -> None:
    run, result = trained_run
    expected = {"llm360.yaml", "config/model.json", "config/train.json", "config/data.json",
                "tokenizer/tokenizer.json", "tokenizer/tokenizer_config.json",
                "tokenizer/special_tokens_map.json", "data/index.json", "data/heldout.safetensors",
                "logs/train.jsonl", "code/provenance.json", "code/llm360-train.tar.gz"}
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
        assert set(ev["metrics"]) == {"heldout_loss", "heldout_perplexity",
                                      "memorization_score", "memorization_exact_match",
                                      "next_token_accuracy"}
        assert ev["details"]["memorization"]["rows"] >= 64 * (k + 1) or \
            ev["details"]["memorization"]["rows"] == sum(
                min(64, c["sequences"]) for c in json.loads(
                    (run / "data/index.json").read_bytes())["chunks"][:k + 1])
        assert ev["step"] == st["step"]
        assert st["determinism"]["deterministic"] is False
        assert st["determinism"]["device"] == "cpu" and st["determinism"]["world_size"] == 1
        assert st["train_config"]["micro_batch_size"] == 0
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


def test_a_checkpoint_folder_generates_text_with_pipeline(trained_run) -> None:
    transformers = pytest.importorskip("transformers")
    folder = trained_run[0] / "checkpoints/ckpt_001"
    tok = transformers.AutoTokenizer.from_pretrained(folder)
    assert tok.bos_token == tok.eos_token == "<|endoftext|>" and tok.eos_token_id == 0
    assert tok.pad_token is not None
    generate = transformers.pipeline("text-generation", model=str(folder))
    out = generate("def main(", max_new_tokens=8, do_sample=False)
    assert out[0]["generated_text"].startswith("def main(")
    assert len(out[0]["generated_text"]) > len("def main(")


def test_killed_between_rename_and_records_the_next_train_finishes_them(
        trained_run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import shutil

    from llm360.train import TrainOptions, records, train

    run, _ = trained_run
    copy = tmp_path / "killed"
    shutil.copytree(run, copy)
    shutil.rmtree(copy / "checkpoints/ckpt_002")
    (copy / "evals/ckpt_002.json").unlink()
    log = copy / "logs/train.jsonl"
    step1 = json.loads((copy / "checkpoints/ckpt_001/trainer_state.json").read_bytes())["step"]
    log.write_bytes(b"".join(line + b"\n" for line in log.read_bytes().splitlines()
                             if json.loads(line)["step"] <= step1))

    def killed(*args, **kwargs):
        raise KeyboardInterrupt("killed after the rename")

    monkeypatch.setattr(records, "apply_pending", killed)
    with pytest.raises(KeyboardInterrupt):
        train(copy, TrainOptions(resume_from=copy / "checkpoints/ckpt_001"))
    monkeypatch.undo()
    assert (copy / "checkpoints/ckpt_002").is_dir()
    assert not (copy / "evals/ckpt_002.json").exists()
    assert (copy / records.PENDING / "ckpt_002.json").is_file()
    # any later `train` on the run finishes the records first (here: nothing left to train)
    out = subprocess.run([*llm360_cmd(), "train", "--run", str(copy), "--resume-from",
                          str(copy / "checkpoints/ckpt_002")], capture_output=True, text=True,
                         env=subprocess_env(tmp_path), timeout=300)
    assert out.returncode == 2 and "nothing left to train" in out.stderr
    assert "wrote the eval and log lines of ckpt_002" in out.stderr
    assert (copy / "evals/ckpt_002.json").read_bytes() == (run / "evals/ckpt_002.json").read_bytes()
    steps = [json.loads(x)["step"] for x in log.read_text().splitlines()]
    assert steps == [json.loads(x)["step"] for x in (run / "logs/train.jsonl").read_text()
                     .splitlines()]
    assert not any((copy / records.PENDING).iterdir())


def test_sharded_run_builds_verifies_and_resumes(prepared_run, tmp_path: Path) -> None:
    from llm360.train import TrainOptions, train

    from .conftest import copy_data_only

    run = copy_data_only(prepared_run, tmp_path / "sharded")
    train(run, TrainOptions(max_shard_bytes=1_000_000, max_checkpoints=2, micro_batch_size=4))
    folder = run / "checkpoints/ckpt_001"
    names = sorted(p.name for p in folder.iterdir())
    shards = [n for n in names if n.startswith("model-")]
    assert "model.safetensors.index.json" in names and len(shards) >= 3
    assert shards[0] == f"model-00001-of-{len(shards):05d}.safetensors"
    assert "optimizer.safetensors.index.json" in names
    st = json.loads((folder / "trainer_state.json").read_bytes())
    assert st["train_config"]["max_shard_bytes"] == 1_000_000
    assert st["schedule"]["accumulation_steps"] == 2
    built = build_release(run, tmp_path / "release",
                          options=BuildOptions(created="2026-11-27T00:00:00Z"))
    kinds = {a.path.rsplit("/", 1)[1]: a.kind for a in built.manifest.artifacts
             if a.path.startswith("checkpoints/ckpt_001/")}
    assert {kinds[n] for n in shards} == {"weights"}
    assert kinds["optimizer.safetensors.index.json"] == "optimizer"
    assert kinds["tokenizer_config.json"] == "tokenizer"
    from llm360.train.checkpoint import load_checkpoint

    assert built.manifest.model.parameters == sum(
        t.numel() for t in load_checkpoint(folder).model.values())
    ckpt = next(c for c in built.manifest.checkpoints if c.name == "ckpt_001")
    assert sorted(f.rsplit("/", 1)[1] for f in ckpt.files) == names
    assert ckpt.root_digest == root_digest((p.name, sha256_file(p)[1]) for p in folder.iterdir())
    assert verify_release(built.manifest_path, run,
                          policy=TrustPolicy(allow_unsigned=True)).problems == ()
    res = train(run, TrainOptions(resume_from=folder))
    assert [c["name"] for c in res.checkpoints] == ["ckpt_002"] and not res.forked
