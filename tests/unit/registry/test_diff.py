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


def _results(revision: str, scores: dict[str, float]) -> dict:
    """An lm_eval --output_path results file (0.4) for ``revision``: one acc per task."""
    return {"results": {task: {"alias": task, "acc,none": value}
                        for task, value in scores.items()},
            "n-shot": {task: 0 for task in scores},
            "config": {"model": "hf", "model_revision": revision, "limit": None},
            "lm_eval_version": "0.4.13", "date": 1.7e9}


def _release_with_benchmarks(tmp_path, name: str, scores: dict[str, float], key=None):
    """A synthetic release whose ckpt_001 holds benchmark rows imported from ``scores``
    (signed with ``key`` if given)."""
    from hub_server.fixtures import make_release

    from llm360.eval.importer import import_results

    run = write_synthetic_run(tmp_path / f"run-{name}", checkpoints=2)
    results = tmp_path / f"results-{name}.json"
    results.write_text(json.dumps(_results("ckpt_001", scores)))
    import_results(run, [results])
    if key is not None:
        return make_release(run, tmp_path / name, key, cards=False)
    return _release(run, tmp_path / name, "2026-11-27T00:00:00Z")


def test_diff_names_benchmark_rows_added_removed_and_changed(tmp_path):
    from click.testing import CliRunner

    from llm360.cli.main import cli

    a = _release_with_benchmarks(tmp_path, "a", {"arc_easy": 0.25, "piqa": 0.5})
    b = _release_with_benchmarks(tmp_path, "b", {"arc_easy": 0.375, "sciq": 0.75})
    result = diff_releases(local_side(a), local_side(b))
    assert not result.identical
    assert [(c.checkpoint, c.task, c.metric, c.filter, c.n_shot, c.limit, c.change, c.a, c.b,
             c.delta) for c in result.benchmarks] == [
        ("ckpt_001", "arc_easy", "acc", "none", 0, None, "changed", 0.25, 0.375, 0.125),
        ("ckpt_001", "piqa", "acc", "none", 0, None, "removed", 0.5, None, None),
        ("ckpt_001", "sciq", "acc", "none", 0, None, "added", None, 0.75, None)]
    assert result.as_data()["benchmarks"][0] == {
        "checkpoint": "ckpt_001", "task": "arc_easy", "metric": "acc", "filter": "none",
        "n_shot": 0, "limit": None, "change": "changed", "a": 0.25, "b": 0.375, "delta": 0.125}

    out = CliRunner().invoke(cli, ["diff", str(a), str(b)])
    assert out.exit_code == 0, out.output
    lines = out.output.splitlines()
    for line in ("~ benchmark ckpt_001 arc_easy acc (filter none, 0-shot): 0.25 -> 0.375 "
                 "(+0.125)",
                 "- benchmark ckpt_001 piqa acc (filter none, 0-shot): 0.5 (removed)",
                 "+ benchmark ckpt_001 sciq acc (filter none, 0-shot): 0.75 (added)"):
        assert line in lines, out.output
    out = CliRunner().invoke(cli, ["diff", str(a), str(b), "--json"])
    assert out.exit_code == 0, out.output
    assert [(c["task"], c["change"]) for c in json.loads(out.output)["benchmarks"]] == [
        ("arc_easy", "changed"), ("piqa", "removed"), ("sciq", "added")]

    # the same rows on both sides (another release of the same run and results): none named
    same = _release_with_benchmarks(tmp_path, "same", {"arc_easy": 0.25, "piqa": 0.5})
    again = diff_releases(local_side(a), local_side(same))
    assert again.benchmarks == () and again.identical, again.as_data()
    out = CliRunner().invoke(cli, ["diff", str(a), str(same), "--json"])
    assert out.exit_code == 0 and json.loads(out.output)["benchmarks"] == [], out.output


def test_diff_notes_benchmark_rows_it_cannot_read(tmp_path):
    a = _release_with_benchmarks(tmp_path, "a", {"arc_easy": 0.25})
    b = tmp_path / "b"
    shutil.copytree(a, b)
    _tamper(b / "evals/benchmarks/rows.json")  # no longer JSON
    result = diff_releases(local_side(a), local_side(b))
    assert result.benchmarks == ()
    assert any(n.startswith(f"{b}'s benchmarks are not compared: ") for n in result.notes), \
        result.notes
    assert ("b", "evals/benchmarks/rows.json", "sha256") in {
        (m.side, m.path, m.field) for m in result.mismatches}


def test_diff_reads_benchmark_rows_from_the_hub(tmp_path, hub_server, hub_keys):
    from click.testing import CliRunner

    from llm360.cli.main import cli

    a = _release_with_benchmarks(tmp_path, "a", {"arc_easy": 0.25, "piqa": 0.5}, hub_keys[0])
    b = _release_with_benchmarks(tmp_path, "b", {"arc_easy": 0.375, "sciq": 0.75}, hub_keys[0])
    env = {"HF_TOKEN": "t"}
    out = CliRunner().invoke(cli, ["push", str(b), "--repo", "acme/bench", "--endpoint",
                                   hub_server.url, "--no-xet", "--key", str(hub_keys[1])],
                             env=env)
    assert out.exit_code == 0, out.output
    out = CliRunner().invoke(cli, ["diff", str(a), "hub:acme/bench", "--endpoint",
                                   hub_server.url, "--json"], env=env)
    assert out.exit_code == 0, out.output
    assert [(c["task"], c["change"], c["a"], c["b"])
            for c in json.loads(out.output)["benchmarks"]] == [
        ("arc_easy", "changed", 0.25, 0.375), ("piqa", "removed", 0.5, None),
        ("sciq", "added", None, 0.75)]
    out = CliRunner().invoke(cli, ["diff", str(b), "hub:acme/bench", "--endpoint",
                                   hub_server.url, "--json"], env=env)
    assert out.exit_code == 0 and json.loads(out.output)["benchmarks"] == [], out.output
