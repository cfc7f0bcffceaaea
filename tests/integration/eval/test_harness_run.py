"""``llm360 eval`` runs the real lm-evaluation-harness, offline, on a tiny trained model: the
embedded benchmark built from the run's held-out set, two checkpoints. The rows recorded are
what the harness returned; the results files, rows and task files are signed artifacts."""

from __future__ import annotations

import hashlib
import json
from importlib import metadata
from pathlib import Path

import pytest
from click.testing import CliRunner

lm_eval = pytest.importorskip("lm_eval")
pytest.importorskip("torch")

from llm360.cli.main import cli  # noqa: E402
from llm360.registry import TrustPolicy, build_release, layout, verify_release  # noqa: E402
from llm360.registry.build.release import BuildOptions  # noqa: E402
from llm360.registry.run.benchmarks import read_rows  # noqa: E402

pytestmark = pytest.mark.slow
TASK = "llm360_next_segment"


def invoke(*args) -> object:
    return CliRunner().invoke(cli, [str(a) for a in args])


@pytest.fixture
def spy(monkeypatch) -> list[dict]:
    """What each lm_eval.simple_evaluate call returned (its results, before llm360 saw them)."""
    returned: list[dict] = []
    real = lm_eval.simple_evaluate

    def wrapped(*args, **kwargs):
        out = real(*args, **kwargs)
        returned.append(json.loads(json.dumps({k: out[k] for k in (
            "results", "n-shot", "n-samples", "versions", "config")}, default=str)))
        return out

    monkeypatch.setattr(lm_eval, "simple_evaluate", wrapped)
    return returned


def test_rows_are_what_the_harness_returned(tiny_run_copy: Path, spy: list[dict],
                                            tmp_path: Path):
    run = tiny_run_copy
    res = invoke("eval", run, "--tasks", TASK, "--device", "cpu", "--json")
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert [(c["checkpoint"], c["status"]) for c in out["checkpoints"]] == [
        ("ckpt_000", "evaluated"), ("ckpt_001", "evaluated")]
    assert len(spy) == 2
    rows = read_rows(run)
    for name, returned in zip(("ckpt_000", "ckpt_001"), spy):
        assert returned["config"]["model_args"]["pretrained"].endswith(f"checkpoints/{name}")
        state = json.loads((run / layout.checkpoint_file(name, layout.TRAINER_STATE))
                           .read_bytes())
        mine = {r.metric: r for r in rows.rows if r.checkpoint == name}
        assert set(mine) == {"acc", "acc_norm"}
        harness = returned["results"][TASK]
        for metric, row in mine.items():
            assert row.value == harness[f"{metric},none"]
            assert row.stderr == harness[f"{metric}_stderr,none"]
            assert row.samples == returned["n-samples"][TASK]["effective"] > 10
            assert row.n_shot == returned["n-shot"][TASK] == 0
            assert (row.step, row.tokens_seen) == (state["step"], state["tokens_seen"])
            assert row.limit is None and row.origin == "llm360 eval"
            assert row.harness.version == metadata.version("lm_eval")
            assert row.task_hash and len(row.task_hash) == 64
            raw = (run / row.raw).read_bytes()
            assert hashlib.sha256(raw).hexdigest() == row.raw_sha256
            kept = json.loads(raw)
            assert kept["results"][TASK] == harness
            assert kept["config"]["model_args"] == {"pretrained": f"checkpoints/{name}"}
        assert mine["acc_norm"].primary and not mine["acc"].primary

    # the same settings again: nothing runs, nothing changes
    again = invoke("eval", run, "--tasks", TASK, "--device", "cpu")
    assert again.exit_code == 0, again.output
    assert again.output.count("already evaluated with these settings (skipped)") == 2
    assert len(spy) == 2 and read_rows(run) == rows

    # a limited run is another evaluation, kept beside the full one and marked
    limited = invoke("eval", run, "--tasks", TASK, "--checkpoints", "ckpt_001", "--limit", "8",
                     "--device", "cpu")
    assert limited.exit_code == 0, limited.output
    assert "LIMITED: --limit 8" in limited.output
    rows = read_rows(run)
    assert {(r.checkpoint, r.limit) for r in rows.rows if r.metric == "acc"} == {
        ("ckpt_000", None), ("ckpt_001", None), ("ckpt_001", 8)}
    assert not rows.superseded

    result = build_release(run, tmp_path / "release",
                           options=BuildOptions(created="2026-11-27T00:00:00Z"))
    kinds = {a.path: a.kind for a in result.manifest.artifacts}
    assert kinds[layout.benchmark_task_path(TASK, ".yaml")] == "benchmark_task"
    assert kinds[layout.benchmark_task_path(TASK, ".jsonl")] == "benchmark_task"
    assert sorted(k for k in kinds.values() if k.startswith("benchmark_")).count(
        "benchmark_results") == 3
    assert verify_release(result.manifest_path, policy=TrustPolicy(allow_unsigned=True)).ok

    # the model card: the final checkpoint's full run in the model-index (percent), the table
    # of every checkpoint, and the curve against tokens seen
    from huggingface_hub import ModelCard

    release = tmp_path / "release"
    card = ModelCard.load(release / layout.MODEL_CARD)
    final = next(r for r in rows.rows if r.checkpoint == "ckpt_001" and r.primary
                 and r.limit is None)
    assert [(r.metric_type, r.metric_value, r.dataset_args, r.dataset_split)
            for r in card.data.eval_results if r.dataset_config == TASK] == [
        ("acc_norm", round(final.value * 100, 2), {"num_few_shot": 0}, "heldout")]
    readme = card.text
    assert "## Benchmarks" in readme and "**LIMITED** (`--limit 8`)" in readme
    assert f"| `ckpt_000` | {rows.rows[0].tokens_seen:,} |" in readme
    plot = layout.plot_path(f"benchmark_{TASK}_0shot_acc_norm")
    assert (release / plot).is_file() and f"]({plot})" in readme


def test_unknown_checkpoint_and_missing_tasks_are_bad_input(tiny_run: Path):
    res = invoke("eval", tiny_run, "--tasks", TASK, "--checkpoints", "ckpt_000,ckpt_009")
    assert res.exit_code == 2 and "ckpt_009: not a checkpoint of the run" in res.output
    res = invoke("eval", tiny_run, "--tasks", " , ")
    assert res.exit_code == 2 and "--tasks" in res.output


def test_a_results_file_written_as_lm_eval_output_path_writes_it_imports(tiny_run_copy: Path,
                                                                         tmp_path: Path):
    """The file `lm_eval --output_path` writes (the harness's own EvaluationTracker), computed
    outside llm360, lands on the checkpoint its pretrained= folder names."""
    from lm_eval.loggers import EvaluationTracker
    from lm_eval.tasks import TaskManager

    from llm360.eval.embedded import task_config

    run = tiny_run_copy
    tracker = EvaluationTracker(output_path=str(tmp_path / "out"))
    folder = run / layout.checkpoint_dir("ckpt_001")
    results = lm_eval.simple_evaluate(
        model="hf", model_args=f"pretrained={folder}", tasks=[task_config(run, TASK)],
        device="cpu", batch_size=8, task_manager=TaskManager(include_defaults=False),
        evaluation_tracker=tracker, log_samples=True)
    samples = results.pop("samples")
    tracker.save_results_aggregated(results=results, samples=samples)
    written = sorted((tmp_path / "out").rglob("results_*.json"))
    assert len(written) == 1
    res = invoke("eval", "import", written[0], "--run", run, "--json")
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["files"][0]["checkpoint"] == "ckpt_001"
    row = next(r for r in read_rows(run).rows if r.metric == "acc_norm")
    assert (row.checkpoint, row.value, row.origin) == (
        "ckpt_001", results["results"][TASK]["acc_norm,none"], "import")
    assert row.task_hash == json.loads(written[0].read_bytes())["task_hashes"][TASK]
