"""A release at Amber's scale: 360 checkpoints of 8 files each, 360 data chunks, logs, evals.

Prints the time of a build from the hash cache, of validating the manifest against its schema,
and of verifying its metadata (schema, references, lineage; no file bytes). Target: each < 5 s.

    .venv/bin/python benchmarks/bench_scale.py [--checkpoints 360]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

from llm360.registry.build.release import BuildOptions, build_release
from llm360.registry.manifest.serialize import manifest_from_bytes
from llm360.registry.verify.policy import TrustPolicy
from llm360.registry.verify.verifier import verify_release

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from _synthetic import write_synthetic_run  # noqa: E402  (a test helper, not the library)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoints", type=int, default=360)
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp())
    try:
        run = scratch / "run"
        start = time.perf_counter()
        write_synthetic_run(run, checkpoints=args.checkpoints, extra_files=2, weight_bytes=256)
        files = sum(1 for p in run.rglob("*") if p.is_file())
        print(f"wrote {files} files ({args.checkpoints} checkpoints x 8 files, "
              f"{args.checkpoints} chunks) in {time.perf_counter() - start:.1f} s")
        time.sleep(1.2)  # let the files settle past the cache's racy window
        created = "2026-11-27T00:00:00Z"
        start = time.perf_counter()
        build_release(run, scratch / "release", options=BuildOptions(created=created))
        cold = time.perf_counter() - start
        start = time.perf_counter()
        result = build_release(run, scratch / "release", options=BuildOptions(created=created))
        warm = time.perf_counter() - start
        raw = result.manifest_path.read_bytes()
        start = time.perf_counter()
        manifest_from_bytes(raw)
        validate = time.perf_counter() - start
        start = time.perf_counter()
        report = verify_release(result.manifest_path,
                                policy=TrustPolicy(check_bytes=False, allow_unsigned=True))
        meta = time.perf_counter() - start
        assert report.ok, report.problems
        print(f"manifest: {len(raw) / 1024:.0f} KiB, {len(result.manifest.artifacts)} artifacts")
        print(f"build, cold cache     : {cold:6.2f} s")
        print(f"build from cache      : {warm:6.2f} s   (target < 5 s)")
        print(f"validate manifest     : {validate:6.2f} s   (target < 5 s)")
        print(f"verify metadata       : {meta:6.2f} s   (target < 5 s)")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
