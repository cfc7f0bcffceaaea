"""Cards and plots of a synthetic run: the first render against an unchanged rebuild (cache hit).

    .venv/bin/python benchmarks/bench_cards.py [--checkpoints 40] [--repeats 3]

Prints the median seconds of the cards step (the model card, one card per checkpoint, the data
card and the plots) rendered from scratch and served from RUN/.llm360/cards.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from llm360.registry.build import build_manifest
from llm360.registry.cards import cards_step
from llm360.registry.serialize import manifest_to_bytes

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from _synthetic import write_synthetic_run  # noqa: E402  (a test helper, not the library)

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoints", type=int, default=40)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        run = write_synthetic_run(Path(tmp) / "run", checkpoints=args.checkpoints)
        manifest, records = build_manifest(run, created="2026-11-27T00:00:00Z")
        raw = manifest_to_bytes(manifest)
        step = cards_step()
        cold, warm = [], []
        for i in range(args.repeats):
            shutil.rmtree(run / ".llm360" / "cards", ignore_errors=True)
            for kind, timings in (("cold", cold), ("warm", warm)):
                out = Path(tmp) / f"out-{kind}-{i}"
                out.mkdir()
                started = time.perf_counter()
                step(out, manifest, raw, records)
                timings.append(time.perf_counter() - started)
        files = sum(1 for p in out.rglob("*") if p.is_file())
        print(f"cards step, {args.checkpoints} checkpoints, {files} files "
              f"(median of {args.repeats}):")
        print(f"  render:            {statistics.median(cold):.3f} s")
        print(f"  unchanged rebuild: {statistics.median(warm):.3f} s "
              f"({100 * statistics.median(warm) / statistics.median(cold):.1f} % of render)")


if __name__ == "__main__":
    main()
