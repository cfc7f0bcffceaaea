"""`llm360 data prepare` + `llm360 train` + `llm360 release build` through the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

pytest.importorskip("torch")
pytest.importorskip("tokenizers")

from llm360.cli.main import cli  # noqa: E402

pytestmark = pytest.mark.slow


def _env() -> dict:
    env = dict(os.environ, HF_HUB_OFFLINE="1", PYTHONHASHSEED="0")
    env["PYTHONPATH"] = os.pathsep.join([str(Path(__file__).resolve().parents[2]),
                                         env.get("PYTHONPATH", "")])
    return env


@pytest.fixture(scope="module")
def prepared(tmp_path_factory) -> Path:
    run = tmp_path_factory.mktemp("cli") / "prepared"
    r = CliRunner().invoke(cli, ["data", "prepare", "--run", str(run), "--chunks", "2",
                                 "--max-corpus-bytes", "50000", "--json"])
    assert r.exit_code == 0, r.output
    prep = json.loads(r.output)
    assert prep["chunks"] == 2 and len(prep["chunk_sha256"]) == 2 and prep["notes"] == []
    return run


def _copy(src: Path, dst: Path) -> Path:
    import shutil

    shutil.copytree(src, dst)
    return dst


def test_prepare_train_release(prepared: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    run = _copy(prepared, tmp_path / "run")
    # piped, `train` prints each checkpoint's line as soon as it is written
    proc = subprocess.Popen([sys.executable, "-m", "llm360.cli.main", "train", "--run",
                             str(run), "--preset", "tiny"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=_env())
    try:
        first = proc.stdout.readline()
        # the line came while the run was still going: the last checkpoint did not exist yet
        last_exists = (run / "checkpoints/ckpt_001").exists()
        assert first.startswith("ckpt_000: step"), first + proc.stderr.read()
        assert not last_exists
        rest, err = proc.communicate(timeout=600)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    assert rest.splitlines()[0].startswith("ckpt_001: step") and "tokens/s" in rest
    assert "memorization score" in first and "on cpu" in rest
    r = runner.invoke(cli, ["train", "--run", str(run)])
    assert r.exit_code == 2 and "already has checkpoints" in r.output
    r = runner.invoke(cli, ["train", "--run", str(run), "--resume-from",
                            str(run / "checkpoints/ckpt_001")])
    assert r.exit_code == 2 and "nothing left to train" in r.output
    r = runner.invoke(cli, ["train", "--run", str(tmp_path / "nothing")])
    assert r.exit_code == 2 and "data prepare" in r.output
    r = runner.invoke(cli, ["release", "build", str(run), "--out", str(tmp_path / "rel"),
                            "--sign", "none", "--created", "2026-11-27T00:00:00Z"])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "rel/manifest.json").is_file()

    # bad resumes are bad input (exit 2, one line), not bugs
    other = _copy(prepared, tmp_path / "other")
    r = runner.invoke(cli, ["train", "--run", str(other), "--resume-from",
                            str(other / "checkpoints/ckpt_007")])
    assert r.exit_code == 2 and "checkpoint folder not found" in r.output
    r = runner.invoke(cli, ["train", "--run", str(other), "--max-checkpoints", "1",
                            "--config", str(_lr_config(tmp_path))])
    assert r.exit_code == 0, r.output
    r = runner.invoke(cli, ["train", "--run", str(other), "--resume-from",
                            str(run / "checkpoints/ckpt_000")])
    assert r.exit_code == 2 and "exists and differs" in r.output, r.output
    r = runner.invoke(cli, ["train", "--run", str(other), "--resume-from", str(tmp_path)])
    assert r.exit_code == 2 and "not a checkpoint" in r.output


def _lr_config(tmp_path: Path) -> Path:
    cfg = tmp_path / "lr.json"
    cfg.write_text(json.dumps({"train": {"lr": 1e-3}}))
    return cfg


def test_amber_7b_refuses_a_machine_that_cannot_hold_it(prepared: Path, tmp_path: Path) -> None:
    run = _copy(prepared, tmp_path / "run")
    r = CliRunner().invoke(cli, ["train", "--run", str(run), "--preset", "amber-7b",
                                 "--device", "cpu"])
    assert r.exit_code == 2, r.output
    assert "amber-7b" in r.output and "GiB per process" in r.output and "8 x 80 GB" in r.output
    assert "CUDA GPUs only" in r.output
    assert not (run / "checkpoints").exists()
    r = CliRunner().invoke(cli, ["train", "--run", str(run), "--max-shard-size", "lots"])
    assert r.exit_code == 2 and "--max-shard-size" in r.output


@pytest.mark.parametrize("args", [["train", "--run", "R"], ["data", "prepare", "--run", "R"]])
def test_without_torch_the_commands_say_what_to_install(args: list[str], tmp_path: Path) -> None:
    code = ("import sys; sys.modules['torch'] = None; sys.modules['tokenizers'] = None; "
            "from llm360.cli.main import main; sys.argv = ['llm360'] + sys.argv[1:]; main()")
    out = subprocess.run([sys.executable, "-c", code,
                          *[str(tmp_path / "run") if a == "R" else a for a in args]],
                         capture_output=True, text=True, env=_env(), timeout=120)
    assert out.returncode == 2, out.stderr
    assert "install 'llm360[train]'" in out.stderr and "unexpected" not in out.stderr
