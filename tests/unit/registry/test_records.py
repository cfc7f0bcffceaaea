"""Typed run records: the same bytes as the files they were read from, schema-checked both
ways with the file and JSON path of a problem."""

from __future__ import annotations

import dataclasses

import pytest

from llm360.errors import InputError, SchemaError
from llm360.registry import layout
from llm360.registry.run.records import (
    DataIndex,
    EvalRecord,
    LogLine,
    Position,
    Provenance,
    RunMetadata,
    TrainerState,
)


@pytest.mark.parametrize("rel, cls", [
    (layout.DATA_INDEX, DataIndex),
    (layout.checkpoint_file("ckpt_002", layout.TRAINER_STATE), TrainerState),
    (layout.eval_path("ckpt_001"), EvalRecord),
    (layout.PROVENANCE, Provenance),
])
def test_records_read_and_write_the_same_bytes(synthetic_run, rel, cls) -> None:
    raw = (synthetic_run / rel).read_bytes()
    record = cls.from_json(raw, source=rel)
    assert record.to_json(source=rel) == raw


def test_log_lines_and_metadata_round_trip(synthetic_run) -> None:
    for line in (synthetic_run / layout.TRAIN_LOG).read_bytes().splitlines():
        assert LogLine.from_json(line, source="l").to_json(source="l") == line
    meta = RunMetadata.from_yaml((synthetic_run / layout.RUN_METADATA).read_bytes(), source="y")
    assert meta.licenses.data == "PSF-2.0" and meta.authors == ("llm360 tests",)
    again = RunMetadata.from_yaml(meta.to_yaml(source="y"), source="y")
    assert again == meta


def test_unknown_keys_are_kept_and_nulls_where_the_schema_wants_them(synthetic_run) -> None:
    state = TrainerState(checkpoint="ckpt_000", step=1, tokens_seen=8, data_chunks=(0,),
                         position=Position(chunk=1, row=0), extra={"determinism": "x"})
    data = state.to_data()
    assert data["determinism"] == "x" and data["parents"] == [] and "metrics" not in data
    assert data["schema_version"] == "llm360.trainer_state/v1"
    assert TrainerState.from_data(data) == state
    prov = Provenance.from_json((synthetic_run / layout.PROVENANCE).read_bytes(), source="p")
    assert prov.to_data()["code"] == {"repository": None, "commit": None, "dirty": None}


def test_schema_is_checked_on_write_and_on_read() -> None:
    bad = EvalRecord(checkpoint="ckpt_000", step=-1, tokens_seen=0, metrics={"loss": 1.0})
    with pytest.raises(SchemaError) as info:
        bad.to_json(source="evals/ckpt_000.json")
    assert info.value.file == "evals/ckpt_000.json" and info.value.json_path == "$.step"
    with pytest.raises(SchemaError) as info:
        EvalRecord.from_json(b'{"schema_version": "llm360.eval/v1", "checkpoint": "c", '
                             b'"step": 1, "tokens_seen": 1, "metrics": {"Loss": 1}}',
                             source="e.json")
    assert info.value.json_path == "$.metrics"
    with pytest.raises(InputError, match="repeats"):
        dataclasses.replace(bad, step=1, extra={"step": 2}).to_data()


def test_open_parts_of_config_data_keep_values_of_another_type_as_read() -> None:
    """config/data.json is open beyond its required keys: a field holds a value of its own
    type only, anything else stays in ``extra`` under its key, and the document reads back
    whole."""
    from llm360.registry.run.records import DataConfig, DataSource

    data = {"seq_len": 8, "num_chunks": 2, "seed": 1, "shuffle": None,
            "heldout": {"path": "data/heldout.safetensors", "sequences": "many",
                        "fraction": 0.1},
            "sources": [{"name": "wiki", "bytes": True, "files": 3}, "corpus.txt"],
            "tokenizer": {"type": "bpe", "vocab_size": 300, "special_tokens": ["<eos>"]}}
    cfg = DataConfig.from_data(data)
    assert cfg.to_data() == data
    assert cfg.shuffle is None and cfg.extra == {"shuffle": None}
    assert (cfg.heldout.path, cfg.heldout.sequences, cfg.heldout.fraction) == (
        "data/heldout.safetensors", None, 0.1)
    assert cfg.heldout.extra == {"sequences": "many"}
    first, second = cfg.sources
    assert isinstance(first, DataSource) and (first.name, first.bytes, first.files) == (
        "wiki", None, 3) and second == "corpus.txt"
    assert cfg.tokenizer.vocab_size == 300 and cfg.tokenizer.extra == {"special_tokens": ["<eos>"]}
