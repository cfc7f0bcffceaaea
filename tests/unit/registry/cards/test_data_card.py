"""The data card: Hub license fields, size and task categories, the sources table and the
held-out set, all from config/data.json and data/index.json as `llm360 data prepare` writes
them; and the Hub license mapping itself."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml
from _synthetic import write_synthetic_run
from safetensors.numpy import save as st_save

from llm360.registry.build.release import build_manifest
from llm360.registry.cards import render_files
from llm360.registry.cards._hub_meta import license_fields, size_category
from llm360.registry.manifest.serialize import canonical_json, manifest_to_bytes

CREATED = "2026-11-27T00:00:00Z"


def _prepared_like(root: Path) -> Path:
    """The synthetic run with the data records `data prepare` writes: sources, documents per
    chunk, a held-out set."""
    write_synthetic_run(root)
    index = json.loads((root / "data/index.json").read_bytes())
    docs = [["notes.jsonl:1", "notes.jsonl:2", "python-stdlib:abc.py"],
            ["notes.jsonl:3", "python-stdlib:abc.py", "python-stdlib:ast.py"],
            ["python-stdlib:bdb.py"]]
    for chunk, ids in zip(index["chunks"], docs):
        chunk["sources"] = ids
    (root / "data/index.json").write_bytes(canonical_json(index))
    held = np.arange(4 * 16, dtype=np.int32).reshape(4, 16)
    (root / "data/heldout.safetensors").write_bytes(st_save({"tokens": held},
                                                            metadata={"format": "pt"}))
    (root / "config/data.json").write_bytes(canonical_json({
        "seq_len": 16, "num_chunks": 3, "seed": 0, "sequences_per_chunk": 8,
        "shuffle": "numpy.random.Generator(PCG64(seed)).permutation over all sequences; the "
                   "last heldout.sequences go to the held-out set",
        "heldout": {"path": "data/heldout.safetensors", "sequences": 4, "fraction": 0.05},
        "sources": [{"kind": "file", "name": "notes.jsonl", "bytes": 1234, "sha256": "a" * 64},
                    {"kind": "python-stdlib", "python": "3.11.7", "files": 4, "bytes": 56789,
                     "max_bytes": 400000, "file_list_sha256": "b" * 64}],
        "tokenizer": {"type": "byte-level-bpe", "vocab_size": 256}}))
    evals = root / "evals"
    for path in evals.iterdir():
        record = json.loads(path.read_bytes())
        record["details"] = {"heldout_sequences": 4}
        path.write_bytes(canonical_json(record))
    return root


@pytest.fixture(scope="module")
def data_card(tmp_path_factory) -> str:
    root = _prepared_like(tmp_path_factory.mktemp("data") / "run")
    manifest, records = build_manifest(root, created=CREATED, use_cache=False)
    files = render_files(manifest, manifest_to_bytes(manifest), records.root)
    return files["DATA_CARD.md"].decode()


def test_data_card_metadata(data_card):
    from huggingface_hub import DatasetCard

    header = yaml.safe_load(data_card.split("---\n", 2)[1])
    assert header["license"] == "other"
    assert header["license_name"] == "psf-2.0"
    assert header["license_link"] == "https://spdx.org/licenses/PSF-2.0.html"
    assert header["size_categories"] == ["n<1K"]  # 24 training rows + 4 held out
    assert header["task_categories"] == ["text-generation"]
    assert header["task_ids"] == ["language-modeling"]
    DatasetCard(data_card, ignore_metadata_errors=False)


def test_sources_table(data_card):
    rows = [line for line in data_card.split("## Sources", 1)[1].split("##", 1)[0].splitlines()
            if line.startswith("| ") and "---" not in line][1:]
    assert rows[0].startswith("| notes.jsonl | 1,234 | 3 | 0, 1 |")
    assert "`sha256`: " + "a" * 64 in rows[0]
    assert rows[1].startswith("| Python 3.11.7 standard library, 4 files | 56,789 | 3 | 0, 1, 2 |")
    assert "counted from `data/index.json`" in data_card


def test_held_out_set_is_described(data_card):
    section = data_card.split("## Held-out set", 1)[1].split("\n## ", 1)[0]
    assert "`data/heldout.safetensors`" in section and "4 rows of 16 tokens (64 tokens)" in section
    assert "fraction 0.05" in section and "never trained on" in section
    assert "first 4 of these rows" in section
    assert "PCG64(seed)" in section


def test_data_card_without_data_records_leaves_them_out(tmp_path):
    root = write_synthetic_run(tmp_path / "run")
    manifest, records = build_manifest(root, created=CREATED, use_cache=False)
    text = render_files(manifest, manifest_to_bytes(manifest), records.root)["DATA_CARD.md"]\
        .decode()
    assert "## Sources" not in text and "## Held-out set" not in text


@pytest.mark.parametrize("spdx, expected", [
    ("Apache-2.0", {"license": "apache-2.0"}),
    ("CC-BY-4.0", {"license": "cc-by-4.0"}),
    ("PSF-2.0", {"license": "other", "license_name": "psf-2.0",
                 "license_link": "https://spdx.org/licenses/PSF-2.0.html"}),
    ("MIT OR Apache-2.0", {"license": "other", "license_name": "mit-or-apache-2.0"}),
    ("Made-Up-1.0", {"license": "other", "license_name": "made-up-1.0"}),
])
def test_license_fields(spdx, expected):
    assert license_fields(spdx) == expected


def test_license_link_from_llm360_yaml_wins():
    assert license_fields("Made-Up-1.0", "https://example.org/LICENSE")["license_link"] == \
        "https://example.org/LICENSE"


def test_size_categories():
    assert [size_category(n) for n in (0, 999, 1000, 123_456, 10**12)] == [
        "n<1K", "n<1K", "1K<n<10K", "100K<n<1M", "n>1T"]
