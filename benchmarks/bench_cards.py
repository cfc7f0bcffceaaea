"""Cards and plots of a synthetic run: the first render against an unchanged rebuild (cache hit).

    .venv/bin/python benchmarks/bench_cards.py [--checkpoints 40] [--repeats 3]

Prints the median seconds of the cards step (the model card, one card per checkpoint, the data
card and the plots) rendered from scratch and served from RUN/.llm360/cards. In-process: the
first render also imports Pillow, jinja2 and huggingface_hub, which the median of three leaves
out.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from llm360.registry._files import write_atomic
from llm360.registry.build.release import BuildContext, build_manifest
from llm360.registry.cards import CardsStep
from llm360.registry.manifest.serialize import manifest_to_bytes
from llm360.registry.signing import SignatureInfo

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
        times: dict[str, list[float]] = {"cold": [], "warm": []}
        for i in range(args.repeats):
            shutil.rmtree(run / ".llm360" / "cards", ignore_errors=True)
            for kind in ("cold", "warm"):
                out = Path(tmp) / f"out-{kind}-{i}"
                out.mkdir()
                step = CardsStep(run)
                started = time.perf_counter()
                step.run(BuildContext(run_dir=run, release_dir=out, manifest=manifest,
                                      manifest_bytes=raw, records=records,
                                      signature=SignatureInfo(method="unsigned"),
                                      signed=frozenset(),
                                      write=lambda rel, data, out=out: write_atomic(out / rel,
                                                                                  data)))
                step.close()
                times[kind].append(time.perf_counter() - started)
        files = sum(1 for p in out.rglob("*") if p.is_file())
        print(f"cards step, {args.checkpoints} checkpoints, {files} files "
              f"(median of {args.repeats}):")
        for kind, label in (("cold", "render"), ("warm", "unchanged rebuild")):
            print(f"  {label + ':':<19}{statistics.median(times[kind]):.3f} s")


if __name__ == "__main__":
    main()
