import json
from pathlib import Path

import pytest

from llm360.errors import InputError, SchemaError
from llm360.registry.build import build_manifest
from llm360.registry.models import Manifest
from llm360.registry.serialize import (
    canonical_json, from_data, manifest_from_bytes, manifest_to_bytes, parse_json, to_data,
)


@pytest.fixture
def manifest(synthetic_run: Path) -> Manifest:
    return build_manifest(synthetic_run, created="2026-11-27T00:00:00Z", use_cache=False)[0]


def test_canonical_json_is_rfc8785() -> None:
    assert canonical_json({"b": 1, "a": [1.0, "é", None]}) == '{"a":[1,"é",null],"b":1}'.encode()


def test_manifest_round_trips_through_bytes(manifest: Manifest) -> None:
    raw = manifest_to_bytes(manifest)
    again = manifest_from_bytes(raw)
    assert again == manifest
    assert manifest_to_bytes(again) == raw
    assert from_data(Manifest, json.loads(raw)) == manifest


def test_none_fields_are_left_out(manifest: Manifest) -> None:
    data = to_data(manifest)
    assert "repository" not in data["code"]  # synthetic provenance has no repository


def test_wrong_schema_version(manifest: Manifest) -> None:
    data = to_data(manifest)
    data["schema_version"] = "llm360.manifest/v9"
    with pytest.raises(InputError, match="unsupported schema_version 'llm360.manifest/v9'"):
        manifest_from_bytes(json.dumps(data).encode())


def test_truncated_and_malformed_and_non_utf8() -> None:
    with pytest.raises(InputError, match="truncated JSON"):
        parse_json(b'{"a": [1, 2', source="m.json")
    with pytest.raises(InputError, match="malformed JSON"):
        parse_json(b'{"a": 1,, }', source="m.json")
    with pytest.raises(InputError, match="not UTF-8"):
        parse_json(b'{"a": "\xff"}', source="m.json")
    with pytest.raises(InputError, match="NaN is not valid JSON"):
        parse_json(b'{"a": NaN}', source="m.json")


def test_schema_error_names_file_and_path(manifest: Manifest) -> None:
    data = to_data(manifest)
    data["checkpoints"][1]["step"] = "eight"
    with pytest.raises(SchemaError) as info:
        manifest_from_bytes(json.dumps(data).encode(), source="rel/manifest.json")
    assert info.value.json_path == "$.checkpoints[1].step"
    assert "rel/manifest.json" in str(info.value)
