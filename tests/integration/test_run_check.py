"""`llm360 run check`: every problem of a run at once, each with its file and JSON path."""

from __future__ import annotations

import json
import os
from pathlib import Path

from click.testing import CliRunner

from llm360.cli.main import cli
from llm360.registry import layout
from llm360.registry.run.check import check_run


def _edit(path: Path, fn) -> None:
    data = json.loads(path.read_bytes())
    fn(data)
    path.write_text(json.dumps(data, sort_keys=True))


def _plant_five(run: Path) -> None:
    # 1. a pickle file inside a checkpoint
    (run / layout.checkpoint_file("ckpt_001", "optimizer.pt")).write_bytes(b"\x80\x04.")
    # 2. a chunk sha256 in data/index.json that is not the chunk file's
    _edit(run / layout.DATA_INDEX, lambda d: d["chunks"][1].update(sha256="ab" * 32))
    # 3. a parent root digest that is not the parent's
    _edit(run / layout.checkpoint_file("ckpt_002", layout.TRAINER_STATE),
          lambda d: d["parents"][0].update(root_digest="0" * 64))
    # 4. an eval record against its schema
    _edit(run / layout.eval_path("ckpt_000"), lambda d: d["metrics"].update({"Top-1": 0.5}))
    # 5. a log line without its learning rate
    with open(run / layout.TRAIN_LOG, "ab") as fh:
        fh.write(b'{"loss": 1.0, "step": 13, "tokens_seen": 416}\n')


EXPECTED = {
    ("pickle", "checkpoints/ckpt_001/optimizer.pt", None),
    ("digest", "data/index.json", "$.chunks[1].sha256"),
    ("digest", "checkpoints/ckpt_002/trainer_state.json", "$.parents[0].root_digest"),
    ("schema", "evals/ckpt_000.json", "$.metrics"),
    ("schema", "logs/train.jsonl:13", "$"),
}


def test_a_clean_run_passes(synthetic_run: Path) -> None:
    result = check_run(synthetic_run)
    assert result.ok and result.problems == ()
    assert (result.checkpoints, result.chunks) == (3, 3)
    res = CliRunner().invoke(cli, ["run", "check", str(synthetic_run)])
    assert res.exit_code == 0 and "ok" in res.output


def test_five_defects_are_listed_at_once(synthetic_run: Path) -> None:
    _plant_five(synthetic_run)
    result = check_run(synthetic_run)
    found = {(p.code, p.file, p.json_path) for p in result.problems}
    assert found == EXPECTED, [p.as_data() for p in result.problems]
    res = CliRunner().invoke(cli, ["run", "check", str(synthetic_run), "--json"])
    assert res.exit_code == 1
    data = json.loads(res.output)
    assert data["ok"] is False and len(data["problems"]) == 5
    assert {(p["code"], p["file"], p["json_path"]) for p in data["problems"]} == EXPECTED
    text = CliRunner().invoke(cli, ["run", "check", str(synthetic_run)]).output
    assert "5 problem(s)" in text
    assert "data/index.json: $.chunks[1].sha256:" in text
    # release build stops at the first of them
    res = CliRunner().invoke(cli, ["release", "build", str(synthetic_run), "--out",
                                   str(synthetic_run.parent / "rel")])
    assert res.exit_code == 2


def test_broken_records_do_not_hide_the_other_problems(synthetic_run: Path) -> None:
    (synthetic_run / layout.RUN_METADATA).write_text("name: [unclosed\n")
    (synthetic_run / layout.TRAIN_CONFIG).unlink()
    os.symlink(synthetic_run / layout.MODEL_CONFIG, synthetic_run / "config/extra.json")
    _edit(synthetic_run / layout.DATA_INDEX, lambda d: d["chunks"][2].update(
        merkle_root="1" * 64))
    result = check_run(synthetic_run)
    found = {(p.code, p.file, p.json_path) for p in result.problems}
    assert found == {("link", "config/extra.json", None),
                     ("missing", layout.TRAIN_CONFIG, None),
                     ("format", layout.RUN_METADATA, None),
                     ("digest", layout.DATA_INDEX, "$.chunks[2].merkle_root")}


def test_not_a_directory_is_bad_input(tmp_path: Path) -> None:
    res = CliRunner().invoke(cli, ["run", "check", str(tmp_path / "nope")])
    assert res.exit_code == 2 and "not found" in res.output
