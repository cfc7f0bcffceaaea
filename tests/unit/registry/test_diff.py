"""llm360 diff: checkpoints, chunks, files and configs between two releases."""

from __future__ import annotations

import json

from llm360.registry.build import BuildOptions, build_release
from llm360.registry.diff import diff_releases, local_side
from _synthetic import write_synthetic_run


def _release(run, out, created):
    build_release(run, out, options=BuildOptions(created=created))
    return out


def test_diff_names_added_checkpoints_chunks_and_config_changes(tmp_path):
    run = write_synthetic_run(tmp_path / "run", checkpoints=2)
    a = _release(run, tmp_path / "a", "2026-11-27T00:00:00Z")
    write_synthetic_run(run, checkpoints=3)
    cfg = json.loads((run / "config/train.json").read_text())
    cfg["lr"] = 0.5
    new = run / "config/.train.json.new"  # replaced, not rewritten: the release links it
    new.write_text(json.dumps(cfg, sort_keys=True))
    new.replace(run / "config/train.json")
    b = _release(run, tmp_path / "b", "2026-11-28T00:00:00Z")
    result = diff_releases(local_side(a / "manifest.json"), local_side(b))
    assert not result["identical"]
    assert result["checkpoints"]["added"] == ["ckpt_002"]
    assert result["data_chunks"]["added"] == [2]
    assert "config/train.json" in result["files"]["changed"]
    assert "checkpoints/ckpt_002/model.safetensors" in result["files"]["added"]
    assert {"path": "$.release.created", "a": "2026-11-27T00:00:00Z",
            "b": "2026-11-28T00:00:00Z"} in result["release"]
    changes = next(c for c in result["configs"] if c["path"] == "config/train.json")["changes"]
    assert {"path": "$.lr", "a": 0.001, "b": 0.5} in changes
    assert diff_releases(local_side(b), local_side(b / "manifest.json"))["identical"]
