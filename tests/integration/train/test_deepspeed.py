"""DeepSpeed ZeRO-2 on CPU (gloo): 2 processes train and save backend-neutral checkpoints,
1 process resumes from them; the torch backend reads them too."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from llm360.registry.build.release import BuildOptions, build_release
from llm360.registry.verify.policy import TrustPolicy
from llm360.registry.verify.verifier import verify_release

from .conftest import copy_data_only, free_port, llm360_cmd, subprocess_env

pytest.importorskip("deepspeed")
pytestmark = pytest.mark.slow


def test_zero2_two_processes_save_and_one_process_resumes(prepared_run: Path,
                                                          tmp_path: Path) -> None:
    run = copy_data_only(prepared_run, tmp_path / "run")
    ds_cfg = tmp_path / "ds.json"
    ds_cfg.write_text(json.dumps({"zero_optimization": {"stage": 2}}))
    env = dict(subprocess_env(tmp_path), OMP_NUM_THREADS="1")
    two = subprocess.run(
        [str(Path(llm360_cmd()[0]).with_name("torchrun")), "--nproc_per_node", "2",
         "--master_addr", "127.0.0.1", "--master_port", str(free_port()), "-m", "--",
         "llm360.cli.main", "train", "--run", str(run),
         "--backend", "deepspeed", "--deepspeed-config", str(ds_cfg), "--max-checkpoints", "2",
         "--micro-batch-size", "2", "--threads", "1", "--json"],
        capture_output=True, text=True, env=env, timeout=300)
    assert two.returncode == 0, two.stderr[-4000:]
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == ["ckpt_000", "ckpt_001"]
    st = json.loads((run / "checkpoints/ckpt_001/trainer_state.json").read_bytes())
    assert st["train_config"]["world_size"] == 2 and st["train_config"]["zero_stage"] == 2
    # 8 rows a step: 4 a process, in micro-batches of 2 that DeepSpeed accumulates
    assert st["train_config"]["micro_batch_size"] == 2
    assert st["schedule"]["accumulation_steps"] == 2 and st["determinism"]["world_size"] == 2
    assert not list(run.rglob("*.pt")), "DeepSpeed's own checkpoints never go into RUN"

    torch_copy = tmp_path / "torch_resume"
    shutil.copytree(run, torch_copy)
    one = subprocess.run(
        [*llm360_cmd(), "train", "--run", str(run), "--backend", "deepspeed",
         "--deepspeed-config", str(ds_cfg), "--resume-from", str(run / "checkpoints/ckpt_001"),
         "--json"], capture_output=True, text=True, env=env, timeout=300)
    assert one.returncode == 0, one.stderr[-4000:]
    out = json.loads(one.stdout)
    assert [c["name"] for c in out["checkpoints"]] == ["ckpt_002"] and not out["forked"]
    st2 = json.loads((run / "checkpoints/ckpt_002/trainer_state.json").read_bytes())
    assert st2["train_config"]["world_size"] == 1 and st2["parents"][0]["name"] == "ckpt_001"
    assert st2["schedule"]["accumulation_steps"] == 4
    assert any("world size 2" in n for n in out["notes"]), out["notes"]
    assert st2["metrics"]["train_loss"] < st["metrics"]["train_loss"]
    built = build_release(run, tmp_path / "release",
                          options=BuildOptions(created="2026-11-27T00:00:00Z"))
    assert verify_release(built.manifest_path, run,
                          policy=TrustPolicy(allow_unsigned=True)).problems == ()

    # the same checkpoint resumes on the plain torch backend (numerically close, not bitwise:
    # ZeRO steps on flattened buffers)
    from llm360.train import TrainOptions, train

    res = train(torch_copy, TrainOptions(resume_from=torch_copy / "checkpoints/ckpt_001"))
    assert abs(res.checkpoints[0]["train_loss"] - st2["metrics"]["train_loss"]) < 0.05
