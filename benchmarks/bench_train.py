"""Throughput of the tiny model with all recording on (a checkpoint, an evaluation and log lines
per data chunk) against the same loop with recording off, in the same process.

    .venv/bin/python benchmarks/bench_train.py [--chunks 3] [--corpus-bytes 400000] [--repeats 2]

Prints tokens/s of both and the overhead ratio (target: <= 10 % with one checkpoint per chunk).
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

import torch

from llm360.train import TrainOptions, prepare_data, train


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--chunks", type=int, default=3)
    ap.add_argument("--corpus-bytes", type=int, default=400_000)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp) / "prepared"
        prep = prepare_data(base, chunks=args.chunks, max_corpus_bytes=args.corpus_bytes)
        best = {True: 0.0, False: 0.0}
        for i in range(args.repeats):
            for record in (False, True):
                run = Path(tmp) / f"run-{i}-{record}"
                shutil.copytree(base, run)
                r = train(run, TrainOptions(preset="tiny", record=record))
                best[record] = max(best[record], r.tokens_per_s)
                print(f"  repeat {i}: record={'on ' if record else 'off'} {r.steps} steps "
                      f"{r.seconds:.2f} s {r.tokens_per_s:,.0f} tokens/s")
        overhead = best[False] / best[True] - 1.0
        print(f"tiny preset, {args.chunks} chunks x {prep.sequences_per_chunk} sequences x "
              f"{prep.seq_len} tokens, {args.threads} threads (best of {args.repeats})")
        print(f"recording off: {best[False]:,.0f} tokens/s")
        print(f"recording on : {best[True]:,.0f} tokens/s")
        print(f"overhead     : {overhead * 100:.1f} % (target <= 10 %)")


if __name__ == "__main__":
    main()
