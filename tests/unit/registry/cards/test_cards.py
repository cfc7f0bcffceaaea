"""Cards: golden files, Hub metadata, missing facts left out, deterministic plots."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
import yaml
from _golden import check_golden
from _imports import imports_none_of
from _synthetic import write_synthetic_run

from llm360.errors import VerificationError
from llm360.registry.build.release import build_manifest
from llm360.registry.cards import _draw, describe_signature, render_files
from llm360.registry.manifest.serialize import canonical_json, manifest_to_bytes

GOLDEN = Path(__file__).resolve().parents[3] / "golden" / "cards"
CREATED = "2026-11-27T00:00:00Z"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
PLACEHOLDERS = ("None", "TODO", "N/A", "unknown", "placeholder", "nan", "null")


def _fixed_run(root: Path, *, evals: bool = True) -> Path:
    """The synthetic run with provenance pinned, so the manifest is the same on every machine."""
    write_synthetic_run(root)
    (root / "code/provenance.json").write_bytes(canonical_json({
        "schema_version": "llm360.provenance/v1",
        "code": {"repository": "https://example.org/llm360.git", "commit": "0" * 40,
                 "dirty": False},
        "packages": {"numpy": "2.0.0", "torch": "2.13.0"},
        "environment": {"python": "3.11.7", "platform": "linux-x86_64", "hardware": "2 CPU"}}))
    if not evals:
        for path in (root / "evals").iterdir():
            path.unlink()
        (root / "evals").rmdir()
    return root


def _render(root: Path, *, signature_dir: Path | None = None):
    manifest, records = build_manifest(root, created=CREATED, use_cache=False,
                                       allow_missing_records=True)
    raw = manifest_to_bytes(manifest)
    return manifest, raw, render_files(manifest, raw, records.root, signature_dir=signature_dir)


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    root = _fixed_run(tmp_path_factory.mktemp("cards") / "run")
    return _render(root)


def _header(text: str) -> dict:
    assert text.startswith("---\n")
    return yaml.safe_load(text.split("---\n", 2)[1])


@pytest.mark.parametrize("rel", ["README.md", "DATA_CARD.md", "cards/ckpt_000.md",
                                 "cards/ckpt_001.md", "cards/ckpt_002.md"])
def test_cards_match_golden(rendered, rel, update_golden):
    text = rendered[2][rel].decode("utf-8")
    check_golden(GOLDEN / rel, text, update_golden)


def test_model_card_metadata_round_trips_through_huggingface_hub(rendered):
    from huggingface_hub import ModelCard

    manifest, _, files = rendered
    text = files["README.md"].decode("utf-8")
    header = _header(text)
    assert header["license"] == "apache-2.0"
    assert "llm360" in header["tags"]
    assert header["library_name"] == "transformers"
    assert header["pipeline_tag"] == "text-generation"
    assert header["language"] == ["code"]
    card = ModelCard(text, ignore_metadata_errors=False)
    assert ModelCard(str(card)).data.to_dict() == card.data.to_dict()
    final = manifest.checkpoints[-1]
    results = {r.metric_name: r.metric_value for r in card.data.eval_results}
    assert results["Held-out perplexity"] == pytest.approx(final.metrics["heldout_perplexity"])
    assert len(results) == len([k for k in final.metrics if not k.startswith("train_")])
    types = {r.metric_name: r.metric_type for r in card.data.eval_results}
    assert types["Held-out perplexity"] == "perplexity"
    assert "llm360-eval" not in {r.dataset_type for r in card.data.eval_results}
    ckpt = ModelCard(files["cards/ckpt_001.md"].decode(), ignore_metadata_errors=False)
    assert ckpt.data.to_dict()["llm360_checkpoint"] == "ckpt_001"
    assert ckpt.data.to_dict()["llm360_parents"] == ["ckpt_000"]


@pytest.mark.parametrize("rel", ["README.md", "DATA_CARD.md", "cards/ckpt_001.md"])
def test_headers_are_what_huggingface_hub_itself_writes(rendered, rel):
    """The header is what huggingface_hub's own ``to_yaml`` writes, and its card reads it
    back."""
    from huggingface_hub import DatasetCard, ModelCard

    text = rendered[2][rel].decode("utf-8")
    card_cls = DatasetCard if rel == "DATA_CARD.md" else ModelCard
    card = card_cls(text, ignore_metadata_errors=False)
    assert text.split("---\n", 2)[1] == card.data.to_yaml() + "\n"
    assert str(card) == text


@pytest.mark.parametrize("extra", [{"llm360_parents": ("a",)},  # not plain YAML
                                   {"llm360_step": float("nan")}])
def test_a_header_that_does_not_read_back_is_refused(extra):
    from huggingface_hub import ModelCardData

    from llm360.errors import Llm360Error
    from llm360.registry.cards import _hub_meta

    with pytest.raises(Llm360Error, match="README.md: the model card metadata"):
        _hub_meta._with_header(ModelCardData(license="mit", **extra), "body", "README.md",
                               "model")


def test_hub_links_and_an_unknown_license_reach_the_header(tmp_path):
    """llm360.yaml's Hub links, a license the Hub does not know and tags said twice, as
    huggingface_hub reads each card's header back."""
    from huggingface_hub import DatasetCard, ModelCard

    root = _fixed_run(tmp_path / "run")
    meta_path = root / "llm360.yaml"
    data = yaml.safe_load(meta_path.read_text())
    data["links"].update({"hub": "https://huggingface.co/org/model",
                          "dataset": "https://huggingface.co/datasets/org/data",
                          "base_model": "https://huggingface.co/org/base",
                          "license_weights": "https://example.org/LICENSE"})
    data["licenses"]["weights"] = "LicenseRef-Own"
    data["tags"] = ["llm360", "demo", "demo"]
    meta_path.write_text(yaml.safe_dump(data))
    files = _render(root)[2]
    for rel in ("README.md", "cards/ckpt_001.md"):
        card = ModelCard(files[rel].decode("utf-8"), ignore_metadata_errors=False).data
        assert card.base_model == "org/base" and card.datasets == ["org/data"]
        assert (card.license, card.license_name, card.license_link) == (
            "other", "licenseref-own", "https://example.org/LICENSE")
        assert card.tags == ["llm360", "demo"]
    data_card = DatasetCard(files["DATA_CARD.md"].decode("utf-8"),
                            ignore_metadata_errors=False).data
    assert (data_card.license, data_card.license_name, data_card.license_link) == (
        "other", "psf-2.0", "https://spdx.org/licenses/PSF-2.0.html")  # the SPDX list's page


def test_cards_state_what_the_manifest_says(rendered):
    manifest, raw, files = rendered
    readme = files["README.md"].decode()
    import hashlib

    assert hashlib.sha256(raw).hexdigest() in readme
    assert "llm360 verify manifest.json --allow-unsigned" in readme
    assert "| `lr` | 0.001 |" in readme  # hyperparameters from config/train.json
    assert "--resume-from RUN/checkpoints/ckpt_002" in readme
    assert "| Data | PSF-2.0 |" in readme
    # the audit's class (the synthetic run has no paper, its data license PSF-2.0 is not open)
    assert "Model Openness Framework: **Unclassified**" in readme
    ckpt = files["cards/ckpt_002.md"].decode()
    assert "chunks 0, 1, 2" in ckpt  # data seen through its ancestors
    data = files["DATA_CARD.md"].decode()
    for chunk in manifest.data.chunks:
        assert chunk.sha256 in data and chunk.merkle_root in data
    for text in (readme, ckpt, data):
        assert "/tmp" not in text and str(Path.home()) not in text


def test_data_card_snippet_verifies_a_chunk(rendered, tmp_path):
    manifest, _, files = rendered
    text = files["DATA_CARD.md"].decode()
    snippet = text.split("```python\n", 1)[1].split("```", 1)[0]
    run = _fixed_run(tmp_path / "run")
    import os

    cwd = os.getcwd()
    os.chdir(run)
    try:
        exec(compile(snippet, "DATA_CARD.md", "exec"), {"print": lambda *a: None})
    finally:
        os.chdir(cwd)


def test_card_without_evals_has_no_eval_section_and_no_placeholders(tmp_path):
    _, _, files = _render(_fixed_run(tmp_path / "run", evals=False))
    readme = files["README.md"].decode()
    header = _header(readme)
    assert "model-index" not in header
    assert "## Evaluation" not in readme
    assert "perplexity" not in readme.lower() and "memorization" not in readme.lower()
    assert not [rel for rel in files if "perplexity" in rel or "memorization" in rel
                or "eval_" in rel]
    assert {"plots/train_loss.png", "plots/grad_norm.png", "plots/throughput.png"} <= set(files)
    for rel, data in files.items():
        if rel.endswith(".md"):
            words = data.decode().replace("-", " ").replace("`", " ").split()
            for bad in PLACEHOLDERS:
                assert bad not in words, f"{rel} contains {bad!r}"


def test_run_files_are_checked_against_the_manifest(tmp_path):
    root = _fixed_run(tmp_path / "run")
    manifest, records = build_manifest(root, created=CREATED, use_cache=False)
    with open(root / "logs/train.jsonl", "ab") as fh:
        fh.write(b'{"step": 99, "loss": 0.1, "tokens_seen": 9999}\n')
    with pytest.raises(VerificationError) as err:
        render_files(manifest, manifest_to_bytes(manifest), root)
    assert err.value.artifact == "logs/train.jsonl"


def test_missing_run_renders_manifest_facts_only(rendered):
    manifest, raw, _ = rendered
    files = render_files(manifest, raw, None)
    readme = files["README.md"].decode()
    assert "Hyperparameters" not in readme
    assert "plots/train_loss.png" not in files and "plots/heldout_perplexity.png" in files


def test_plots_are_png_and_byte_identical(rendered):
    manifest, raw, files = rendered
    plots = {k: v for k, v in files.items() if k.startswith("plots/")}
    assert set(plots) == {f"plots/{stem}.png" for stem in (
        "train_loss", "learning_rate", "grad_norm", "throughput", "heldout_perplexity",
        "eval_heldout_loss", "eval_memorization", "eval_next_token_accuracy")}
    again = render_files(manifest, raw, None)
    for rel, data in plots.items():
        assert data.startswith(PNG_MAGIC)
        # no library version or time in the bytes; the one mark says llm360 drew it
        assert data.count(b"Software") == 1 and _draw.drawn_here(data)
        assert b"Creation Time" not in data
        if rel in again:
            assert again[rel] == data, f"{rel} differs between two renders"
    import io

    from PIL import Image

    with Image.open(io.BytesIO(plots["plots/train_loss.png"])) as image:
        assert image.format == "PNG" and image.size == (800, 500)
        # no time, no library version: the title and the mark that llm360 drew it
        assert image.text == {"Title": "Training loss per step (mean over its batch)",
                              "Software": "llm360"}


def test_hub_links_give_repo_commands(rendered):
    manifest, _, _ = rendered
    release = dataclasses.replace(manifest.release, links={
        "hub": "https://huggingface.co/acme/tiny",
        "hub_dataset": "https://huggingface.co/datasets/acme/tiny-data"})
    hubbed = dataclasses.replace(manifest, release=release)
    files = render_files(hubbed, manifest_to_bytes(hubbed), None)
    readme = files["README.md"].decode()
    assert 'from_pretrained("acme/tiny", revision="ckpt_002")' in readme
    assert "--hub" not in readme and "llm360 pull" not in readme  # no such commands yet
    assert _header(readme)["datasets"] == ["acme/tiny-data"]
    ckpt = files["cards/ckpt_001.md"].decode()
    assert 'from_pretrained("acme/tiny", revision="ckpt_001")' in ckpt
    assert "--hub" not in ckpt


def test_signature_is_described(rendered, tmp_path):
    manifest, raw, _ = rendered
    fixtures = Path(__file__).resolve().parents[3] / "fixtures" / "sigstore"
    key = describe_signature(fixtures / "managed-key-happy-path" / "bundle.sigstore.json")
    assert key.method == "key" and key.key_hint
    keyless = fixtures / "happy-path-v0.3" / "bundle.sigstore.json"
    (tmp_path / "manifest.sigstore.json").write_bytes(keyless.read_bytes())
    files = render_files(manifest, raw, None, signature_dir=tmp_path)
    readme = files["README.md"].decode()
    assert "--issuer https://token.actions.githubusercontent.com" in readme
    assert "--identity https://github.com/sigstore-conformance/" in readme
    assert describe_signature(tmp_path / "absent.json").method == "unsigned"
    json.loads(keyless.read_text())  # the fixture itself is untouched


def test_cards_module_imports_nothing_heavy():
    imports_none_of("import llm360.registry.cards, llm360.cli.card_cmd",
                    ("torch", "PIL", "huggingface_hub", "jinja2"))


@pytest.mark.parametrize("value", [
    "x " * 70,  # folded past 80 columns
    "日本語のモデル — ünïcödé", "key: value # not a comment", "  leading and trailing  ",
    "two\nlines", "'quoted' \"both\"", "yes", "null", "1e3", "", "-", "{braces}", "\t tab",
])
def test_the_libyaml_header_is_the_one_huggingface_hub_writes(value):
    """The header comes from libyaml's emitter (``_yaml_text``), byte for byte what
    huggingface_hub's ``to_yaml`` writes, for strings that need quoting, folding or escapes."""
    from huggingface_hub import EvalResult, ModelCardData

    from llm360.registry.cards._hub_meta import _yaml_text

    assert yaml.__with_libyaml__  # the fast path is the one tested
    data = ModelCardData(
        license="other", license_name=value, tags=["llm360", value], model_name=value or "m",
        eval_results=[EvalResult(task_type="text-generation", dataset_type="d",
                                 dataset_name=value or "d", metric_type="acc", metric_value=0.25,
                                 dataset_args={"n": 5})],
        llm360_step=3, llm360_parents=[value], llm360_tokens_seen=2**40)
    assert _yaml_text(data, data.to_dict()) == data.to_yaml()
