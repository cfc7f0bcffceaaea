"""``llm360 data prepare``: corpus -> tokenizer -> shuffled, hashed data chunks of a run."""

from __future__ import annotations

from pathlib import Path

import click

from llm360.cli._render import echo, echo_json, require_extra
from llm360.errors import InputError

__all__ = ["data"]

#: what `data prepare` needs of the [train] extra, module -> distribution (looked up, not
#: imported: the tokenizer is loaded only once the inputs are known to be good)
TRAIN_DATA_EXTRA = {"tokenizers": "tokenizers"}

#: k + l of the memorization score (Biderman et al. 2023 with k = l = 32)
MEMORIZATION_TOKENS = 64


@click.group("data")
def data() -> None:
    """Prepare the training data of a run directory."""


@data.command("prepare")
@click.option("--run", "run_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Run directory to write tokenizer/, data/ and config/data.json into.")
@click.option("--corpus", multiple=True, type=click.Path(dir_okay=False, path_type=Path),
              help=".txt or .jsonl ('text' field) file; repeatable. Default: the Python "
                   "standard library's own source files.")
@click.option("--chunks", default=3, show_default=True, type=click.IntRange(1),
              help="Number of data chunks (one checkpoint after each).")
@click.option("--seq-len", default=128, show_default=True, type=click.IntRange(2),
              help="Tokens per sequence (>= 64 for the memorization score).")
@click.option("--seed", default=1234, show_default=True, type=int, help="Shuffle seed.")
@click.option("--vocab-size", default=512, show_default=True, type=click.IntRange(258),
              help="Byte-level BPE vocabulary size.")
@click.option("--max-corpus-bytes", default=400_000, show_default=True, type=click.IntRange(1),
              help="Size bound of the default (standard library) corpus.")
@click.option("--mixture", type=click.Path(dir_okay=False, path_type=Path),
              help="A mixture file (YAML): sources with category, license and reader, and "
                   "the stages that mix them (instead of --corpus and --chunks).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def prepare(ctx: click.Context, run_dir: Path, corpus: tuple[Path, ...], chunks: int,
            seq_len: int, seed: int, vocab_size: int, max_corpus_bytes: int,
            mixture: Path | None, as_json: bool) -> int:
    """Tokenize a corpus into fixed-length sequences, shuffle them with a recorded seed and
    split them into hashed chunks (plus a held-out set for evaluations); with --mixture, draw
    each stage's chunks from its sources at their target ratios."""

    def body() -> int:
        if mixture is not None:
            given = [f"--{name.replace('_', '-')}" for name in ("corpus", "chunks",
                                                                "max_corpus_bytes")
                     if ctx.get_parameter_source(name) == click.core.ParameterSource.COMMANDLINE]
            if given:
                raise InputError(f"--mixture names the sources and the chunks: it does not go "
                                 f"with {', '.join(given)}")
        require_extra("train", TRAIN_DATA_EXTRA, needed_for="`llm360 data prepare`")
        from llm360.train.data import prepare_data  # torch-free: a bad path fails at once

        r = prepare_data(run_dir, corpus=list(corpus) or None, chunks=chunks, seq_len=seq_len,
                         seed=seed, vocab_size=vocab_size, max_corpus_bytes=max_corpus_bytes,
                         mixture=mixture)
        notes = [f"sequences of {r.seq_len} tokens are shorter than the "
                 f"{MEMORIZATION_TOKENS} the memorization score needs (a 32-token prefix and "
                 "a 32-token continuation, as the LLM360 paper scores it): evaluations will "
                 "skip it"] if r.seq_len < MEMORIZATION_TOKENS else []
        if as_json:
            echo_json({"run": str(r.run_dir), "chunks": r.chunks, "notes": notes,
                       "stages": [{"name": n, "chunks": c} for n, c in r.stages],
                       "sequences_per_chunk": r.sequences_per_chunk,
                       "heldout_sequences": r.heldout_sequences, "seq_len": r.seq_len,
                       "vocab_size": r.vocab_size, "tokens": r.tokens,
                       "chunk_sha256": list(r.chunk_sha256)})
        else:
            for note in notes:
                echo(f"note: {note}", err=True)
            echo(f"prepared {r.chunks} chunks x {r.sequences_per_chunk} sequences x "
                 f"{r.seq_len} tokens ({r.tokens} tokens, vocab {r.vocab_size}, "
                 f"{r.heldout_sequences} held out) in {r.run_dir}")
            if r.stages:
                echo("stages: " + ", ".join(f"{n} ({c} chunk{'s' if c != 1 else ''})"
                                            for n, c in r.stages))
        return 0

    return body()
