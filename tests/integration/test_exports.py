"""The exports of a release (Croissant 1.1, SPDX 3.0.1, CycloneDX 1.6): written and signed by
`release build`, each validated by its format's own tool, in agreement with the manifest, and
`llm360 export` refusing a release that does not verify."""

from __future__ import annotations

import hashlib
import io
import itertools
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from _imports import imports_none_of
from click.testing import CliRunner
from safetensors.numpy import save as st_save

from llm360.cli.main import cli
from llm360.errors import InputError, VerificationError
from llm360.registry.analysis.exports import FILES, FORMATS, export_release
from llm360.registry.build.release import BuildOptions, build_release
from llm360.registry.build.release_dir import read_release_files
from llm360.registry.hub._layout import DATASET, MAIN, MODEL, layout
from llm360.registry.manifest.serialize import canonical_json, load_manifest
from llm360.registry.verify.policy import TrustPolicy
from llm360.registry.verify.verifier import verify_release

CREATED = "2026-11-27T00:00:00Z"
SOURCES = [{"kind": "file", "name": "corpus-a.txt", "bytes": 1200, "sha256": "ab" * 32},
           {"kind": "file", "name": "corpus-b.jsonl", "bytes": 3400, "sha256": "cd" * 32}]


def _rich_run(root: Path, write_fork_run) -> Path:
    """The fork run (a main line, a fork, a benchmark) with a held-out set and the data config
    `llm360 data prepare` writes (corpus sources, tokenizer, shuffle)."""
    run = write_fork_run(root)
    rows = np.random.default_rng(5).integers(0, 256, size=(4, 16), dtype=np.int32)
    (run / "data" / "heldout.safetensors").write_bytes(
        st_save({"tokens": rows}, metadata={"format": "pt"}))
    config = json.loads((run / "config" / "data.json").read_bytes())
    config.update({"sources": SOURCES, "shuffle": "a permutation of all rows",
                   "heldout": {"path": "data/heldout.safetensors", "sequences": 4,
                               "fraction": 0.05},
                   "corpus": {"documents": 7, "sha256": "ef" * 32, "tokens": 320},
                   "tokenizer": {"type": "synthetic-bytes", "vocab_size": 256}})
    (run / "config" / "data.json").write_bytes(canonical_json(config))
    return run


@pytest.fixture(scope="module")
def built(tmp_path_factory, fork_run_writer):
    """A key-signed release of the rich run (no cards: the exports do not need them)."""
    from llm360.registry.signing import make_signer, write_key_pair

    root = tmp_path_factory.mktemp("exports")
    private, public = root / "keys" / "k.pem", root / "keys" / "k.pub.pem"
    write_key_pair(private, public)
    run = _rich_run(root / "run", fork_run_writer)
    release = root / "release"
    build_release(run, release, options=BuildOptions(created=CREATED, cards=False),
                  signer=make_signer("key", key_path=private))
    return release, public, run


@pytest.fixture
def release_copy(built, tmp_path: Path):
    release, public, _ = built
    copy = tmp_path / "release"
    shutil.copytree(release, copy)
    return copy, public


def _doc(release: Path, fmt: str) -> dict:
    return json.loads((release / FILES[fmt]).read_bytes())


def test_release_build_writes_and_signs_the_three_exports(built) -> None:
    release, public, _ = built
    listed = {f.path for f in read_release_files((release / "release-files.json").read_bytes(),
                                                 source="release-files.json").files}
    assert set(FILES.values()) <= listed
    report = verify_release(release, policy=TrustPolicy(key=public))
    assert report.ok, report.failures


def test_cyclonedx_validates_with_the_cyclonedx_1_6_schema(built) -> None:
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    release = built[0]
    raw = (release / FILES["cyclonedx"]).read_text("ascii")
    errors = JsonStrictValidator(SchemaVersion.V1_6).validate_str(raw, all_errors=True)
    assert not list(errors or []), [str(e) for e in errors]
    bad = json.loads(raw)
    bad["components"][0]["type"] = "weights"  # the validator does reject what is wrong
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(json.dumps(bad)) is not None


def _load_spdx(data: dict):
    """spdx-python-model's SHACL-derived checks: every value's datatype, pattern and enum on
    load, every reference resolved (link), every cardinality when written back."""
    import spdx_python_model
    from spdx_python_model import v3_0_1

    model, objects = spdx_python_model.load_data(data)
    assert model is v3_0_1
    assert objects.link() == set()
    v3_0_1.JSONLDSerializer().write(objects, io.BytesIO())
    return objects


def test_spdx_validates_with_spdx_python_model(built) -> None:
    from spdx_python_model import v3_0_1 as spdx

    release = built[0]
    manifest = load_manifest(release / "manifest.json")
    objects = _load_spdx(_doc(release, "spdx"))
    packages = {o.name: o for o in objects.foreach_type(spdx.ai_AIPackage)}
    assert len(packages) == len(manifest.checkpoints)
    relations = [r for r in objects.foreach_type(spdx.Relationship)]
    kinds = {r.relationshipType.rsplit("/", 1)[-1] for r in relations}
    assert {"trainedOn", "testedOn", "ancestorOf", "hasDeclaredLicense"} <= kinds
    tested = {t.name for r in relations if r.relationshipType.endswith("/testedOn")
              for t in r.to}
    assert {"data/heldout.safetensors", "HellaSwag"} <= tested
    bad = _doc(release, "spdx")
    next(e for e in bad["@graph"] if e["type"] == "Relationship")["relationshipType"] = "eats"
    with pytest.raises(ValueError):
        _load_spdx(bad)


def test_croissant_loads_in_mlcroissant_and_iterates_the_chunk_records(built) -> None:
    import mlcroissant as mlc

    release = built[0]
    manifest = load_manifest(release / "manifest.json")
    dataset = mlc.Dataset(jsonld=str(release / FILES["croissant"]))
    assert not dataset.metadata.ctx.issues.errors
    records = list(itertools.islice(dataset.records("chunks"), 2))
    assert [(r["chunks/index"], r["chunks/sha256"].decode()) for r in records] == [
        (c.index, c.sha256) for c in manifest.data.chunks[:2]]
    assert records[0]["chunks/sources"]
    sources = list(dataset.records("corpus_sources"))
    assert [s["corpus_sources/name"].decode() for s in sources] == [s["name"] for s in SOURCES]
    # the token rows are described (int32 arrays in the chunks' `tokens` tensor), but
    # mlcroissant reads no safetensors: they are not iterable through it
    rows = next(r for r in dataset.metadata.record_sets if r.name == "token_rows")
    assert rows.fields[0].is_array and rows.fields[0].array_shape == "16"


def test_the_three_documents_agree_with_the_manifest(built) -> None:
    release = built[0]
    manifest = load_manifest(release / "manifest.json")
    chunks = {(c.path, c.sha256) for c in manifest.data.chunks}
    checkpoints = {c.name for c in manifest.checkpoints}
    lic = manifest.release.licenses

    croissant = _doc(release, "croissant")
    files = {f["contentUrl"]: f for f in croissant["distribution"]
             if f["@type"] == "cr:FileObject"}
    assert {(p, f["sha256"]) for p, f in files.items() if p.startswith("data/chunk_")} == chunks
    assert files["data/heldout.safetensors"]["sha256"] == manifest.artifact(
        "data/heldout.safetensors").sha256
    assert croissant["license"] == f"https://spdx.org/licenses/{lic.data}.html"
    assert croissant["version"] == manifest.release.version
    assert croissant["datePublished"] == manifest.release.created

    spdx = _doc(release, "spdx")["@graph"]
    by_id = {e.get("spdxId"): e for e in spdx}
    datasets = [e for e in spdx if e["type"] == "dataset_DatasetPackage"
                and e["name"].startswith("data/chunk_")]
    assert {(e["name"], e["verifiedUsing"][0]["hashValue"]) for e in datasets} == chunks
    models = [e for e in spdx if e["type"] == "ai_AIPackage"]
    assert {e["name"].split()[-1] for e in models} == checkpoints
    for model in models:
        ckpt = manifest.checkpoint(model["name"].split()[-1])
        assert {(h["comment"], h["hashValue"]) for h in model["verifiedUsing"]} == {
            (p, manifest.artifact(p).sha256) for p in ckpt.files}
    declared = {(by_id[r["from"]]["name"], by_id[r["to"][0]]["simplelicensing_licenseExpression"])
                for r in spdx if r.get("relationshipType") == "hasDeclaredLicense"}
    assert {lic_ for name, lic_ in declared if name.startswith("data/")} == {lic.data}
    assert {lic_ for name, lic_ in declared if name.split()[-1] in checkpoints} == {lic.weights}
    trained = {by_id[r["from"]]["name"].split()[-1]: {by_id[t]["name"] for t in r["to"]}
               for r in spdx if r.get("relationshipType") == "trainedOn"}
    assert trained["ckpt_003-fork1"] == {f"data/chunk_{k:03d}.safetensors" for k in range(4)}

    bom = _doc(release, "cyclonedx")
    comps = bom["components"]
    data = [c for c in comps if c["type"] == "data" and c["name"].startswith("data/chunk_")]
    assert {(c["name"], c["hashes"][0]["content"]) for c in data} == chunks
    assert {c["licenses"][0]["expression"] for c in data} == {lic.data}
    ml = [c for c in comps if c["type"] == "machine-learning-model"]
    assert {c["name"] for c in ml} == checkpoints
    assert {c["licenses"][0]["expression"] for c in ml} == {lic.weights}
    fork = next(c for c in ml if c["name"] == "ckpt_002-fork1")
    assert [a["name"] for a in fork["pedigree"]["ancestors"]] == ["ckpt_001"]
    card = next(c for c in ml if c["name"] == "ckpt_003")["modelCard"]
    assert {"ref": "benchmark:Rowan/hellaswag"} in card["modelParameters"]["datasets"]
    assert {m["slice"] for m in card["quantitativeAnalysis"]["performanceMetrics"]} >= {
        "HellaSwag"}
    assert bom["metadata"]["timestamp"] == manifest.release.created


def test_export_prints_the_signed_file_byte_for_byte(built, tmp_path: Path) -> None:
    release, public, _ = built
    for fmt in FORMATS:
        result = CliRunner().invoke(cli, ["export", str(release), "--format", fmt,
                                          "--key", str(public)])
        assert result.exit_code == 0, result.output
        assert result.stdout_bytes == (release / FILES[fmt]).read_bytes()
    out = tmp_path / "bom.json"
    result = CliRunner().invoke(cli, ["export", str(release), "--format", "cyclonedx", "--key",
                                      str(public), "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["sha256"] == hashlib.sha256(out.read_bytes()).hexdigest()
    out.write_text("{}")
    again = CliRunner().invoke(cli, ["export", str(release), "--format", "cyclonedx", "--key",
                                     str(public), "--out", str(out)])
    assert again.exit_code == 2 and "refusing to overwrite" in again.output


def test_export_is_the_release_own_file_not_a_new_render(built, monkeypatch) -> None:
    """A release built by another llm360 version holds the document it signed: export prints
    that one, even where this version would render other bytes."""
    from llm360.registry.analysis.exports import _export

    release, public, _ = built
    monkeypatch.setattr(_export, "render", lambda facts, fmt: b"{}")
    for fmt in FORMATS:
        result = export_release(release, fmt, policy=TrustPolicy(key=public))
        assert result.data == (release / FILES[fmt]).read_bytes()


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_chunk_digest_changed_in_an_export_fails_verify(release_copy, fmt: str) -> None:
    release, public = release_copy
    manifest = load_manifest(release / "manifest.json")
    path = release / FILES[fmt]
    text = path.read_text("ascii")
    sha = manifest.data.chunks[0].sha256
    assert sha in text
    path.write_text(text.replace(sha, sha[::-1]), "ascii")
    report = verify_release(release, policy=TrustPolicy(key=public))
    assert not report.ok
    assert [p.file for p in report.failures] == [FILES[fmt]]
    with pytest.raises(VerificationError, match=FILES[fmt]):
        export_release(release, fmt, policy=TrustPolicy(key=public))


def test_export_refuses_a_tampered_release(release_copy) -> None:
    release, public = release_copy
    chunk = release / "data" / "chunk_001.safetensors"
    raw = bytearray(chunk.read_bytes())
    raw[-1] ^= 1
    chunk.unlink()  # a hard link to the run's chunk: write a new file
    chunk.write_bytes(bytes(raw))
    result = CliRunner().invoke(cli, ["export", str(release), "--format", "croissant",
                                      "--key", str(public)])
    assert result.exit_code == 1
    assert "data/chunk_001.safetensors" in result.output and "verification failed" in \
        result.output


def test_export_asks_for_a_signer_or_allow_unsigned(built, tmp_path: Path) -> None:
    release = tmp_path / "unsigned"
    build_release(built[2], release, options=BuildOptions(created=CREATED, cards=False))
    with pytest.raises(InputError, match="unsigned"):
        export_release(release, "spdx")
    result = export_release(release, "spdx", policy=TrustPolicy(allow_unsigned=True))
    assert result.data == (release / FILES["spdx"]).read_bytes()
    assert result.opt_outs == ("--allow-unsigned",)
    wrong = CliRunner().invoke(cli, ["export", str(release), "--format", "spdx", "--key",
                                     str(built[1])])
    assert wrong.exit_code == 1


def test_exports_are_byte_identical_across_builds(built, tmp_path: Path) -> None:
    release, _, run = built
    again = tmp_path / "again"
    build_release(run, again, options=BuildOptions(created=CREATED, cards=False))
    for rel in FILES.values():
        assert (again / rel).read_bytes() == (release / rel).read_bytes()


def test_push_puts_croissant_in_the_dataset_repo_and_the_boms_on_main(built) -> None:
    release = built[0]
    manifest = load_manifest(release / "manifest.json")
    plan = layout(manifest, list(FILES.values()))
    assert plan[(DATASET, MAIN)]["croissant.json"] == "croissant.json"
    assert "croissant.json" not in plan[(MODEL, MAIN)]
    assert {"bom.spdx.json", "bom.cdx.json"} <= set(plan[(MODEL, MAIN)])


def test_build_and_export_import_none_of_the_validators() -> None:
    imports_none_of("import llm360.registry.build.release, llm360.registry.analysis.exports, "
                    "llm360.cli.export_cmd",
                    ("cyclonedx", "spdx_python_model", "mlcroissant", "torch"))


def test_the_readme_exports_example_runs(built, tmp_path: Path) -> None:
    import re
    import subprocess
    import sys

    readme = Path(__file__).resolve().parents[2] / "README.md"
    section = readme.read_text("utf-8").split("\n## Exports\n", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    assert len(blocks) == 1, "the section holds exactly one python example"
    (tmp_path / "RELEASE").symlink_to(built[0], target_is_directory=True)
    result = subprocess.run([sys.executable, "-c", blocks[0]], cwd=tmp_path,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    manifest = load_manifest(built[0] / "manifest.json")
    assert manifest.data.chunks[0].sha256 in result.stdout
