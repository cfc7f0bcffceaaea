"""Strict safetensors headers (issue 8, item 11): every malformed header is an InputError
naming the file and what is wrong, never a KeyError or TypeError later."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import save

from llm360.errors import InputError
from llm360.registry.build.merkle import FORMATS, row_bytes_merkle_root, rows_merkle_root
from llm360.registry.run.safetensors_header import (
    count_parameters,
    read_header,
    read_row_bytes,
    read_rows,
)


def _file(tmp_path: Path, header, data: bytes, *, name: str = "t.safetensors",
          length: int | None = None) -> Path:
    raw = header if isinstance(header, bytes) else json.dumps(header).encode()
    path = tmp_path / name
    path.write_bytes(struct.pack("<Q", len(raw) if length is None else length) + raw + data)
    return path


def test_files_the_reference_library_writes_pass(tmp_path: Path) -> None:
    tensors = {"a": np.zeros((3, 4), np.float32), "b": np.arange(5, dtype=np.int64),
               "empty": np.zeros((0, 7), np.float16), "flag": np.array([True, False])}
    path = tmp_path / "ok.safetensors"
    path.write_bytes(save(tensors, metadata={"format": "pt"}))
    header, offset = read_header(path)
    assert set(header) == {"a", "b", "empty", "flag", "__metadata__"}
    assert offset > 8
    assert count_parameters(path) == 12 + 5 + 0 + 2
    (tmp_path / "none.safetensors").write_bytes(save({}))
    assert read_header(tmp_path / "none.safetensors")[0] == {}


def test_rows_of_a_chunk(tmp_path: Path) -> None:
    path = tmp_path / "c.safetensors"
    path.write_bytes(save({"tokens": np.arange(12, dtype=np.int32).reshape(3, 4)}))
    assert read_rows(path).tolist()[2] == [8, 9, 10, 11]


@pytest.mark.parametrize("dtype", [np.int32, np.int64, np.int16, np.uint8])
@pytest.mark.parametrize("shape", [(3, 4), (1, 7), (0, 5), (5, 0)])
def test_row_bytes_are_the_rows_as_int32_with_or_without_numpy(tmp_path: Path, dtype,
                                                               shape) -> None:
    arr = (np.arange(int(np.prod(shape))) * 37 % 120).astype(dtype).reshape(shape)
    path = tmp_path / "c.safetensors"
    path.write_bytes(save({"tokens": arr}, metadata={"format": "pt"}))
    expected = [r.tobytes() for r in np.ascontiguousarray(arr, dtype="<i4")]
    for block in (8 << 20, 5, 4 * max(shape[1], 1) * 2):  # whole, one row, two rows a read
        count, cols, rows = read_row_bytes(path, block=block)
        assert (count, cols) == shape
        assert not isinstance(rows, list)  # read as asked for, never held whole
        assert list(rows) == expected
    for fmt in FORMATS:
        assert (row_bytes_merkle_root(read_row_bytes(path)[2], fmt)
                == rows_merkle_root(read_rows(path), fmt))


def test_row_bytes_of_a_file_cut_short(tmp_path: Path) -> None:
    path = tmp_path / "c.safetensors"
    data = save({"tokens": np.arange(12, dtype=np.int32).reshape(3, 4)})
    path.write_bytes(data[:-4])  # the header still promises 48 bytes
    with pytest.raises(InputError):
        list(read_row_bytes(path)[2])


F32_4 = {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}

MALFORMED = [
    ("header length beyond the file", {"x": F32_4}, bytes(16), 10_000, "does not fit"),
    ("header length over 100 MB", {"x": F32_4}, bytes(16), 2**40, "does not fit"),
    ("not JSON", b"{not json}", b"", None, "not JSON"),
    ("not an object", b"[1, 2, 3]", b"", None, "not a JSON object"),
    ("not UTF-8", b'{"\xff": 1}', b"", None, "not UTF-8"),
    ("nested deeply", b'{"x":' + b"[" * 50_000 + b"]" * 50_000 + b"}", b"", None,
     "nested too deeply"),
    ("duplicate tensor", b'{"x": ' + json.dumps(F32_4).encode() + b', "x": '
     + json.dumps(F32_4).encode() + b"}", bytes(16), None, "appears twice"),
    ("two metadata keys", b'{"__metadata__": {"format": "pt"}, "__metadata__": {}}', b"",
     None, "'__metadata__' appears twice"),
    ("metadata not strings", {"__metadata__": {"format": 1}}, b"", None,
     "__metadata__ is not an object of strings"),
    ("metadata a list", {"__metadata__": ["pt"]}, b"", None, "__metadata__"),
    ("tensor not an object", {"x": [1, 2]}, b"", None, "exactly dtype, shape"),
    ("missing data_offsets", {"x": {"dtype": "F32", "shape": [4]}}, bytes(16), None,
     "exactly dtype, shape"),
    ("extra field", {"x": {**F32_4, "extra": 1}}, bytes(16), None, "exactly dtype, shape"),
    ("unknown dtype", {"x": {**F32_4, "dtype": "PICKLE"}}, bytes(16), None, "unknown dtype"),
    ("dtype not a string", {"x": {**F32_4, "dtype": 4}}, bytes(16), None, "unknown dtype"),
    ("negative dim", {"x": {**F32_4, "shape": [-4]}}, bytes(16), None, "non-negative"),
    ("float dim", {"x": {**F32_4, "shape": [4.0]}}, bytes(16), None, "non-negative"),
    ("bool dim", {"x": {**F32_4, "shape": [True, 4]}}, bytes(16), None, "non-negative"),
    ("shape a string", {"x": {**F32_4, "shape": "4"}}, bytes(16), None, "non-negative"),
    ("offsets reversed", {"x": {**F32_4, "data_offsets": [16, 0]}}, bytes(16), None,
     "before begin"),
    ("three offsets", {"x": {**F32_4, "data_offsets": [0, 8, 16]}}, bytes(16), None,
     "two non-negative"),
    ("offsets strings", {"x": {**F32_4, "data_offsets": ["0", "16"]}}, bytes(16), None,
     "two non-negative"),
    ("size disagrees with shape", {"x": {**F32_4, "shape": [5]}}, bytes(16), None,
     "takes 20 bytes"),
    ("offsets past the data", {"x": F32_4}, bytes(8), None, "data section holds 8"),
    ("data not covered", {"x": F32_4}, bytes(24), None, "cover 16 bytes"),
    ("gap", {"x": {**F32_4, "data_offsets": [8, 24]}}, bytes(24), None, "leave a gap"),
    ("overlap", {"x": F32_4, "y": {**F32_4, "data_offsets": [8, 24]}}, bytes(24), None,
     "overlap"),
]


@pytest.mark.parametrize("case", MALFORMED, ids=[c[0] for c in MALFORMED])
def test_malformed_headers_are_input_errors(tmp_path: Path, case) -> None:
    _, header, data, length, words = case
    path = _file(tmp_path, header, data, length=length)
    with pytest.raises(InputError) as info:
        read_header(path)
    assert str(path) in str(info.value) and words in str(info.value)
    with pytest.raises(InputError):
        count_parameters(path)


def test_short_file(tmp_path: Path) -> None:
    (tmp_path / "s.safetensors").write_bytes(b"\x01\x02")
    with pytest.raises(InputError, match="shorter than 8 bytes"):
        read_header(tmp_path / "s.safetensors")


def test_rows_refuse_the_metadata_entry(tmp_path: Path) -> None:
    path = tmp_path / "m.safetensors"
    path.write_bytes(save({"tokens": np.zeros((2, 2), np.int32)}, metadata={"format": "pt"}))
    with pytest.raises(InputError, match="no tensor called '__metadata__'"):
        read_rows(path, "__metadata__")
