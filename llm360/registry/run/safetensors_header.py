"""Read safetensors headers and tensors without torch (the registry never imports torch).

``read_header`` is strict, as the safetensors reference implementation is: the header length
lies within the file, the header is one JSON object (no duplicate keys, at most one
``__metadata__``, string to string), every tensor has a known dtype, a shape of non-negative
integers and ``data_offsets`` whose size matches dtype x shape, and the tensors tile the data
section exactly (contiguous, in bounds, covering it). Anything else is an ``InputError`` naming
the file and what is wrong, never a ``KeyError`` or ``TypeError`` later.
"""

from __future__ import annotations

import json
import os
import re
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from math import prod
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from llm360.errors import InputError

if TYPE_CHECKING:
    import numpy as np

__all__ = ["read_header", "check_header", "count_parameters", "read_rows", "read_row_bytes",
           "DTYPE_BITS", "MAX_HEADER_BYTES"]

#: safetensors dtype -> numpy dtype string (numpy is imported only by ``read_rows``)
_DTYPES = {"I32": "<i4", "I64": "<i8", "F32": "<f4", "U8": "u1", "I16": "<i2"}

#: bits per element of every dtype the safetensors format defines
DTYPE_BITS = {
    "BOOL": 8, "U8": 8, "I8": 8, "F8_E5M2": 8, "F8_E4M3": 8, "F8_E8M0": 8,
    "I16": 16, "U16": 16, "F16": 16, "BF16": 16, "I32": 32, "U32": 32, "F32": 32,
    "I64": 64, "U64": 64, "F64": 64, "C64": 64, "F4": 4, "F6_E2M3": 6, "F6_E3M2": 6,
}
#: the reference implementation refuses headers over 100 MB
MAX_HEADER_BYTES = 100_000_000
_MAX_DIMS = 64


class _Bad(Exception):
    pass


def _reject_duplicates(pairs: list[tuple[str, object]]) -> dict[str, object]:
    out: dict[str, object] = {}
    for key, value in pairs:
        if key in out:
            raise _Bad(f"key {key!r} appears twice in the header")
        out[key] = value
    return out


def read_header(path: Path, *, source: str | None = None) -> tuple[dict[str, Any], int]:
    """(header dict, offset of the data section) of a safetensors file, checked strictly;
    errors name ``source`` (default: the path)."""
    path = Path(path)
    where = source or str(path)
    try:
        with open(path, "rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            raw_len = fh.read(8)
            if len(raw_len) != 8:
                raise InputError(f"{where}: not a safetensors file (shorter than 8 bytes)")
            (n,) = struct.unpack("<Q", raw_len)
            if n > MAX_HEADER_BYTES or n > size - 8:
                raise InputError(f"{where}: not a safetensors file (a header of {n} bytes does "
                                 f"not fit in a file of {size} bytes)")
            raw = fh.read(n)
    except OSError as exc:
        raise InputError(f"{where}: cannot read: {exc.strerror}") from exc
    header = check_header(raw, size - 8 - n, source=where)
    return header, 8 + n


def check_header(raw: bytes, data_len: int, *, source: str) -> dict[str, Any]:
    """The parsed header ``raw`` of a file whose data section is ``data_len`` bytes long."""
    try:
        if not raw.startswith(b"{"):
            raise _Bad("the header is not a JSON object")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise _Bad(f"the header is not UTF-8 (byte {exc.start})") from None
        try:
            header = json.loads(text, object_pairs_hook=_reject_duplicates,
                                parse_constant=_no_constant)
        except RecursionError:
            raise _Bad("the header is nested too deeply") from None
        except ValueError as exc:
            raise _Bad(f"the header is not JSON ({exc})") from None
        if not isinstance(header, dict):
            raise _Bad("the header is not a JSON object")
        _check_tensors(header, data_len)
    except _Bad as exc:
        raise InputError(f"{source}: malformed safetensors header: {exc}",
                         hint="llm360 packages safetensors files as the reference library "
                              "writes them") from None
    return header


def _no_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not valid JSON")


def _check_tensors(header: dict[str, Any], data_len: int) -> None:
    spans: list[tuple[int, int, str]] = []
    for name, info in header.items():
        if name == "__metadata__":
            if not isinstance(info, dict) or not all(
                    isinstance(k, str) and isinstance(v, str) for k, v in info.items()):
                raise _Bad("__metadata__ is not an object of strings to strings")
            continue
        if not isinstance(info, dict) or set(info) != {"dtype", "shape", "data_offsets"}:
            raise _Bad(f"tensor {name!r} is not an object with exactly dtype, shape and "
                       "data_offsets")
        dtype, shape, offsets = info["dtype"], info["shape"], info["data_offsets"]
        if not isinstance(dtype, str) or dtype not in DTYPE_BITS:
            raise _Bad(f"tensor {name!r} has an unknown dtype {_short(dtype)}")
        if not isinstance(shape, list) or len(shape) > _MAX_DIMS or not all(
                type(d) is int and d >= 0 for d in shape):
            raise _Bad(f"tensor {name!r}: shape {_short(shape)} is not a list of non-negative "
                       "integers")
        if not isinstance(offsets, list) or len(offsets) != 2 or not all(
                type(o) is int and o >= 0 for o in offsets):
            raise _Bad(f"tensor {name!r}: data_offsets {_short(offsets)} is not two "
                       "non-negative integers")
        begin, end = offsets
        if end < begin:
            raise _Bad(f"tensor {name!r}: data_offsets end {end} before begin {begin}")
        bits = prod(shape) * DTYPE_BITS[dtype]
        if bits % 8 or bits // 8 != end - begin:
            raise _Bad(f"tensor {name!r}: {dtype} {shape} takes {bits / 8:g} bytes but "
                       f"data_offsets span {end - begin}")
        spans.append((begin, end, name))
    spans.sort()
    at = 0
    for begin, end, name in spans:
        if begin != at:
            raise _Bad(f"tensor {name!r} starts at byte {begin} of the data, expected {at} "
                       "(tensors overlap or leave a gap)")
        at = end
    if at != data_len:
        raise _Bad(f"the tensors cover {at} bytes but the data section holds {data_len}")


def _short(value: object) -> str:
    text = json.dumps(value)
    return text if len(text) <= 40 else text[:37] + "..."
_SHARD = re.compile(r"^(.+)-(\d{5})-of-(\d{5})\.safetensors$")


def count_parameters(path: Path) -> int:
    """Total number of elements over the tensors of a safetensors file; for one shard of a
    sharded checkpoint (``model-00001-of-00003.safetensors``), over all its shards."""
    path = Path(path)
    m = _SHARD.match(path.name)
    total = int(m.group(3)) if m else 0
    paths = [path.with_name(f"{m.group(1)}-{i:05d}-of-{total:05d}.safetensors")
             for i in range(1, total + 1)] if m else [path]
    count = 0
    for one in paths:
        header, _ = read_header(one)
        count += sum(prod(v["shape"]) for k, v in header.items() if k != "__metadata__")
    return count


@dataclass(frozen=True, kw_only=True)
class _Tensor:
    """A 2-D integer tensor of a safetensors file; ``at``: the file offset of its bytes."""

    dtype: str
    rows: int
    cols: int
    at: int


def _tensor(path: Path, name: str) -> _Tensor:
    """The 2-D integer tensor ``name`` of the safetensors file ``path``."""
    header, offset = read_header(path)
    if name not in header or name == "__metadata__":
        raise InputError(f"{path}: no tensor called {name!r}")
    info = header[name]
    if info["dtype"] not in _DTYPES or len(info["shape"]) != 2:
        raise InputError(f"{path}: tensor {name!r} is not a 2-D integer tensor")
    (rows, cols), (start, _) = info["shape"], info["data_offsets"]
    return _Tensor(dtype=info["dtype"], rows=rows, cols=cols, at=offset + start)


def read_rows(path: Path, name: str = "tokens") -> np.ndarray:
    """The 2-D tensor ``name`` of a safetensors file as a read-only numpy memmap."""
    import numpy as np

    t = _tensor(path, name)
    if t.rows * t.cols == 0:
        return np.zeros((t.rows, t.cols), dtype=_DTYPES[t.dtype])
    return np.memmap(path, dtype=_DTYPES[t.dtype], mode="r", offset=t.at,
                     shape=(t.rows, t.cols))


def read_row_bytes(path: Path, name: str = "tokens", *, block: int = 8 << 20
                   ) -> tuple[int, int, Iterator[bytes]]:
    """(rows, columns, each row's bytes as little-endian int32, read as they are asked for) of
    the 2-D integer tensor ``name``, as ``read_rows`` gives them. An ``I32`` tensor (what
    llm360 writes) is read straight from the file, ``block`` bytes at a time, without numpy;
    another dtype is converted row by row through ``read_rows``. A chunk of billions of tokens
    is never held in memory whole."""
    t = _tensor(path, name)
    if t.dtype != "I32":
        import numpy as np

        rows = read_rows(path, name)
        return t.rows, t.cols, (np.ascontiguousarray(r, dtype="<i4").tobytes() for r in rows)
    return t.rows, t.cols, _i32_rows(path, t.at, t.rows, 4 * t.cols, block, name)


def _i32_rows(path: Path, at: int, count: int, width: int, block: int,
              name: str) -> Iterator[bytes]:
    per_read = max(1, block // max(width, 1))
    try:
        with open(path, "rb") as fh:
            fh.seek(at)
            done = 0
            while done < count:
                n = min(per_read, count - done)
                data = fh.read(n * width)
                if len(data) != n * width:
                    raise InputError(f"{path}: the file ended inside tensor {name!r}")
                for i in range(n):
                    yield data[i * width:(i + 1) * width]
                done += n
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror}") from exc
