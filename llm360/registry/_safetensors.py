"""Read safetensors headers and tensors without torch (the registry never imports torch)."""

from __future__ import annotations

import json
import struct
from math import prod
from pathlib import Path
from typing import TYPE_CHECKING

from llm360.errors import InputError

if TYPE_CHECKING:
    import numpy as np

__all__ = ["read_header", "count_parameters", "read_rows"]

#: safetensors dtype -> numpy dtype string (numpy is imported only by ``read_rows``)
_DTYPES = {"I32": "<i4", "I64": "<i8", "F32": "<f4", "U8": "u1", "I16": "<i2"}


def read_header(path: Path) -> tuple[dict, int]:
    """(header dict, offset of the data section) of a safetensors file."""
    try:
        with open(path, "rb") as fh:
            raw_len = fh.read(8)
            if len(raw_len) != 8:
                raise InputError(f"{path}: not a safetensors file (shorter than 8 bytes)")
            (n,) = struct.unpack("<Q", raw_len)
            if n > 100 * 1024 * 1024:
                raise InputError(f"{path}: not a safetensors file (header of {n} bytes)")
            header = json.loads(fh.read(n).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{path}: not a safetensors file ({exc})") from exc
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror}") from exc
    if not isinstance(header, dict):
        raise InputError(f"{path}: not a safetensors file (header is not an object)")
    return header, 8 + n


def count_parameters(path: Path) -> int:
    """Total number of elements over the tensors of a safetensors file."""
    header, _ = read_header(path)
    return sum(prod(v["shape"]) for k, v in header.items() if k != "__metadata__")


def read_rows(path: Path, name: str = "tokens") -> np.ndarray:
    """The 2-D tensor ``name`` of a safetensors file as a read-only numpy memmap."""
    import numpy as np

    header, offset = read_header(path)
    if name not in header:
        raise InputError(f"{path}: no tensor called {name!r}")
    info = header[name]
    if info.get("dtype") not in _DTYPES or len(info.get("shape", ())) != 2:
        raise InputError(f"{path}: tensor {name!r} is not a 2-D integer tensor")
    start, end = info["data_offsets"]
    rows, cols = info["shape"]
    if rows * cols == 0:
        return np.zeros((rows, cols), dtype=_DTYPES[info["dtype"]])
    return np.memmap(path, dtype=_DTYPES[info["dtype"]], mode="r", offset=offset + start,
                     shape=(rows, cols))
