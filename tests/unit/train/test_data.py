"""data prepare: deterministic tokenizer and chunks, Merkle roots that match the rows."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("tokenizers")

from safetensors.numpy import load_file  # noqa: E402

from llm360.errors import InputError  # noqa: E402
from llm360.registry.build.hashing import rows_merkle_root  # noqa: E402
from llm360.registry.manifest.schema import validate  # noqa: E402
from llm360.train.data import load_run_data, prepare_data  # noqa: E402

KB = 40_000


def _prepare(path: Path, **kw):
    return prepare_data(path, chunks=kw.pop("chunks", 3), max_corpus_bytes=KB, **kw)


def test_same_corpus_and_seed_give_the_same_bytes(tmp_path: Path) -> None:
    a = _prepare(tmp_path / "a")
    b = _prepare(tmp_path / "b")
    assert a.chunk_sha256 == b.chunk_sha256
    for rel in ("tokenizer/tokenizer.json", "data/index.json", "data/heldout.safetensors",
                "config/data.json"):
        assert (tmp_path / "a" / rel).read_bytes() == (tmp_path / "b" / rel).read_bytes(), rel


def _corpus(tmp_path: Path) -> Path:
    src = tmp_path / "corpus.jsonl"
    src.write_text("\n".join(json.dumps({"text": f"def f{i}(x):\n    return x * {i} + {i % 7}\n"
                                                 * 12}) for i in range(80)))
    return src


def test_another_seed_gives_another_order(tmp_path: Path) -> None:
    src = _corpus(tmp_path)
    a = prepare_data(tmp_path / "a", corpus=[src], chunks=2, seq_len=64, vocab_size=300)
    b = prepare_data(tmp_path / "b", corpus=[src], chunks=2, seq_len=64, vocab_size=300,
                     seed=99)
    assert a.chunk_sha256 != b.chunk_sha256
    assert (tmp_path / "a/tokenizer/tokenizer.json").read_bytes() == \
        (tmp_path / "b/tokenizer/tokenizer.json").read_bytes()


def test_default_corpus_samples_the_whole_library_with_the_seed() -> None:
    from llm360.train.data import default_corpus

    docs, source = default_corpus(200_000, seed=1234)
    again, _ = default_corpus(200_000, seed=1234)
    other, other_source = default_corpus(200_000, seed=7)
    names = [d.id.split(":", 1)[1] for d in docs]
    assert names == [d.id.split(":", 1)[1] for d in again]
    assert names != [d.id.split(":", 1)[1] for d in other]
    assert source["seed"] == 1234 and other_source["seed"] == 7
    assert source["library_files"] > 200 and source["bytes"] <= 200_000
    assert names != sorted(names), "files come in seeded order, not alphabetically"
    folders = {n.split("/")[0] for n in names if "/" in n}
    assert len(folders) >= 3, f"files from packages across the library, got {folders}"
    assert not any("site-packages" in n for n in names)


def test_index_matches_the_chunk_files(tmp_path: Path) -> None:
    r = _prepare(tmp_path / "run")
    index = json.loads((tmp_path / "run/data/index.json").read_bytes())
    validate(index, "data_index", source="index.json")
    validate(json.loads((tmp_path / "run/config/data.json").read_bytes()), "data_config",
             source="data.json")
    assert [c["path"] for c in index["chunks"]] == [f"data/chunk_{k:03d}.safetensors"
                                                    for k in range(3)]
    seen = set()
    for c in index["chunks"]:
        raw = (tmp_path / "run" / c["path"]).read_bytes()
        assert hashlib.sha256(raw).hexdigest() == c["sha256"]
        assert raw[8:8 + int.from_bytes(raw[:8], "little")].count(b"__metadata__") == 1
        rows = load_file(str(tmp_path / "run" / c["path"]))["tokens"]
        assert rows.dtype == np.int32 and rows.shape == (r.sequences_per_chunk, 128)
        assert c["sequences"] * 128 == c["tokens"] == rows.size
        assert rows_merkle_root(rows) == c["merkle_root"]
        assert c["sources"] and all(s.startswith("python-stdlib:") for s in c["sources"])
        seen.update(map(bytes, rows))
    held = load_file(str(tmp_path / "run/data/heldout.safetensors"))["tokens"]
    assert len(held) == r.heldout_sequences >= 1
    assert not seen & set(map(bytes, held)), "held-out rows must not be trained on"
    data = load_run_data(tmp_path / "run")
    assert len(data.chunks) == 3 and data.vocab_size == 512


def test_tampered_chunk_is_refused(tmp_path: Path) -> None:
    _prepare(tmp_path / "run")
    path = tmp_path / "run/data/chunk_001.safetensors"
    raw = bytearray(path.read_bytes())
    raw[-1] ^= 1
    path.write_bytes(bytes(raw))
    with pytest.raises(Exception, match="sha256 differs"):
        load_run_data(tmp_path / "run")


def test_user_corpus_jsonl_and_txt(tmp_path: Path) -> None:
    src = tmp_path / "corpus.jsonl"
    src.write_text("\n".join(json.dumps({"text": f"def f{i}(x):\n    return x * {i}\n" * 20})
                             for i in range(60)))
    txt = tmp_path / "extra.txt"
    txt.write_text("hello world. " * 400)
    r = prepare_data(tmp_path / "run", corpus=[src, txt], chunks=2, seq_len=64, vocab_size=300)
    cfg = json.loads((tmp_path / "run/config/data.json").read_bytes())
    assert [s["name"] for s in cfg["sources"]] == ["corpus.jsonl", "extra.txt"]
    assert r.vocab_size <= 300 and r.seq_len == 64
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"no_text": 1}\n')
    with pytest.raises(InputError, match="bad.jsonl:1"):
        prepare_data(tmp_path / "run2", corpus=[bad])
    with pytest.raises(InputError, match="too few"):
        prepare_data(tmp_path / "run3", corpus=[txt], chunks=50, seq_len=512)


def test_prepared_files_are_recorded_for_the_build(tmp_path: Path) -> None:
    from llm360.registry._files import list_files
    from llm360.registry.build.hashing import CACHE_FILE, HashCache, hash_files

    _prepare(tmp_path / "run")
    files = list_files(tmp_path / "run")
    cache = HashCache(tmp_path / "run" / CACHE_FILE)
    digests = hash_files(tmp_path / "run", files, cache=cache)
    assert (cache.hits, cache.hashed_bytes) == (len(files), 0)
    assert all(d.sha256 == hashlib.sha256((tmp_path / "run" / d.path).read_bytes()).hexdigest()
               for d in digests)
