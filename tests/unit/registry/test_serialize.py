import json
from pathlib import Path

import pytest

from llm360.errors import InputError, SchemaError
from llm360.registry.build.release import build_manifest
from llm360.registry.manifest.models import Manifest
from llm360.registry.manifest.serialize import (
    canonical_json,
    from_data,
    manifest_from_bytes,
    manifest_to_bytes,
    parse_json,
    to_data,
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


# --- hostile input (issue 8, item 12) ---------------------------------------------------------

@pytest.mark.parametrize("depth", [65, 900, 100_000])
def test_deep_nesting_is_bad_input_not_a_crash(depth: int) -> None:
    for raw in (b"[" * depth + b"]" * depth, b'{"a":' * depth + b"1" + b"}" * depth):
        with pytest.raises(InputError, match="nested more than 64 levels"):
            parse_json(raw, source="deep.json")
        with pytest.raises(InputError, match="nested more than 64 levels"):
            manifest_from_bytes(raw, source="manifest.json")


def test_nesting_up_to_the_limit_parses() -> None:
    assert parse_json(b"[" * 64 + b"]" * 64, source="ok.json") is not None


@pytest.mark.parametrize("number", [b"1e999", b"-1e999", b"1E400", b"Infinity", b"-Infinity"])
def test_numbers_that_overflow_are_refused_like_nan(number: bytes) -> None:
    with pytest.raises(InputError, match="m.json: malformed JSON"):
        parse_json(b'{"loss": ' + number + b"}", source="m.json")


def test_deep_yaml_is_bad_input(tmp_path: Path) -> None:
    from llm360.registry.manifest.serialize import read_yaml

    (tmp_path / "flow.yaml").write_text("a: " + "[" * 5000 + "]" * 5000 + "\n")
    (tmp_path / "block.yaml").write_text(
        "".join(" " * i + "a:\n" for i in range(2000)) + " " * 2000 + "a: 1\n")
    (tmp_path / "shallow.yaml").write_text("a: " + "[" * 70 + "]" * 70 + "\n")
    for name in ("flow.yaml", "block.yaml", "shallow.yaml"):
        with pytest.raises(InputError, match="nesting depth|nested more than 64"):
            read_yaml(tmp_path / name)  # libyaml or our own depth limit


def test_an_integer_too_large_for_a_float_field(manifest: Manifest) -> None:
    """Found by the fuzz harness (seed 1, case 3198): 10**400 as a metric."""
    data = to_data(manifest)
    data["checkpoints"][0]["metrics"]["heldout_perplexity"] = 10**400
    with pytest.raises(InputError, match=r"m.json: malformed JSON: 1000.* is out of range "
                                         r".* at \$\.checkpoints\[0\]\.metrics\."
                                         r"heldout_perplexity"):
        manifest_from_bytes(json.dumps(data).encode(), source="m.json")


def test_int64_bounds_records_not_the_third_party_files_a_run_carries() -> None:
    """A Hugging Face tokenizer_config.json says model_max_length 10**30: llm360 only copies
    and hashes it, so only its own records are held to int64."""
    raw = b'{"model_max_length": ' + str(10**30).encode() + b"}"
    with pytest.raises(InputError, match=r"t.json: malformed JSON: 10{30} is out of range "
                                         r"\(integers are int64.* at \$\.model_max_length"):
        parse_json(raw, source="t.json")
    assert parse_json(raw, source="t.json", int64=False) == {"model_max_length": 10**30}
    for bad, words in ((b"9" * 5000, r"an integer of 5000 digits\) at \$\.n"),
                       (b"1e999", r"1e999 is out of range \(not a finite number\) at \$\.n")):
        with pytest.raises(InputError, match=r"t.json: malformed JSON: .*" + words):
            parse_json(b'{"n": ' + bad + b"}", source="t.json", int64=False)


def test_a_refused_number_before_a_syntax_error_is_one_error() -> None:
    # found by the fuzz test: the second parse, which names the number, met the syntax error
    with pytest.raises(InputError, match=r"x\.json: malformed JSON: Expecting value"):
        parse_json(b"[1e999, }", source="x.json")
