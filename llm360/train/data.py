"""Corpus -> tokenizer -> fixed-length sequences -> seeded shuffle -> data chunks (+ held-out rows).

The default corpus needs no download: Python files of the interpreter's own standard library,
sampled across the whole library with the recorded seed, bounded in size. ``.txt`` files (one
document each) and ``.jsonl`` files (a ``"text"`` field per line) can be given instead.
Everything is a pure function of the corpus bytes, the options and the seed, so the same inputs
give the same chunk hashes.
"""

from __future__ import annotations

import hashlib
import json
import platform
import sysconfig
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from safetensors.numpy import load_file, save

from llm360.errors import InputError, TrainingError
from llm360.registry import layout
from llm360.registry.build import merkle
from llm360.registry.build.hashing import write_recorded
from llm360.registry.build.merkle import rows_merkle_root
from llm360.registry.manifest.schema import validate
from llm360.registry.manifest.serialize import canonical_json
from llm360.registry.run.records import DataChunkRecord, DataConfig, DataIndex

__all__ = ["Document", "prepare_data", "PrepareResult", "RunData", "load_run_data",
           "default_corpus", "read_corpus", "train_tokenizer", "EOS_TOKEN",
           "hf_tokenizer_files", "cut_sequences", "chunk_bytes", "heldout_count",
           "tokenizer_record", "jsonl_texts"]

EOS_TOKEN = "<|endoftext|>"
DEFAULT_MAX_BYTES = 400_000


@dataclass(frozen=True, kw_only=True)
class Document:
    id: str
    text: str


@dataclass(frozen=True, kw_only=True)
class PrepareResult:
    run_dir: Path
    chunks: int
    sequences_per_chunk: int
    heldout_sequences: int
    seq_len: int
    vocab_size: int
    tokens: int
    chunk_sha256: tuple[str, ...]
    stages: tuple[tuple[str, int], ...] = ()   # a mixture's stages: (name, chunks)


def _stdlib_files(stdlib: Path) -> list[Path]:
    """Every ``*.py`` file of the standard library (installed packages and caches excluded),
    sorted by relative path."""
    skip = {"site-packages", "dist-packages", "__pycache__"}
    return sorted((p for p in stdlib.rglob("*.py")
                   if p.is_file() and not skip & set(p.relative_to(stdlib).parts)),
                  key=lambda p: p.relative_to(stdlib).as_posix())


def default_corpus(max_bytes: int = DEFAULT_MAX_BYTES, *, seed: int = 1234
                   ) -> tuple[list[Document], dict]:
    """Files sampled across the whole standard library (every package, not the first names in
    the alphabet): all ``*.py`` files in a seeded random order, taken until ``max_bytes``."""
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    files = _stdlib_files(stdlib)
    order = np.random.Generator(np.random.PCG64(seed)).permutation(len(files))
    docs, total = [], 0
    for i in order.tolist():
        if total >= max_bytes:
            break
        path = files[i]
        raw = path.read_bytes()[: max_bytes - total]  # the last file is cut at the bound
        text = raw.decode("utf-8", errors="ignore")
        if not text.strip():
            continue
        docs.append(Document(id=f"python-stdlib:{path.relative_to(stdlib).as_posix()}",
                             text=text))
        total += len(raw)
    if not docs:
        raise InputError(f"{stdlib}: no Python files found for the default corpus",
                         hint="pass --corpus FILE")
    names = [d.id.split(":", 1)[1] for d in docs]
    source = {"kind": "python-stdlib", "python": platform.python_version(),
              "files": len(docs), "bytes": total, "max_bytes": max_bytes,
              "library_files": len(files), "seed": seed,
              "sampling": "every *.py file of the standard library (site-packages excluded), "
                          "sorted by path, in numpy Generator(PCG64(seed)).permutation order, "
                          "taken until max_bytes (the last file cut)",
              "file_list_sha256": hashlib.sha256("\n".join(names).encode()).hexdigest()}
    return docs, source


def hf_tokenizer_files(tokenizer_json: bytes, *, special_token: str = EOS_TOKEN,
                       model_max_length: int) -> dict[str, bytes]:
    """``tokenizer.json`` with ``tokenizer_config.json`` and ``special_tokens_map.json`` that
    make ``AutoTokenizer.from_pretrained`` / ``pipeline`` load it: the document separator the
    BPE trainer reserves is the bos, eos, unk and pad token (as GPT-2's ``<|endoftext|>``)."""
    special = {"bos_token": special_token, "eos_token": special_token,
               "unk_token": special_token, "pad_token": special_token}
    config = {"tokenizer_class": "PreTrainedTokenizerFast", **special,
              "model_max_length": model_max_length, "add_bos_token": False,
              "add_eos_token": False, "clean_up_tokenization_spaces": False}
    return {"tokenizer.json": tokenizer_json, "tokenizer_config.json": canonical_json(config),
            "special_tokens_map.json": canonical_json(special)}


def jsonl_texts(text: str, path: Path) -> Iterator[tuple[int, str]]:
    """(line number, ``text`` field) of each non-blank line of a JSON Lines file."""
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)["text"]
        except (ValueError, KeyError, TypeError) as exc:
            raise InputError(f"{path}:{lineno}: expected a JSON object with a 'text' string "
                             f"({exc})") from exc
        if not isinstance(value, str):
            raise InputError(f"{path}:{lineno}: 'text' is not a string")
        yield lineno, value


def read_corpus(paths: list[Path]) -> tuple[list[Document], list[dict]]:
    """Documents of ``.txt`` files (whole file) and ``.jsonl`` files (``text`` per line)."""
    docs: list[Document] = []
    sources: list[dict] = []
    for path in paths:
        path = Path(path)
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise InputError(f"{path}: cannot read the corpus file: {exc.strerror}") from exc
        if path.suffix == ".jsonl":
            docs += [Document(id=f"{path.name}:{lineno}", text=text)
                     for lineno, text in jsonl_texts(raw.decode("utf-8"), path)]
        elif path.suffix == ".txt":
            docs.append(Document(id=path.name, text=raw.decode("utf-8", errors="replace")))
        else:
            raise InputError(f"{path}: corpus files must be .txt or .jsonl")
        sources.append({"kind": "file", "name": path.name, "bytes": len(raw),
                        "sha256": hashlib.sha256(raw).hexdigest()})
    if not docs:
        raise InputError("the corpus has no documents")
    return docs, sources


def train_tokenizer(docs: list[Document], vocab_size: int):
    """A byte-level BPE tokenizer trained on ``docs`` (deterministic)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    if vocab_size < 257 + 1:
        raise InputError(f"--vocab-size {vocab_size} is too small for byte-level BPE (min 258)")
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, min_frequency=2, show_progress=False,
                                  special_tokens=[EOS_TOKEN],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator((d.text for d in docs), trainer=trainer, length=len(docs))
    return tok


def cut_sequences(tok, docs: list[Document], seq_len: int
                  ) -> tuple[np.ndarray, list[list[int]]]:
    """Rows [n, seq_len] of the concatenated token stream (EOS after each document) and, per
    row, the indices of the documents it overlaps."""
    eos = tok.token_to_id(EOS_TOKEN)
    encoded = tok.encode_batch([d.text for d in docs])
    parts, starts, pos = [], [], 0
    for enc in encoded:
        ids = enc.ids + [eos]
        starts.append(pos)
        parts.append(np.asarray(ids, dtype=np.int32))
        pos += len(ids)
    stream = np.concatenate(parts)
    n = len(stream) // seq_len
    rows = stream[: n * seq_len].reshape(n, seq_len)
    starts_a = np.asarray(starts)
    first = np.searchsorted(starts_a, np.arange(n) * seq_len, side="right") - 1
    last = np.searchsorted(starts_a, (np.arange(n) + 1) * seq_len - 1, side="right") - 1
    return rows, [list(range(a, b + 1)) for a, b in zip(first.tolist(), last.tolist())]


def chunk_bytes(arr: np.ndarray, sources: np.ndarray | None = None) -> bytes:
    """A chunk file: ``tokens`` int32 [rows, seq_len] and, for a mixture, ``sources`` int32
    [rows, 2] (each row's source index and epoch); one metadata key, so the bytes are stable."""
    tensors = {"tokens": np.ascontiguousarray(arr, dtype=np.int32)}
    if sources is not None:
        tensors["sources"] = np.ascontiguousarray(sources, dtype=np.int32)
    return save(tensors, metadata={"format": "pt"})


def heldout_count(rows: int, fraction: float) -> int:
    """Rows set aside for evaluation: ``fraction`` of them, at least 16, at most a quarter."""
    return min(max(16, int(round(rows * fraction))), rows // 4)


def tokenizer_record(tok, tok_bytes: bytes, vocab_size: int) -> dict:
    """config/data.json's ``tokenizer``."""
    import tokenizers

    return {"type": "byte-level-bpe", "path": layout.TOKENIZER,
            "vocab_size": tok.get_vocab_size(), "requested_vocab_size": vocab_size,
            "min_frequency": 2, "special_tokens": [EOS_TOKEN],
            "eos_token_id": tok.token_to_id(EOS_TOKEN),
            "sha256": hashlib.sha256(tok_bytes).hexdigest(),
            "library": f"tokenizers {tokenizers.__version__}"}


def prepare_data(run_dir: Path, *, corpus: list[Path] | None = None, chunks: int = 3,
                 seq_len: int = 128, seed: int = 1234, vocab_size: int = 512,
                 max_corpus_bytes: int = DEFAULT_MAX_BYTES,
                 heldout_fraction: float = 0.05, mixture: Path | None = None) -> PrepareResult:
    """Write tokenizer/, data/ and config/data.json of the run directory ``run_dir``; with
    ``mixture`` (a mixture file), chunks drawn stage by stage from its sources."""
    run_dir = Path(run_dir)
    ckpts = run_dir / layout.CHECKPOINTS_DIR
    if ckpts.is_dir() and any(ckpts.iterdir()):
        raise InputError(f"{run_dir}: the run already has checkpoints; preparing new data "
                         "would change what they were trained on", hint="use a new --run")
    if chunks < 1 or seq_len < 2:
        raise InputError("--chunks must be >= 1 and --seq-len >= 2")
    if mixture is not None:
        from llm360.train.data_mixture import prepare_mixture

        return prepare_mixture(run_dir, Path(mixture), seq_len=seq_len, seed=seed,
                               vocab_size=vocab_size, heldout_fraction=heldout_fraction)
    if corpus:
        docs, sources = read_corpus(list(corpus))
    else:
        docs, source = default_corpus(max_corpus_bytes, seed=seed)
        sources = [source]
    tok = train_tokenizer(docs, vocab_size)
    rows, row_docs = cut_sequences(tok, docs, seq_len)
    perm = np.random.Generator(np.random.PCG64(seed)).permutation(len(rows))
    n_held = heldout_count(len(rows), heldout_fraction)
    train_ids, held_ids = perm[: len(perm) - n_held], perm[len(perm) - n_held:]
    per_chunk = len(train_ids) // chunks
    if per_chunk >= 8:
        per_chunk -= per_chunk % 8  # whole batches for every power-of-two batch size <= 8
    if per_chunk < 1:
        raise InputError(f"the corpus gives {len(rows)} sequences of {seq_len} tokens: too few "
                         f"for {chunks} chunks", hint="use a bigger corpus or fewer chunks")
    tok_bytes = tok.to_str().encode("utf-8")
    for name, data in hf_tokenizer_files(tok_bytes, model_max_length=seq_len).items():
        write_recorded(run_dir, f"{layout.TOKENIZER_DIR}/{name}", data)
    index_chunks, digests = [], []
    for k in range(chunks):
        ids = train_ids[k * per_chunk:(k + 1) * per_chunk]
        arr = rows[ids]
        raw = chunk_bytes(arr)
        rel = layout.chunk_path(k)
        write_recorded(run_dir, rel, raw)
        digest = hashlib.sha256(raw).hexdigest()
        digests.append(digest)
        doc_ids = sorted({docs[d].id for i in ids.tolist() for d in row_docs[i]})
        index_chunks.append({"index": k, "path": rel, "sha256": digest, "sequences": len(arr),
                             "tokens": int(arr.size),
                             "merkle_root": rows_merkle_root(arr, merkle.DEFAULT_FORMAT),
                             "sources": doc_ids})
    held = rows[held_ids]
    write_recorded(run_dir, layout.HELDOUT, chunk_bytes(held))
    index = DataIndex(seq_len=seq_len, merkle=merkle.DEFAULT_FORMAT,
                      chunks=tuple(DataChunkRecord.from_data(c) for c in index_chunks))
    write_recorded(run_dir, layout.DATA_INDEX, index.to_json(source=layout.DATA_INDEX))
    corpus_digest = hashlib.sha256(canonical_json(
        [[d.id, hashlib.sha256(d.text.encode("utf-8")).hexdigest()] for d in docs])).hexdigest()
    data_cfg = {
        "seq_len": seq_len, "num_chunks": chunks, "seed": seed,
        "sequences_per_chunk": per_chunk, "total_sequences": int(len(rows)),
        "unused_sequences": int(len(train_ids) - per_chunk * chunks),
        "shuffle": "numpy.random.Generator(PCG64(seed)).permutation over all sequences; "
                   "the last heldout.sequences go to the held-out set",
        "heldout": {"path": layout.HELDOUT, "sequences": int(len(held)),
                    "fraction": heldout_fraction},
        "sources": sources,
        "corpus": {"documents": len(docs), "sha256": corpus_digest,
                   "tokens": int(sum(len(r) for r in rows))},
        "tokenizer": tokenizer_record(tok, tok_bytes, vocab_size),
    }
    validate(data_cfg, "data_config", source=layout.DATA_CONFIG)
    write_recorded(run_dir, layout.DATA_CONFIG, canonical_json(data_cfg))
    return PrepareResult(run_dir=run_dir, chunks=chunks, sequences_per_chunk=per_chunk,
                         heldout_sequences=int(len(held)), seq_len=seq_len,
                         vocab_size=tok.get_vocab_size(), tokens=per_chunk * chunks * seq_len,
                         chunk_sha256=tuple(digests))


@dataclass(frozen=True, kw_only=True)
class RunData:
    """The prepared data of a run, checked against its index."""

    seq_len: int
    chunks: tuple[np.ndarray, ...]
    heldout: np.ndarray
    index: DataIndex
    config: DataConfig
    vocab_size: int
    eos_token_id: int
    index_digest: str
    tokenizer_json: bytes | None = None   # tokenizer/tokenizer.json, checked against its sha256


def load_run_data(run_dir: Path) -> RunData:
    """Read data/ and config/data.json; every chunk's sha256 must match data/index.json."""
    run_dir = Path(run_dir)
    try:
        index_raw = (run_dir / layout.DATA_INDEX).read_bytes()
        index_data = json.loads(index_raw)
        cfg_data = json.loads((run_dir / layout.DATA_CONFIG).read_bytes())
    except FileNotFoundError as exc:
        from llm360.train.inputs import not_prepared

        raise not_prepared(run_dir, exc.filename) from exc
    except ValueError as exc:
        raise InputError(f"{run_dir}: data/index.json or config/data.json is not JSON") from exc
    validate(index_data, "data_index", source=str(run_dir / layout.DATA_INDEX))
    validate(cfg_data, "data_config", source=str(run_dir / layout.DATA_CONFIG))
    index, cfg = DataIndex.from_data(index_data), DataConfig.from_data(cfg_data)
    tok = cfg.tokenizer
    if cfg.heldout is None or cfg.heldout.path is None or tok is None \
            or tok.vocab_size is None or tok.eos_token_id is None:
        raise InputError(f"{run_dir / layout.DATA_CONFIG}: not written by `llm360 data "
                         "prepare` (no heldout.path, tokenizer.vocab_size or eos_token_id)",
                         hint="prepare the data with `llm360 data prepare`")
    chunks = []
    for c in index.chunks:
        raw = (run_dir / c.path).read_bytes()
        if hashlib.sha256(raw).hexdigest() != c.sha256:
            raise TrainingError(f"{run_dir / c.path}: sha256 differs from data/index.json",
                                hint="the data changed after `data prepare`; prepare it again")
        chunks.append(load_file(str(run_dir / c.path))["tokens"])
    heldout = load_file(str(run_dir / cfg.heldout.path))["tokens"]
    tok_path = run_dir / (tok.path or layout.TOKENIZER)
    tokenizer_json = tok_path.read_bytes() if tok_path.is_file() else None
    if tokenizer_json is not None and tok.sha256 not in (
            None, hashlib.sha256(tokenizer_json).hexdigest()):
        raise InputError(f"{tok_path}: sha256 differs from config/data.json",
                         hint="the tokenizer changed after `data prepare`; prepare it again")
    return RunData(tokenizer_json=tokenizer_json, seq_len=index.seq_len,
                   chunks=tuple(chunks), heldout=heldout, index=index, config=cfg,
                   vocab_size=tok.vocab_size, eos_token_id=tok.eos_token_id,
                   index_digest=hashlib.sha256(canonical_json(index_data)).hexdigest())
