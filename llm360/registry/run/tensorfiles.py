"""Tensors to byte-stable safetensors files, without torch unless handed torch tensors.

The only safetensors metadata written is ``{"format": "pt"}`` (two or more keys come out in a
random order, and the file's sha256 with them), so the same values always give the same bytes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from llm360.errors import InputError
from llm360.registry import layout
from llm360.registry.manifest.serialize import canonical_json

__all__ = ["tensors_to_safetensors", "sharded_safetensors", "token_rows", "is_torch"]


def is_torch(value: Any) -> bool:
    return type(value).__module__.split(".")[0] == "torch"


def tensors_to_safetensors(tensors: Mapping[str, Any]) -> bytes:
    """safetensors bytes of ``tensors`` (numpy arrays or torch tensors) with exactly the
    metadata ``{"format": "pt"}``, so the same values always give the same bytes."""
    if not tensors:
        raise InputError("no tensors to write")
    if any(is_torch(v) for v in tensors.values()):
        import torch
        from safetensors.torch import save

        out: dict[str, Any] = {}
        seen: set[tuple[int, int]] = set()
        for key, value in tensors.items():
            t = value if is_torch(value) else torch.from_numpy(np.ascontiguousarray(value))
            t = t.detach().to("cpu").contiguous()
            ident = (int(t.untyped_storage().data_ptr()), int(t.storage_offset()))
            if ident in seen or t.untyped_storage().nbytes() != t.numel() * t.element_size():
                t = t.clone()  # tied or viewed weights: safetensors refuses shared storage
            seen.add(ident)
            out[key] = t
        return save(out, metadata=dict(layout.SAFETENSORS_METADATA))
    from safetensors.numpy import save as np_save

    return np_save({k: np.ascontiguousarray(v) for k, v in tensors.items()},
                   metadata=dict(layout.SAFETENSORS_METADATA))


def _nbytes(value: Any) -> int:
    if is_torch(value):
        return int(value.numel() * value.element_size())
    return int(np.asarray(value).nbytes)


def sharded_safetensors(prefix: str, tensors: Mapping[str, Any],
                        max_shard_bytes: int | None) -> dict[str, bytes]:
    """``PREFIX.safetensors``, or (over ``max_shard_bytes``) Hugging Face shards
    ``PREFIX-0000K-of-0000N.safetensors`` cut in order (a tensor larger than the limit gets a
    shard of its own) plus ``PREFIX.safetensors.index.json`` (``metadata.total_size``,
    ``weight_map``)."""
    groups: list[dict[str, Any]] = [{}]
    size = 0
    for key, value in tensors.items():
        n = _nbytes(value)
        if max_shard_bytes is not None and groups[-1] and size + n > max_shard_bytes:
            groups.append({})
            size = 0
        groups[-1][key] = value
        size += n
    if len(groups) == 1:
        return {f"{prefix}.safetensors": tensors_to_safetensors(tensors)}
    names = [layout.shard_name(prefix, i, len(groups)) for i in range(1, len(groups) + 1)]
    out = {name: tensors_to_safetensors(group) for name, group in zip(names, groups)}
    out[layout.shard_index(prefix)] = canonical_json({
        "metadata": {"total_size": sum(_nbytes(v) for v in tensors.values())},
        "weight_map": {k: name for name, group in zip(names, groups) for k in group}})
    return out


def token_rows(tokens: Any) -> np.ndarray:
    if is_torch(tokens):
        tokens = tokens.detach().to("cpu").numpy()
    arr = np.asarray(tokens)
    if arr.ndim != 2 or arr.shape[1] < 1:
        raise InputError(f"a data chunk is a 2-D array [sequences, seq_len]; got shape "
                         f"{tuple(arr.shape)}")
    if arr.dtype.kind not in "iu":
        raise InputError(f"a data chunk holds integer token ids; got {arr.dtype}")
    if arr.size and (int(arr.min()) < 0 or int(arr.max()) > np.iinfo(np.int32).max):
        raise InputError("token ids must fit int32 (0 <= id < 2**31)")
    return np.ascontiguousarray(arr, dtype=np.int32)
