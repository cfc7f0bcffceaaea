import copy
import json
import re
from pathlib import Path

import pytest
import yaml

from llm360.errors import SchemaError
from llm360.registry.build.release import build_manifest
from llm360.registry.manifest.schema import SCHEMAS, schema, validate
from llm360.registry.manifest.serialize import to_data

CASES = json.loads((Path(__file__).parents[2] / "fixtures/schema_cases.json").read_text())
STEP = re.compile(r"\.([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]")


@pytest.fixture(scope="module")
def bases(tmp_path_factory) -> dict:
    from _synthetic import write_synthetic_run

    run = write_synthetic_run(tmp_path_factory.mktemp("schema") / "run")
    manifest, _ = build_manifest(run, created="2026-11-27T00:00:00Z", use_cache=False)
    load = lambda rel: json.loads((run / rel).read_text())  # noqa: E731
    return {
        "manifest": to_data(manifest),
        "trainer_state": load("checkpoints/ckpt_001/trainer_state.json"),
        "data_index": load("data/index.json"),
        "eval": load("evals/ckpt_000.json"),
        "provenance": load("code/provenance.json"),
        "run_metadata": yaml.safe_load((run / "llm360.yaml").read_text()),
    }


def _walk(doc, path: str):
    steps = [m.group(1) if m.group(1) is not None else int(m.group(2))
             for m in STEP.finditer(path[1:])]
    for step in steps[:-1]:
        doc = doc[step]
    return doc, steps[-1]


def _apply(doc, case: dict):
    doc = copy.deepcopy(doc)
    for path, value in case.get("set", {}).items():
        parent, key = _walk(doc, path)
        parent[key] = value
    for path in case.get("delete", []):
        parent, key = _walk(doc, path)
        del parent[key]
    return doc


def _id(case: dict) -> str:
    return f"{case['schema']}:{json.dumps(case.get('set') or case.get('delete') or 'base')}"


@pytest.mark.parametrize("case", CASES["valid"], ids=_id)
def test_valid_documents_are_accepted(bases, case) -> None:
    validate(_apply(bases[case["base"]], case), case["schema"], source="case.json")


@pytest.mark.parametrize("case", CASES["invalid"], ids=_id)
def test_invalid_documents_are_rejected_at_their_path(bases, case) -> None:
    with pytest.raises(SchemaError) as info:
        validate(_apply(bases[case["base"]], case), case["schema"], source="case.json")
    assert info.value.file == "case.json"
    assert info.value.json_path == case["json_path"]
    assert str(info.value).startswith(f"case.json: {case['json_path']}: ")


def test_every_schema_is_draft_2020_12_with_an_id() -> None:
    for name in SCHEMAS:
        doc = schema(name)
        assert doc["$schema"] == "https://json-schema.org/draft/2020-12/schema"
        assert doc["$id"].endswith(f"/{name}.v1.schema.json")


def test_unsafe_path_message_is_readable(bases) -> None:
    doc = copy.deepcopy(bases["manifest"])
    doc["artifacts"][0]["path"] = "../../etc/passwd"
    with pytest.raises(SchemaError, match=r"'\.\./\.\./etc/passwd' is not a relative POSIX path"):
        validate(doc, "manifest", source="m.json")


def test_formats_are_checked() -> None:
    from jsonschema import Draft202012Validator

    checker = Draft202012Validator.FORMAT_CHECKER
    assert {"date-time", "uri"} <= set(checker.checkers), "install jsonschema[format-nongpl]"
    assert not checker.conforms("2026-02-30T00:00:00Z", "date-time")


def _formats(node) -> set[str]:
    if isinstance(node, dict):
        found = {node["format"]} if isinstance(node.get("format"), str) else set()
        return found.union(*(_formats(v) for v in node.values()))
    if isinstance(node, list):
        return set().union(*(_formats(v) for v in node))
    return set()


def test_every_format_the_schemas_name_is_checked(bases: dict) -> None:
    from llm360.registry.manifest.schema import FORMATS, validator

    named = set().union(*(_formats(schema(name)) for name in SCHEMAS))
    assert named == set(FORMATS)
    checker = validator("manifest").format_checker
    assert set(FORMATS) <= set(checker.checkers)
    doc = copy.deepcopy(bases["manifest"])
    doc["release"]["links"]["code"] = "https://exa mple.org/x y"
    with pytest.raises(SchemaError, match=r"\$\.release\.links\.code"):
        validate(doc, "manifest", source="m.json")


def test_validating_skips_packages_for_unused_formats() -> None:
    import subprocess
    import sys

    code = ("import sys\nfrom llm360.errors import SchemaError\n"
            "from llm360.registry.manifest.schema import validate\n"
            "try:\n    validate({'x': 1}, 'eval', source='e.json')\nexcept SchemaError:\n    pass\n"
            "print('jsonschema' in sys.modules, 'rfc3987_syntax' in sys.modules, "
            "'isoduration' in sys.modules, sys.modules.get('idna', 0) is None)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.split() == ["True", "False", "False", "False"], result.stderr
