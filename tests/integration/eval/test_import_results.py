"""``llm360 eval import`` on results files of each format, built from the formats' documented
keys (lm-eval 0.4 ``results_*.json``, the 0.3 dicts of Pythia and Amber, Open LLM Leaderboard
v1 details), into a synthetic run; the rows then build, sign and verify as artifacts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from llm360.cli.main import cli
from llm360.registry import TrustPolicy, build_release, layout, verify_release
from llm360.registry.build.release import BuildOptions
from llm360.registry.run.benchmarks import read_rows

CREATED = "2026-11-27T00:00:00Z"
SUBJECTS = [f"subject_{i:02d}" for i in range(57)]


def v04(*, revision: str = "ckpt_001", value: float = 0.25, date: float = 1.7e9,
        limit: int | None = None, stderr="N/A", args: object = None) -> dict:
    """An lm_eval --output_path results file (0.4): arc_challenge and a custom task."""
    return {
        "results": {
            "arc_challenge": {"alias": "arc_challenge", "acc,none": value - 0.02,
                              "acc_stderr,none": 0.012, "acc_norm,none": value,
                              "acc_norm_stderr,none": stderr},
            "my_task": {"alias": "my_task", "exact_match,strict-match": 0.5,
                        "exact_match_stderr,strict-match": "N/A"},
        },
        "group_subtasks": {"arc_challenge": [], "my_task": []},
        "configs": {"arc_challenge": {"task": "arc_challenge",
                                      "dataset_path": "allenai/ai2_arc",
                                      "dataset_name": "ARC-Challenge", "test_split": "test"},
                    "my_task": {"task": "my_task", "dataset_path": "org/my_data",
                                "validation_split": "dev"}},
        "versions": {"arc_challenge": 1.0, "my_task": 2},
        "n-shot": {"arc_challenge": 25, "my_task": 0},
        "higher_is_better": {"arc_challenge": {"acc": True, "acc_norm": True}},
        "n-samples": {"arc_challenge": {"original": 1172, "effective": limit or 1172},
                      "my_task": {"original": 10, "effective": 10}},
        "config": {"model": "hf",
                   "model_args": args if args is not None else
                   f"pretrained=org/model,revision={revision},dtype=bfloat16",
                   "model_revision": revision, "model_sha": "a" * 40, "batch_size": 8,
                   "limit": limit, "bootstrap_iters": 100000},
        "git_hash": "4e7e0d4", "date": date, "lm_eval_version": "0.4.13",
        "task_hashes": {"arc_challenge": "b" * 64},
    }


def v03() -> dict:
    """Pythia's five-shot file and Amber's per-branch file shape (0.3): MMLU as 57
    hendrycksTest subjects, TruthfulQA with mc1/mc2, one num_fewshot."""
    results = {f"hendrycksTest-{s}": {"acc": 0.25 + i / 1000, "acc_stderr": 0.04,
                                      "acc_norm": 0.2, "acc_norm_stderr": 0.04}
               for i, s in enumerate(SUBJECTS)}
    results["truthfulqa_mc"] = {"mc1": 0.22, "mc1_stderr": 0.01, "mc2": 0.38,
                                "mc2_stderr": 0.013}
    return {"results": results, "versions": {k: 0 for k in results},
            "config": {"model": "hf-causal",
                       "model_args": "pretrained=EleutherAI/pythia-160m,revision=ckpt_000",
                       "num_fewshot": 5, "batch_size": 8, "device": "cuda:0",
                       "no_cache": False, "limit": None, "bootstrap_iters": 100000,
                       "description_dict": {}}}


def leaderboard() -> dict:
    results = {f"harness|hendrycksTest-{s}|5": {"acc": 0.3, "acc_stderr": 0.04,
                                                "acc_norm": 0.3, "acc_norm_stderr": 0.04}
               for s in SUBJECTS}
    results["harness|arc:challenge|25"] = {"acc": 0.4, "acc_stderr": 0.01, "acc_norm": 0.43,
                                           "acc_norm_stderr": 0.01}
    results["harness|truthfulqa:mc|0"] = {"mc1": 0.2, "mc1_stderr": 0.01, "mc2": 0.35,
                                          "mc2_stderr": 0.01}
    results["all"] = {"acc": 0.31, "acc_norm": 0.31}
    return {"config_general": {"lighteval_sha": "c" * 40, "model_name": "org/model",
                               "model_sha": "d" * 40, "model_dtype": "torch.float16",
                               "start_time": 1.6e9},
            "results": results, "versions": {k: 0 for k in results}}


def write(tmp: Path, name: str, data) -> Path:
    path = tmp / name
    path.write_text(data if isinstance(data, str) else json.dumps(data, indent=2))
    return path


def invoke(*args) -> object:
    return CliRunner().invoke(cli, [str(a) for a in args])


def rows_of(run: Path, checkpoint: str) -> dict:
    return {(r.task, r.metric, r.filter): r for r in read_rows(run).rows
            if r.checkpoint == checkpoint}


def test_each_format_imports_onto_its_checkpoint(synthetic_run: Path, tmp_path: Path):
    run = synthetic_run
    files = [write(tmp_path, "results_2026.json", v04(limit=100)),
             write(tmp_path, "eval_mmlu.json", v03()),
             write(tmp_path, "details.json", leaderboard())]
    res = invoke("eval", "import", files[0], files[1], "--run", run, "--json")
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert [(f["checkpoint"], f["format"]) for f in out["files"]] == [
        ("ckpt_001", "lm-eval/0.4"), ("ckpt_000", "lm-eval/0.3")]
    res = invoke("eval", "import", files[2], "--checkpoint", "ckpt_002", "--run", run)
    assert res.exit_code == 0, res.output
    assert "ckpt_002" in res.output

    states = {c: json.loads((run / layout.checkpoint_file(c, layout.TRAINER_STATE))
                            .read_bytes()) for c in ("ckpt_000", "ckpt_001", "ckpt_002")}
    new = rows_of(run, "ckpt_001")
    arc = new[("arc_challenge", "acc_norm", "none")]
    assert (arc.step, arc.tokens_seen) == (states["ckpt_001"]["step"],
                                           states["ckpt_001"]["tokens_seen"])
    assert arc.value == 0.25 and arc.stderr is None          # "N/A" is no stderr
    assert arc.limit == 100 and arc.samples == 100 and arc.n_shot == 25 and arc.primary
    assert (arc.dataset.type, arc.dataset.config, arc.dataset.split) == (
        "ai2_arc", "ARC-Challenge", "test")
    assert arc.harness.version == "0.4.13" and arc.harness.commit == "4e7e0d4"
    assert arc.task_hash == "b" * 64 and arc.date == "2023-11-14T22:13:20Z"
    assert not new[("arc_challenge", "acc", "none")].primary
    assert new[("arc_challenge", "acc", "none")].stderr == 0.012
    mine = new[("my_task", "exact_match", "strict-match")]
    assert mine.primary and mine.dataset.type == "org/my_data" and mine.dataset.split == "dev"
    raw = run / arc.raw
    assert raw.read_bytes() == json.dumps(json.loads(raw.read_bytes()), sort_keys=True,
                                          separators=(",", ":")).encode()

    old = rows_of(run, "ckpt_000")
    mmlu = old[("mmlu", "acc", "none")]
    assert mmlu.primary and mmlu.n_shot == 5
    assert mmlu.value == pytest.approx(sum(0.25 + i / 1000 for i in range(57)) / 57)
    assert old[("truthfulqa_mc", "mc2", "none")].primary
    assert old[("truthfulqa_mc", "mc2", "none")].benchmark == "truthfulqa_mc2"
    assert not old[("hendrycksTest-subject_00", "acc", "none")].primary

    lb = rows_of(run, "ckpt_002")
    assert lb[("harness|arc:challenge|25", "acc_norm", "none")].primary
    assert lb[("harness|arc:challenge|25", "acc_norm", "none")].benchmark == "arc_challenge"
    assert lb[("mmlu", "acc", "none")].value == pytest.approx(0.3)
    assert lb[("harness|truthfulqa:mc|0", "mc2", "none")].n_shot == 0
    assert lb[("harness|arc:challenge|25", "acc", "none")].harness.commit == "c" * 40

    # rows and raw files are artifacts: built, signed over and verified
    result = build_release(run, tmp_path / "release", options=BuildOptions(created=CREATED))
    kinds = {a.path: a.kind for a in result.manifest.artifacts}
    assert kinds[layout.BENCHMARK_ROWS] == "benchmark_rows"
    assert kinds[arc.raw] == "benchmark_results"
    assert verify_release(result.manifest_path, policy=TrustPolicy(allow_unsigned=True)).ok

    # the final checkpoint's model-index, Open LLM Leaderboard style, as huggingface_hub reads it
    from huggingface_hub import ModelCard

    card = ModelCard.load(tmp_path / "release" / layout.MODEL_CARD)
    found = {(r.dataset_type, r.metric_type): r for r in card.data.eval_results}
    arc_index = found[("ai2_arc", "acc_norm")]
    assert (arc_index.dataset_name, arc_index.dataset_config, arc_index.dataset_split) == (
        "AI2 Reasoning Challenge (25-Shot)", "ARC-Challenge", "test")
    assert arc_index.dataset_args == {"num_few_shot": 25} and arc_index.metric_value == 43.0
    assert found[("cais/mmlu", "acc")].metric_value == 30.0
    assert found[("truthful_qa", "mc2")].metric_value == 35.0
    # ckpt_001's own card: its arc_challenge run was limited, so no model-index result
    ckpt_card = ModelCard.load(tmp_path / "release" / layout.checkpoint_card("ckpt_001"))
    assert "ai2_arc" not in {r.dataset_type for r in ckpt_card.data.eval_results or []}
    readme = (tmp_path / "release" / layout.MODEL_CARD).read_text()
    assert "## Benchmarks" in readme and "**LIMITED** (`--limit 100`)" in readme


def test_a_rerun_replaces_the_older_rows_which_are_kept(synthetic_run: Path, tmp_path: Path):
    first = write(tmp_path, "first.json", v04(value=0.30, date=1.7e9))
    second = write(tmp_path, "second.json", v04(value=0.35, date=1.8e9))
    res = invoke("eval", "import", second, first, "--run", synthetic_run)  # older one last
    assert res.exit_code == 0, res.output
    rows = read_rows(synthetic_run)
    kept = [r for r in rows.rows if (r.task, r.metric) == ("arc_challenge", "acc_norm")]
    assert [r.value for r in kept] == [0.35]
    old = [r for r in rows.superseded if (r.task, r.metric) == ("arc_challenge", "acc_norm")]
    assert [r.value for r in old] == [0.30] and old[0].superseded_by == kept[0].raw
    again = invoke("eval", "import", second, "--run", synthetic_run)  # the same file again
    assert again.exit_code == 0, again.output
    assert read_rows(synthetic_run) == rows


@pytest.mark.parametrize("content, args, says", [
    ("running...", [], "not a JSON results file (it starts 'running...')"),
    ("<html>rate limited</html>", [], "not a JSON results file"),
    (json.dumps({"results": []}), [], "not an lm-evaluation-harness or Open LLM Leaderboard"),
    (json.dumps(v04(revision="ckpt_009")), [], "names checkpoint 'ckpt_009', which the run "
                                               "does not have"),
    (json.dumps(v04(revision="main", args="pretrained=/scratch/amber")), [],
     "cannot tell which checkpoint"),
    (json.dumps(leaderboard()), ["--checkpoint", "ckpt_007"], "which the run does not have"),
    (json.dumps(v04(revision="ckpt_001")), ["--checkpoint", "ckpt_002"],
     "the file names revision 'ckpt_001', --checkpoint says 'ckpt_002'"),
])
def test_bad_files_are_refused_in_one_line_naming_them(synthetic_run: Path, tmp_path: Path,
                                                       content: str, args: list, says: str):
    good = [] if args else [write(tmp_path, "good.json", v04())]  # it comes first
    bad = write(tmp_path, "eval_arc.json", content)
    res = invoke("eval", "import", *good, bad, *args, "--run", synthetic_run)
    assert res.exit_code == 2, res.output
    error = [line for line in res.output.splitlines() if line.startswith("error:")]
    assert len(error) == 1 and str(bad) in error[0] and says in error[0], res.output
    assert "Traceback" not in res.output
    assert read_rows(synthetic_run) is None  # nothing written: every file is checked first


def test_amber_local_folder_names_its_checkpoint(synthetic_run: Path, tmp_path: Path):
    """Amber's files say only pretrained=<local ckpt dir>: its folder name is the checkpoint."""
    data = v03()
    data["config"]["model_args"] = "pretrained=/workdir/ckpt_002"
    res = invoke("eval", "import", write(tmp_path, "eval_mmlu.json", data), "--run",
                 synthetic_run)
    assert res.exit_code == 0, res.output
    assert {r.checkpoint for r in read_rows(synthetic_run).rows} == {"ckpt_002"}


def test_a_tampered_results_file_fails_verify_naming_it(synthetic_run: Path, tmp_path: Path):
    res = invoke("eval", "import", write(tmp_path, "r.json", v04()), "--run", synthetic_run)
    assert res.exit_code == 0, res.output
    raw = read_rows(synthetic_run).rows[0].raw
    release = tmp_path / "release"
    build_release(synthetic_run, release, options=BuildOptions(created=CREATED))
    path = release / raw
    data = json.loads(path.read_bytes())
    data["results"]["arc_challenge"]["acc_norm,none"] = 0.99
    path.unlink()  # the release holds a hard link to the run's file: replace, do not edit
    path.write_text(json.dumps(data, sort_keys=True, separators=(",", ":")))
    res = invoke("verify", release, "--allow-unsigned")
    assert res.exit_code == 1, res.output
    assert raw in res.output


def test_run_check_refuses_a_row_its_checkpoint_contradicts(synthetic_run: Path, tmp_path: Path):
    res = invoke("eval", "import", write(tmp_path, "r.json", v04()), "--run", synthetic_run)
    assert res.exit_code == 0, res.output
    path = synthetic_run / layout.BENCHMARK_ROWS
    data = json.loads(path.read_bytes())
    data["rows"][0]["tokens_seen"] += 1  # an interpolated guess, say
    path.write_text(json.dumps(data, sort_keys=True))
    res = invoke("run", "check", synthetic_run)
    assert res.exit_code == 1, res.output
    assert "differ from checkpoint ckpt_001's trainer state" in res.output


def test_a_folder_given_as_a_results_file_is_named_as_such(synthetic_run: Path, tmp_path: Path):
    res = invoke("eval", "import", tmp_path, "--run", synthetic_run)
    assert res.exit_code == 2, res.output
    assert f"error: {tmp_path}: not a file" in res.output and "Traceback" not in res.output
