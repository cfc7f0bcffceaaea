"""Formats by content, not by name (issue 8, item 11): only safetensors, JSON, JSONL and YAML
are released; pickles (whatever their name), zips, .npy, compressed files are refused."""

from __future__ import annotations

import bz2
import gzip
import io
import json
import lzma
import pickle
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import save

from llm360.errors import InputError
from llm360.registry.run.formats import check_file_format, sniff_format


def _npy() -> bytes:
    buf = io.BytesIO()
    np.save(buf, np.arange(4))
    return buf.getvalue()


def _zip() -> bytes:  # what torch.save writes: a zip holding data.pkl
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("archive/data.pkl", pickle.dumps({"w": [1.0]}, 2))
    return buf.getvalue()


ACCEPTED = [
    ("model.safetensors", save({"w": np.zeros((2, 2), np.float32)}, metadata={"format": "pt"}),
     "safetensors"),
    ("tokenizer.json", json.dumps({"model": {"vocab": {"a": 0}}, "added_tokens": []}).encode(),
     "json"),
    ("train.jsonl", b'{"step": 1, "loss": 2.5}\n{"step": 2, "loss": 2.4}\n', "jsonl"),
    ("llm360.yaml", b"name: x\nversion: 0.1.0\nlicenses: {weights: MIT}\n", "yaml"),
    ("data.bin", b'{"a": 1}', "json"),  # the name says pickle, the bytes say JSON
    ("empty.jsonl", b"", "jsonl"),
    # what a Hugging Face tokenizer writes: the format is judged, not an integer beyond int64
    ("tokenizer_config.json", b'{"model_max_length": 1000000000000000019884624838656}',
     "json"),
]


@pytest.mark.parametrize("name,raw,fmt", ACCEPTED, ids=[a[0] for a in ACCEPTED])
def test_accepted_by_content(tmp_path: Path, name: str, raw: bytes, fmt: str) -> None:
    (tmp_path / name).write_bytes(raw)
    assert check_file_format(tmp_path, name) == fmt


REFUSED = [
    ("optimizer.safetensors", pickle.dumps({"exp_avg": [0.0]}, 4), "pickle files are never"),
    ("rng.safetensors", pickle.dumps([1, 2], 2), "pickle files are never"),
    ("state.json", pickle.dumps({"a": 1}, 5), "pickle files are never"),
    ("model.joblib", pickle.dumps({"coef": [1.0]}, 3), "pickle files are never"),
    ("model.dill", pickle.dumps({"f": 1}, 4), "pickle files are never"),
    ("old.pkl", pickle.dumps({"a": [1, 2]}, 0), "pickle files are never"),
    ("old1.pkl", pickle.dumps({"a": [1, 2]}, 1), "pickle files are never"),
    ("weights.npy", _npy(), "NumPy .npy"),
    ("model.pt", _zip(), "zip archive"),
    ("arrays.npz", _zip(), "zip archive"),
    ("model.pt.gz", gzip.compress(pickle.dumps({"w": 1}, 4)), "gzip-compressed"),
    ("model.joblib.z", zlib.compress(pickle.dumps({"w": 1}, 4)), "binary data"),
    ("x.bz2", bz2.compress(b"abc"), "bzip2"),
    ("x.xz", lzma.compress(b"abc"), "xz-compressed"),
    ("tool", b"\x7fELF\x02\x01\x01" + bytes(64), "ELF executable"),
    ("install.sh", b"#!/bin/sh\ncurl https://x | sh\n", "a script"),
    ("notes.md", b"# Notes\n\nSome prose, not data.\n", "text that is not JSON"),
    ("blob.safetensors", b"\x00" * 64, "that is not safetensors"),
    ("fake.safetensors", b'{"a": 1}', "named .safetensors that is not safetensors"),
]


@pytest.mark.parametrize("name,raw,words", REFUSED, ids=[r[0] for r in REFUSED])
def test_refused_by_content(tmp_path: Path, name: str, raw: bytes, words: str) -> None:
    (tmp_path / name).write_bytes(raw)
    with pytest.raises(InputError) as info:
        check_file_format(tmp_path, name)
    assert str(tmp_path / name) in str(info.value) and words in str(info.value)
    assert info.value.hint and "safetensors" in info.value.hint


def test_malformed_safetensors_header_is_named(tmp_path: Path) -> None:
    raw = json.dumps({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 4]}}).encode()
    (tmp_path / "m.safetensors").write_bytes(len(raw).to_bytes(8, "little") + raw + bytes(4))
    with pytest.raises(InputError, match="m.safetensors: malformed safetensors header"):
        sniff_format(tmp_path / "m.safetensors")


def test_a_file_named_for_its_format_gets_that_parsers_message(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text("name: [unclosed\n")
    with pytest.raises(InputError, match="malformed YAML"):
        sniff_format(tmp_path / "bad.yaml")
    (tmp_path / "bad.json").write_bytes(b'{"a": "t\xf6rch"}')
    with pytest.raises(InputError, match="not UTF-8"):
        sniff_format(tmp_path / "bad.json")
    (tmp_path / "bad.jsonl").write_bytes(b'{"a": 1}\n{"a": 1e999}\n')
    with pytest.raises(InputError, match=r"bad.jsonl:2: malformed JSON: 1e999"):
        sniff_format(tmp_path / "bad.jsonl")


def test_yaml_that_runs_code_is_refused(tmp_path: Path) -> None:
    (tmp_path / "evil.yaml").write_text("a: !!python/object/apply:os.system ['true']\n")
    with pytest.raises(InputError, match="malformed YAML"):
        sniff_format(tmp_path / "evil.yaml")
