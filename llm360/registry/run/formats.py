"""What a file is, judged by its bytes, never by its name.

A release carries only data formats that cannot run code when loaded: safetensors, JSON,
JSONL and YAML (the safe subset). ``check_file_format`` reads a file of a run directory and
returns its format, or raises ``InputError`` naming the file and what it is instead: a
pickle (also one named ``optimizer.safetensors``), a zip archive (``torch.save``, ``.npz``), a
NumPy ``.npy``, compressed data (``.pt.gz``, compressed joblib), an executable, ...

One exception, by path and content both: ``code/llm360-train.tar.gz``, the trainer's source
archive, when it is one (``archive``: .py text files only, never extracted).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from llm360.errors import InputError
from llm360.registry import layout
from llm360.registry._files import resolve_inside
from llm360.registry.manifest.serialize import parse_json, read_yaml
from llm360.registry.run.archive import source_archive_names
from llm360.registry.run.safetensors_header import MAX_HEADER_BYTES, read_header

__all__ = ["FORMATS", "check_file_format", "sniff_format", "MAX_DOCUMENT_BYTES",
           "MAX_YAML_BYTES"]

#: what a release may carry
FORMATS = ("safetensors", "json", "jsonl", "yaml", "source-archive")
#: a JSON document (tokenizer, config, record) is parsed whole up to this size; larger text
#: must be JSONL, read one line at a time
MAX_DOCUMENT_BYTES = 256 * 1024 * 1024
#: YAML is parsed in pure Python: only small files (``llm360.yaml``) are YAML
MAX_YAML_BYTES = 4 * 1024 * 1024
_MAX_JSONL_LINE = 64 * 1024 * 1024

_PICKLE_HINT = "write tensors as safetensors and records as JSON"
_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x93NUMPY", "a NumPy .npy array (it may hold pickled objects)"),
    (b"PK\x03\x04", "a zip archive (torch.save, .npz, ...: it may hold pickles)"),
    (b"PK\x05\x06", "a zip archive"),
    (b"PK\x07\x08", "a zip archive"),
    (b"\x1f\x8b", "gzip-compressed data (.gz, .pt.gz, compressed joblib, ...)"),
    (b"BZh", "bzip2-compressed data"),
    (b"\xfd7zXZ\x00", "xz-compressed data"),
    (b"\x28\xb5\x2f\xfd", "zstd-compressed data"),
    (b"\x04\x22\x4d\x18", "lz4-compressed data"),
    (b"\x89HDF\r\n\x1a\n", "an HDF5 file"),
    (b"\x7fELF", "an ELF executable"),
    (b"#!", "a script"),
)


def _refuse(source: str, what: str) -> InputError:
    return InputError(f"{source}: {what} is never released: llm360 packages only safetensors, "
                      "JSON, JSONL and YAML", hint=_PICKLE_HINT)


def check_file_format(root: Path, rel: str) -> str:
    """The format of ``root/rel`` (one of ``FORMATS``), or ``InputError`` saying what it is."""
    path = resolve_inside(Path(root), rel)
    if rel == layout.CODE_ARCHIVE:
        source_archive_names(path, source=str(Path(root) / rel))
        return "source-archive"
    return sniff_format(path, source=str(Path(root) / rel))


def sniff_format(path: Path, *, source: str | None = None) -> str:
    """The format of the file at ``path`` by content; ``InputError`` for anything else.

    Only the format is judged: integers beyond int64 pass here (a Hugging Face
    tokenizer_config.json's ``model_max_length`` is 10**30); the records llm360 reads are
    bounded again when they are loaded."""
    source = source or str(path)
    try:
        size = os.stat(path).st_size
        with open(path, "rb") as fh:
            head = fh.read(16)
    except OSError as exc:
        raise InputError(f"{source}: cannot read: {exc.strerror}") from None
    if size == 0:
        return "jsonl"  # no records: nothing to load, nothing to run
    if head[:1] == b"\x80" and head[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05"):
        raise InputError(f"{source}: pickle files are never released (this file is a pickle, "
                         f"protocol {head[1]}, whatever its name)", hint=_PICKLE_HINT)
    for magic, what in _MAGIC:
        if head.startswith(magic):
            raise _refuse(source, f"{what}")
    if len(head) >= 9 and head[8:9] == b"{":
        n = int.from_bytes(head[:8], "little")
        if 2 <= n <= min(MAX_HEADER_BYTES, size - 8):
            read_header(Path(path), source=source)  # strict: a malformed header is an InputError
            return "safetensors"
    if str(path).endswith(".safetensors"):
        raise _refuse(source, "a file named .safetensors that is not safetensors")
    return _sniff_text(Path(path), size, source)


def _sniff_text(path: Path, size: int, source: str) -> str:
    if size <= MAX_DOCUMENT_BYTES:
        raw = path.read_bytes()
        _refuse_old_pickle(raw, source)
        try:
            if b"\x00" in raw:
                raise ValueError
            raw.decode("utf-8")
        except ValueError:
            if path.name.lower().endswith((".json", ".jsonl", ".yaml", ".yml")):
                parse_json(raw, source=source, int64=False)  # says which byte is not UTF-8
            raise _refuse(source, "binary data of no format llm360 knows") from None
        try:
            parse_json(raw, source=source, int64=False)
            return "json"
        except InputError as exc:
            json_error = exc
        jsonl_error = _jsonl_error(raw.splitlines(), source)
        if jsonl_error is None:
            return "jsonl"
        yaml_error = None
        if size <= MAX_YAML_BYTES:
            try:
                data = read_yaml(path, source=source, int64=False)
            except InputError as exc:
                data, yaml_error = None, exc
            if isinstance(data, (dict, list)) and data:
                return "yaml"
        # not one of them: a file that says what it is gets that parser's own message
        name = path.name.lower()
        if name.endswith((".yaml", ".yml")) and yaml_error is not None:
            raise yaml_error
        if name.endswith(".json"):
            raise json_error
        if name.endswith(".jsonl"):
            raise jsonl_error
        raise _refuse(source, "text that is not JSON, JSONL or YAML")
    with open(path, "rb") as fh:
        error = _jsonl_error(iter(lambda: fh.readline(_MAX_JSONL_LINE + 1), b""), source)
    if error is None:
        return "jsonl"
    raise _refuse(source, "a large file that is neither safetensors nor JSONL")


def _jsonl_error(lines: Iterable[bytes], source: str) -> InputError | None:
    """None when every non-blank line is a JSON value (and there is one), else why not."""
    seen = False
    for lineno, line in enumerate(lines, 1):
        if not line.strip():
            continue
        if len(line) > _MAX_JSONL_LINE:
            return InputError(f"{source}:{lineno}: line longer than {_MAX_JSONL_LINE} bytes")
        try:
            parse_json(line, source=f"{source}:{lineno}", int64=False)
        except InputError as exc:
            return exc
        seen = True
    return None if seen else InputError(f"{source}: no JSON lines")


def _refuse_old_pickle(raw: bytes, source: str) -> None:
    """Protocol 0 and 1 pickles have no header: they open with a container or global opcode
    and end with STOP ('.')."""
    if raw.rstrip(b"\n").endswith(b".") and raw[:1] in (b"(", b"c", b"]", b"}", b")", b"N") \
            and (b"\n" in raw[:64] or b"q\x00" in raw[:64] or raw[:1] in (b"]", b"}", b")")):
        raise InputError(f"{source}: pickle files are never released (this file is a pickle, "
                         "protocol 0 or 1, whatever its name)", hint=_PICKLE_HINT)
