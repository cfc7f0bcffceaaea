"""The documents of a mixture source: its files read by the source's reader.

Readers: ``text`` (a whole file is one document), ``lines`` (each non-blank line), ``jsonl``
(the ``text`` field of each line), ``python`` (a whole Python file), ``python-docstrings`` (each
docstring of a module, class or function) and ``python-strings`` (each string literal of at
least ``MIN_STRING`` characters, e.g. the documentation topics of ``pydoc_data``). A Python
file that does not parse gives the docstring and string readers nothing (the standard
library's test suite holds deliberately broken files); the record counts them.

With ``max_bytes`` the files are taken in an order drawn with the seed until that much text is
read (the last document cut at the bound), as the default corpus samples the standard library;
``max_document_bytes`` keeps the head of every longer document, so a few long files do not
fill the bound alone.
"""

from __future__ import annotations

import ast
import hashlib
import platform
import warnings
from pathlib import Path

import numpy as np

from llm360.errors import InputError
from llm360.train.data import Document, jsonl_texts
from llm360.train.mixture import STDLIB, MixtureSource

__all__ = ["read_source", "MIN_STRING", "READERS"]

#: the shortest string literal the ``python-strings`` reader takes as a document
MIN_STRING = 200


def _whole(text: str, path: Path) -> list[tuple[str, str]]:
    return [("", text)] if text.strip() else []


def _lines(text: str, path: Path) -> list[tuple[str, str]]:
    return [(str(n), line) for n, line in enumerate(text.splitlines(), 1) if line.strip()]


def _jsonl(text: str, path: Path) -> list[tuple[str, str]]:
    return [(str(n), value) for n, value in jsonl_texts(text, path) if value.strip()]


def _tree(text: str) -> ast.AST | None:
    with warnings.catch_warnings():  # old escapes in the test suite warn; nothing to say
        warnings.simplefilter("ignore")
        try:
            return ast.parse(text)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return None


def _docstrings(text: str, path: Path) -> list[tuple[str, str]] | None:
    tree = _tree(text)
    if tree is None:
        return None
    kinds = (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)
    docs = [ast.get_docstring(node) for node in ast.walk(tree) if isinstance(node, kinds)]
    return [(str(n), d) for n, d in enumerate((d for d in docs if d and d.strip()), 1)]


def _strings(text: str, path: Path) -> list[tuple[str, str]] | None:
    tree = _tree(text)
    if tree is None:
        return None
    found = [node.value for node in ast.walk(tree) if isinstance(node, ast.Constant)
             and isinstance(node.value, str) and len(node.value) >= MIN_STRING]
    return [(str(n), s) for n, s in enumerate(found, 1)]


def _cut(text: str, limit: int | None) -> str:
    """``text`` cut after ``limit`` UTF-8 bytes (a character split there is dropped)."""
    if limit is None:
        return text
    raw = text.encode("utf-8")
    return text if len(raw) <= limit else raw[:limit].decode("utf-8", errors="ignore")


READERS = {"text": _whole, "lines": _lines, "jsonl": _jsonl, "python": _whole,
           "python-docstrings": _docstrings, "python-strings": _strings}
#: readers that decode bytes that are not UTF-8 as U+FFFD (the others drop them, as the
#: default corpus reads the standard library)
_REPLACE = ("text", "lines", "jsonl")


def read_source(source: MixtureSource, *, seed: int, index: int
                ) -> tuple[list[Document], dict]:
    """The documents of ``source`` (the ``index``-th of its mixture) and the record
    config/data.json keeps of it."""
    reader = READERS[source.reader]
    order = list(range(len(source.files)))
    if source.max_bytes is not None:
        order = np.random.Generator(np.random.PCG64([seed, index])).permutation(
            len(order)).tolist()
    docs: list[Document] = []
    listing = []
    total = unparsed = 0
    for i in order:
        if source.max_bytes is not None and total >= source.max_bytes:
            break
        path, label = source.files[i], source.labels[i]
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise InputError(f"{path}: cannot read source {source.name!r}: "
                             f"{exc.strerror}") from exc
        listing.append(f"{label}\t{hashlib.sha256(raw).hexdigest()}")
        text = raw.decode("utf-8", errors="replace" if source.reader in _REPLACE else "ignore")
        parts = reader(text, path)
        if parts is None:
            unparsed += 1
            continue
        for suffix, body in parts:
            body = _cut(body, source.max_document_bytes)
            if source.max_bytes is not None:
                room = source.max_bytes - total
                if room <= 0:
                    break
                body = _cut(body, room)
            total += len(body.encode("utf-8"))
            docs.append(Document(id=f"{source.name}:{label}" + (f":{suffix}" if suffix else ""),
                                 text=body))
    if not docs:
        raise InputError(f"source {source.name!r}: its files give no documents with the "
                         f"{source.reader!r} reader", hint="check its paths and reader")
    record = {"name": source.name, "kind": "mixture-source", "category": source.category,
              "license": source.license, "reader": source.reader, "paths": list(source.paths),
              "files": len(listing), "matched_files": len(source.files), "bytes": total,
              "documents": len(docs),
              "files_sha256": hashlib.sha256("\n".join(listing).encode()).hexdigest()}
    if source.max_document_bytes is not None:
        record["max_document_bytes"] = source.max_document_bytes
    if source.max_bytes is not None:
        record["max_bytes"] = source.max_bytes
        record["sampling"] = ("files in numpy Generator(PCG64([seed, source index]))."
                              "permutation order, taken until max_bytes of text (the last "
                              "document cut)")
    if unparsed:
        record["unparsed_files"] = unparsed
    if any(p.startswith(STDLIB) for p in source.paths):
        record["python"] = platform.python_version()
    if source.description:
        record["description"] = source.description
    return docs, record
