"""The openness audit: classes drop as the Model Openness Framework says, the MOT YAML record
has what the Model Openness Tool's schema requires, licenses per component."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import yaml
from _synthetic import write_synthetic_run
from jsonschema import Draft202012Validator
from safetensors.numpy import save as st_save

from llm360.errors import InputError
from llm360.registry.analysis.audit import (
    MOT_HEADER,
    audit_release,
    grade,
    mot_record,
    write_mot_yaml,
)
from llm360.registry.analysis.mof import COMPONENT_KEYS, COMPONENTS, is_open_license
from llm360.registry.build.release import BuildOptions, build_release
from llm360.registry.verify.open import open_release

OPEN_METADATA = """\
name: open-tiny
version: 0.1.0
description: A complete tiny release.
authors: [llm360 tests]
language: [code]
licenses:
  weights: Apache-2.0
  code: Apache-2.0
  data: CC-BY-4.0
  documentation: CC-BY-4.0
  components: {datasets: CDLA-Permissive-2.0, research_paper: CC-BY-4.0}
links: {code: "https://example.org/llm360", paper: "https://example.org/paper.pdf"}
"""

# What lfai/model_openness_tool schema/mof_schema.json (at 8b5d30e) requires of a record,
# written out here: the required keys, the enums and the shape of components.
MOT_REQUIRED = {
    "type": "object",
    "required": ["framework", "release"],
    "properties": {
        "framework": {"type": "object", "required": ["name", "version", "date"],
                      "properties": {"name": {"enum": ["Model Openness Framework"]},
                                     "version": {"type": "string"},
                                     "date": {"type": "string", "format": "date"}}},
        "release": {
            "type": "object",
            "required": ["name", "license", "producer", "components"],
            "properties": {
                "name": {"type": "string", "minLength": 1},
                "version": {"type": "string"},
                "date": {"type": "string", "format": "date"},
                "type": {"enum": ["", "language", "vision", "image", "audio", "video", "3d",
                                  "code", "multimodal", "other"]},
                "architecture": {"enum": ["", "transformer", "transformer decoder",
                                          "transformer encoder-decoder", "decoder", "encoder",
                                          "diffusion", "RNN", "CNN", "LSTM", "NeRF", "hybrid",
                                          "undisclosed", "other"]},
                "treatment": {"enum": ["pre-trained", "instruct fine-tuned", "chat fine-tuned"]},
                "origin": {"type": "string"}, "producer": {"type": "string"},
                "contact": {"type": "string"},
                "license": {"type": "object", "properties": {
                    k: {"type": "object", "properties": {"name": {"type": ["string", "null"]},
                                                         "path": {"type": ["string", "null"]}}}
                    for k in ("distribution", "code", "document", "data")}},
                "components": {"type": "array", "minItems": 0, "maxItems": 17, "items": {
                    "type": "object", "properties": {
                        k: {"type": "string"} for k in ("name", "description", "license",
                                                        "license_path", "component_path")}}},
            },
        },
    },
}


def complete_run(root: Path, *, checkpoints: int = 3) -> Path:
    """A synthetic run with everything the MOF asks for under open licenses."""
    write_synthetic_run(root, checkpoints=checkpoints)
    (root / "llm360.yaml").write_text(OPEN_METADATA)
    held = st_save({"tokens": np.arange(32, dtype=np.int32).reshape(2, 16)},
                   metadata={"format": "pt"})
    (root / "data" / "heldout.safetensors").write_bytes(held)
    return root


def release_of(run: Path, out: Path):
    build_release(run, out, options=BuildOptions(created="2026-11-27T00:00:00Z", use_cache=False))
    return open_release(out)


@pytest.fixture(scope="module")
def complete(tmp_path_factory: pytest.TempPathFactory):
    """A complete tiny release (read-only: tests change copies of its manifest in memory)."""
    tmp = tmp_path_factory.mktemp("audit")
    return release_of(complete_run(tmp / "run"), tmp / "release")


def test_complete_release_is_class_one(complete) -> None:
    result = audit_release(complete)
    assert result.mof_class == 1 and result.label == "Class I - Open Science Model"
    assert result.next_class is None and result.missing == ()
    # the paper stands in for the technical report the release does not link
    assert [c.key for c in result.components if c.required and not c.counts] == \
        ["technical_report"]
    assert result.component("datasets").license == "CDLA-Permissive-2.0"
    assert result.component("datasets").type_appropriate
    # the manifest carries one license per component (v1.1), defaults from the four kinds
    licenses = complete.manifest.release.licenses.components
    assert set(licenses) == set(COMPONENT_KEYS)
    assert licenses["training_code"] == "Apache-2.0" and licenses["evaluation_data"] == "CC-BY-4.0"


def _drop_artifacts(manifest, predicate):
    return dataclasses.replace(manifest, artifacts=tuple(a for a in manifest.artifacts
                                                         if not predicate(a)))


CARDS = {"README.md", "DATA_CARD.md"}


def test_without_the_data_it_is_class_two(complete) -> None:
    manifest = _drop_artifacts(complete.manifest, lambda a: a.path.startswith("data/chunk_"))
    result = grade(manifest, release_files=CARDS)
    assert result.mof_class == 2 and result.next_class == 1
    assert [n for n, _ in result.missing] == ["Datasets"]
    assert result.missing[0][1] == "no data chunks are released"


def test_without_intermediate_checkpoints_it_is_class_two(tmp_path: Path) -> None:
    source = release_of(complete_run(tmp_path / "run", checkpoints=1), tmp_path / "release")
    result = audit_release(source)
    assert result.mof_class == 2
    assert [n for n, _ in result.missing] == ["Model parameters (Intermediate)"]
    assert "need at least two" in result.missing[0][1]


def test_without_optimizer_state_the_class_stays_and_metadata_is_named(complete) -> None:
    # the MOF counts optimizer state as "Model metadata", an optional component: the class
    # stays, and the audit says what is missing
    manifest = _drop_artifacts(complete.manifest, lambda a: a.kind == "optimizer")
    result = grade(manifest, release_files=CARDS)
    assert result.mof_class == 1
    assert not result.component("model_metadata").present
    assert ("Model metadata", "no optimizer state in ckpt_000, ckpt_001, ckpt_002") \
        in result.optional_missing


def _with_licenses(manifest, **components):
    lic = manifest.release.licenses
    new = dataclasses.replace(lic, components={**lic.components, **components})
    return dataclasses.replace(manifest, release=dataclasses.replace(manifest.release,
                                                                     licenses=new))


def test_a_proprietary_license_drops_the_class(complete) -> None:
    result = grade(_with_licenses(complete.manifest, datasets="LicenseRef-Proprietary"),
                   release_files=CARDS)
    assert result.mof_class == 2
    assert result.missing == (("Datasets", "license LicenseRef-Proprietary is not an open "
                                           "license"),)
    result = grade(_with_licenses(complete.manifest, model_parameters_final="CC-BY-NC-4.0"),
                   release_files=CARDS)
    assert result.mof_class == 0 and result.next_class == 3
    assert [n for n, _ in result.missing] == ["Model parameters (Final)"]


def test_without_paper_or_report_it_is_unclassified(complete) -> None:
    release = dataclasses.replace(complete.manifest.release, links={})
    result = grade(dataclasses.replace(complete.manifest, release=release), release_files=CARDS)
    assert result.mof_class == 0
    names = [n for n, _ in result.missing]
    assert "Technical report (or a research paper)" in names


def test_cards_are_components(complete) -> None:
    result = grade(complete.manifest, release_files=set())
    assert result.mof_class == 0
    assert {n for n, _ in result.missing} == {"Model card", "Data card"}


def test_component_licenses_in_llm360_yaml_are_checked(tmp_path: Path) -> None:
    run = complete_run(tmp_path / "run")
    text = (run / "llm360.yaml").read_text().replace("datasets: CDLA", "weights_x: CDLA")
    (run / "llm360.yaml").write_text(text)
    with pytest.raises(InputError, match="components"):
        build_release(run, tmp_path / "release",
                      options=BuildOptions(created="2026-11-27T00:00:00Z"))


def test_mot_yaml_parses_and_has_what_the_mot_schema_requires(complete, tmp_path: Path) -> None:
    result = audit_release(complete)
    out = write_mot_yaml(tmp_path / "mot.yml", mot_record(complete.manifest, result))
    text = out.read_text()
    assert text.startswith(MOT_HEADER)
    record = yaml.safe_load(text)
    errors = list(Draft202012Validator(MOT_REQUIRED, format_checker=Draft202012Validator
                                       .FORMAT_CHECKER).iter_errors(record))
    assert errors == []
    names = [c["name"] for c in record["release"]["components"]]
    assert set(names) <= {c.name for c in COMPONENTS}
    assert len(names) == sum(c.present for c in result.components)
    datasets = next(c for c in record["release"]["components"] if c["name"] == "Datasets")
    assert datasets["license"] == "CDLA-Permissive-2.0"
    assert record["release"]["license"]["distribution"]["name"] == "Apache-2.0"
    # a rerun replaces its own file; a file llm360 did not write is never overwritten
    write_mot_yaml(out, mot_record(complete.manifest, result))
    other = tmp_path / "mine.yml"
    other.write_text("framework: {}\n")
    with pytest.raises(InputError, match="refusing to overwrite"):
        write_mot_yaml(other, {})
    assert other.read_text() == "framework: {}\n"


def test_license_rules() -> None:
    assert is_open_license("Apache-2.0") and is_open_license("CDLA-Permissive-2.0")
    assert is_open_license("GPL-3.0-or-later WITH Classpath-exception-2.0")
    assert is_open_license("MIT OR LicenseRef-Proprietary")
    assert not is_open_license("MIT AND CC-BY-NC-4.0")
    assert not is_open_license("PSF-2.0") and not is_open_license("llama2")


def test_a_v1_manifest_is_audited_with_licenses_from_the_four(tmp_path: Path) -> None:
    fixture = Path(__file__).resolve().parents[2] / "fixtures" / "manifest_v1"
    source = open_release(fixture / "manifest.json", root=fixture / "run")
    assert source.manifest.schema_version == "llm360.manifest/v1"
    result = audit_release(source)
    assert result.component("datasets").license == "PSF-2.0"
    assert not result.component("datasets").license_open
    assert result.component("model_card").present is False
