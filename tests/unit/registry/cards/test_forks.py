"""A run with a fork (resumed from ckpt_001 with another learning rate): the plots, cards and
model-index name the right lines, configurations and final checkpoint."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import yaml
from _golden import check_golden

from llm360.errors import InputError
from llm360.registry.build.release import build_manifest
from llm360.registry.cards import _plots, lines, render_files
from llm360.registry.cards._inputs import read_inputs
from llm360.registry.cards._lines import line_name
from llm360.registry.manifest.models import final_checkpoint
from llm360.registry.manifest.serialize import canonical_json, manifest_to_bytes

GOLDEN = Path(__file__).resolve().parents[3] / "golden" / "cards-fork"
CREATED = "2026-11-27T00:00:00Z"


def _pin(root: Path) -> Path:
    (root / "code/provenance.json").write_bytes(canonical_json({
        "schema_version": "llm360.provenance/v1",
        "code": {"repository": "https://example.org/llm360.git", "commit": "0" * 40,
                 "dirty": False},
        "packages": {"numpy": "2.0.0", "torch": "2.13.0"},
        "environment": {"python": "3.11.7", "platform": "linux-x86_64", "hardware": "2 CPU"}}))
    return root


def _render(root: Path):
    manifest, records = build_manifest(root, created=CREATED, use_cache=False)
    raw = manifest_to_bytes(manifest)
    return manifest, render_files(manifest, raw, records.root)


@pytest.fixture(scope="module")
def forked(tmp_path_factory, fork_run_writer):
    root = _pin(fork_run_writer(tmp_path_factory.mktemp("fork") / "run"))
    manifest, files = _render(root)
    return root, manifest, files


def _header(text: str) -> dict:
    return yaml.safe_load(text.split("---\n", 2)[1])


@pytest.mark.parametrize("rel", ["README.md", "cards/ckpt_002.md", "cards/ckpt_002-fork1.md"])
def test_fork_cards_match_golden(forked, rel, update_golden):
    text = forked[2][rel].decode("utf-8")
    check_golden(GOLDEN / rel, text, update_golden)


def test_lines_come_from_the_recorded_lineage(forked):
    root, manifest, _ = forked
    inputs = read_inputs(manifest, root)
    found = lines(manifest, inputs.trainer_states)
    assert [(ln.name, ln.checkpoints, ln.fork_point) for ln in found] == [
        ("main", ("ckpt_000", "ckpt_001", "ckpt_002", "ckpt_003"), None),
        ("fork1", ("ckpt_002-fork1", "ckpt_003-fork1"), "ckpt_001")]
    assert final_checkpoint(manifest).name == "ckpt_003"
    # without trainer_state's record, the name llm360 train gives a fork decides
    ckpt = manifest.checkpoint("ckpt_003-fork1")
    assert line_name(ckpt, None) == "fork1"
    assert line_name(manifest.checkpoint("ckpt_003"), None) == "main"
    state = dataclasses.replace(inputs.trainer_states[ckpt.name], lineage="restart2")
    assert line_name(ckpt, state) == "restart2"


def test_plot_lines_are_labelled_by_lineage_not_by_file_name(forked):
    root, manifest, _ = forked
    inputs = read_inputs(manifest, root)
    assert [log.path for log in inputs.logs] == ["logs/train-fork1.jsonl", "logs/train.jsonl"]
    series = _plots.log_series(inputs.logs, "loss", lines(manifest, inputs.trainer_states))
    assert [s.label for s in series] == ["main line", "fork1 (from ckpt_001)"]
    assert series[0].x[0] == 32.0 and len(series[0].x) == 16  # the main run, from step 1
    assert series[1].x[0] == 9 * 32.0 and series[0].color != series[1].color
    per_ckpt = _plots.checkpoint_series(manifest, lines(manifest, inputs.trainer_states),
                                        "heldout_perplexity",
                                        x=lambda n: manifest.checkpoint(n).tokens_seen)
    assert per_ckpt[1].x[0] == manifest.checkpoint("ckpt_001").tokens_seen  # joins the fork point


def test_model_card_names_final_and_forks(forked):
    _, manifest, files = forked
    readme = files["README.md"].decode()
    header = _header(readme)
    assert header["llm360_checkpoint"] == "ckpt_003" and header["llm360_line"] == "main"
    memo = [m for r in header["model-index"][0]["results"] for m in r["metrics"]
            if m["type"] == "memorization_score"]
    assert memo[0]["value"] == pytest.approx(manifest.checkpoint("ckpt_003")
                                             .metrics["memorization_score"])
    rows = {line.split("`")[1]: line.split("|")[1] for line in readme.splitlines()
            if line.startswith("| [`ckpt_")}
    assert [name for name, cell in rows.items() if "(fork)" in cell] == [
        "ckpt_002-fork1", "ckpt_003-fork1"]
    assert [name for name, cell in rows.items() if "(final)" in cell] == ["ckpt_003"]
    assert "| `lr` | 0.003 | 0.001 |" in readme  # the differences between the lines
    assert "Hyperparameters of the main line (`config/train.json`)" in readme
    assert 'from_pretrained("checkpoints/ckpt_003")' in readme


def test_checkpoint_cards_show_the_configuration_that_produced_them(forked):
    _, _, files = forked
    fork = files["cards/ckpt_002-fork1.md"].decode()
    assert "| `lr` | 0.001 |" in fork and "| `lr` | 0.001 | 0.003 |" in fork
    assert "checkpoints/ckpt_002-fork1/trainer_state.json" in fork
    assert _header(fork)["llm360_line"] == "fork1"
    main = files["cards/ckpt_002.md"].decode()
    assert "| `lr` | 0.003 |" in main and "fork" not in main.split("## Configuration")[0] \
        .split("## Lineage")[1].replace("ckpt_", "")


def test_final_checkpoint_named_in_llm360_yaml(tmp_path, fork_run_writer):
    write_fork_run = fork_run_writer
    root = write_fork_run(tmp_path / "run", final_checkpoint="ckpt_003-fork1")
    _, files = _render(root)
    readme = files["README.md"].decode()
    assert _header(readme)["llm360_checkpoint"] == "ckpt_003-fork1"
    assert "as `llm360.yaml` names it" in readme
    bad = write_fork_run(tmp_path / "bad", final_checkpoint="ckpt_009")
    with pytest.raises(InputError, match="final_checkpoint"):
        _render(bad)


def test_each_evaluation_set_is_its_own_model_index_dataset(forked):
    _, _, files = forked
    results = _header(files["README.md"].decode())["model-index"][0]["results"]
    datasets = {r["dataset"]["type"]: r for r in results}
    assert set(datasets) == {"synthetic-tiny-heldout", "synthetic-tiny-train", "Rowan/hellaswag"}
    bench = datasets["Rowan/hellaswag"]
    assert bench["dataset"]["name"] == "HellaSwag" and bench["dataset"]["split"] == "validation"
    assert bench["metrics"] == [{"type": "acc_norm", "value": 0.26,
                                 "name": "HellaSwag acc_norm"}]
    assert {m["type"] for m in datasets["synthetic-tiny-heldout"]["metrics"]} == {
        "loss", "perplexity", "accuracy"}


def test_hub_dataset_repo_is_the_held_out_set_type(forked):
    root, manifest, _ = forked
    release = dataclasses.replace(manifest.release, links={
        "hub_dataset": "https://huggingface.co/datasets/acme/tiny-data"})
    hubbed = dataclasses.replace(manifest, release=release)
    files = render_files(hubbed, manifest_to_bytes(hubbed), root)
    results = _header(files["README.md"].decode())["model-index"][0]["results"]
    held = next(r for r in results if r["dataset"]["name"].endswith("held-out set"))
    assert held["dataset"]["type"] == "acme/tiny-data" and held["dataset"]["split"] == "heldout"


def test_memorization_score_and_training_curves_are_plotted(forked):
    _, _, files = forked
    for rel in ("plots/memorization_score.png", "plots/grad_norm.png", "plots/throughput.png",
                "plots/eval_hellaswag_acc_norm.png", "plots/eval_next_token_accuracy.png"):
        assert files[rel].startswith(b"\x89PNG"), rel
    readme = files["README.md"].decode()
    assert "Memorization score (Biderman et al. 2023, k=l=32)" in readme
    assert "](plots/memorization_score.png)" in readme
    assert "](plots/eval_hellaswag_acc_norm.png)" in readme
