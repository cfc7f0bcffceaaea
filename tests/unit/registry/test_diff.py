"""llm360 diff: checkpoints, chunks, files and configs between two releases."""

from __future__ import annotations

import json
import shutil

from _synthetic import write_synthetic_run

from llm360.registry.analysis.diff import diff_releases, side
from llm360.registry.build.release import BuildOptions, build_release
from llm360.registry.verify.open import open_release


def local_side(path):
    return side(open_release(path))


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
    result = diff_releases(local_side(a / "manifest.json"), local_side(b)).as_data()
    assert not result["identical"]
    assert result["checkpoints"]["added"] == ["ckpt_002"]
    assert result["data_chunks"]["added"] == [2]
    changed = {(f["path"], f["field"]) for f in result["files"]}
    assert ("config/train.json", "sha256") in changed
    assert ("checkpoints/ckpt_002/model.safetensors", "path") in changed
    assert {"path": "$.release.created", "a": "2026-11-27T00:00:00Z",
            "b": "2026-11-28T00:00:00Z"} in result["release"]
    changes = next(c for c in result["configs"] if c["path"] == "config/train.json")["changes"]
    assert {"path": "$.lr", "a": 0.001, "b": 0.5} in changes
    # A's log is a hard link to the run's, which the second write appended to: seen
    assert [(m["side"], m["path"], m["field"]) for m in result["mismatches"]] == [
        ("a", "logs/train.jsonl", "size")]
    assert diff_releases(local_side(b), local_side(b / "manifest.json")).identical


def _tamper(path, *, flip: bool = True, grow: bool = False):
    """Replace the file (the release links the run's file) with other bytes."""
    data = bytearray(path.read_bytes())
    if flip:
        data[-1] ^= 1
    if grow:
        data += b"\0"
    path.unlink()
    path.write_bytes(bytes(data))


def test_diff_compares_the_bytes_not_only_the_manifests(tmp_path):
    run = write_synthetic_run(tmp_path / "run", checkpoints=2)
    a = _release(run, tmp_path / "a", "2026-11-27T00:00:00Z")
    b = tmp_path / "b"
    shutil.copytree(a, b)
    _tamper(b / "checkpoints/ckpt_001/model.safetensors")
    _tamper(b / "checkpoints/ckpt_000/rng.safetensors", flip=False, grow=True)
    _tamper(b / "config/model.json")
    (b / "checkpoints/ckpt_000/optimizer.safetensors").unlink()
    result = diff_releases(local_side(a), local_side(b))
    assert not result.identical
    assert not (result.release or result.checkpoints or result.data_chunks)  # same manifest
    changed = {(f.path, f.field) for f in result.files}
    assert changed == {("checkpoints/ckpt_001/model.safetensors", "sha256"),
                       ("checkpoints/ckpt_000/rng.safetensors", "size"),
                       ("checkpoints/ckpt_000/rng.safetensors", "sha256"),
                       ("config/model.json", "sha256"),
                       ("checkpoints/ckpt_000/optimizer.safetensors", "path")}
    assert {(m.side, m.path, m.field) for m in result.mismatches} == {
        ("b", "checkpoints/ckpt_001/model.safetensors", "sha256"),
        ("b", "checkpoints/ckpt_000/rng.safetensors", "size"),
        ("b", "config/model.json", "sha256"),
        ("b", "checkpoints/ckpt_000/optimizer.safetensors", "missing")}


def test_diff_cli_names_the_changed_field_per_line(tmp_path):
    from click.testing import CliRunner

    from llm360.cli.main import cli

    run = write_synthetic_run(tmp_path / "run", checkpoints=2)
    a = _release(run, tmp_path / "a", "2026-11-27T00:00:00Z")
    b = tmp_path / "b"
    shutil.copytree(a, b)
    out = CliRunner().invoke(cli, ["diff", str(a), str(b)])
    assert out.exit_code == 0 and out.output.startswith("identical:"), out.output
    _tamper(b / "checkpoints/ckpt_001/model.safetensors")
    out = CliRunner().invoke(cli, ["diff", str(a), str(b)])
    assert out.exit_code == 0, out.output
    assert "identical" not in out.output
    lines = out.output.splitlines()
    assert any(line.startswith("~ file checkpoints/ckpt_001/model.safetensors: sha256 ")
               for line in lines), out.output
    assert any(line.startswith("! B checkpoints/ckpt_001/model.safetensors: sha256 ")
               and "manifest lists" in line for line in lines), out.output
