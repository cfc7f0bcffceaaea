"""Hashing engine throughput against plain hashlib loops, and incremental rebuild cost.

Prints, on the same page-cached files in one run:
  * the engine (``hash_files``, no cache) with ``--workers`` threads (``auto``: the CPUs this
    process may use, the engine's default) against a plain hashlib loop with as many threads
    (the all-core comparison, target >= 0.9), and the engine's scaling with 1 and 2 workers,
  * the same with the files evicted from the page cache (``posix_fadvise(DONTNEED)``), to see
    whether parallel reads from this disk need a cap (``--no-cold`` skips it),
  * a full ``release build`` against an incremental one after one new checkpoint,
  * this process's peak memory.

Files are hashed in parallel, each by one worker: a single file is hashed at one core's rate,
so a checkpoint written as one huge file bounds the build at (its size / that rate); sharded
checkpoints (many files per checkpoint, as large models are saved) spread over every core.

    .venv/bin/python benchmarks/bench_hash.py [--gib 2] [--checkpoints 40] [--workers auto]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from llm360.registry._files import list_files
from llm360.registry.build.hashing import default_workers, hash_files
from llm360.registry.build.release import BuildOptions, build_release


def plain_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def evict(paths: list[Path]) -> bool:
    """Drop the files from the page cache (True when the OS allows it)."""
    if not hasattr(os, "posix_fadvise"):
        return False
    for p in paths:
        fd = os.open(p, os.O_RDONLY)
        try:
            os.fsync(fd)
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)
    return True


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def write_run(root: Path, checkpoints: int, weight_bytes: int) -> None:
    """In a child process, so generating 2 GiB of tensors does not count as our memory."""
    tests = Path(__file__).resolve().parents[1] / "tests"
    code = (f"import sys; sys.path.insert(0, {str(tests)!r}); "
            "from _synthetic import write_synthetic_run as w; "
            f"w(sys.argv[1], checkpoints={checkpoints}, weight_bytes={weight_bytes}, "
            "seq_len=128, rows=64)")
    subprocess.run([sys.executable, "-c", code, str(root)], check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gib", type=float, default=2.0, help="size of the run (GiB)")
    parser.add_argument("--checkpoints", type=int, default=40,
                        help="checkpoints in the run (Amber has 360; more makes one a smaller "
                              "share)")
    parser.add_argument("--dir", type=Path, help="scratch folder (default: a temp folder)")
    parser.add_argument("--workers", default="auto",
                        help="engine threads: auto (the CPUs usable, the default) or a number")
    parser.add_argument("--no-cold", dest="cold", action="store_false",
                        help="skip the passes with the files evicted from the page cache")
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(dir=args.dir))
    try:
        run = scratch / "run"
        weight_bytes = int(args.gib * (1 << 30) / args.checkpoints)
        print(f"writing a {args.gib} GiB run with {args.checkpoints} checkpoints in {run} ...")
        write_run(run, args.checkpoints, weight_bytes)
        files = list_files(run)
        paths = [run / f for f in files]
        total = sum(p.stat().st_size for p in paths)
        for p in paths:  # page-cache every byte
            plain_sha256(p)
        gib = total / (1 << 30)

        workers = default_workers() if args.workers == "auto" else int(args.workers)
        t1, ref1 = timed(lambda: [plain_sha256(p) for p in paths])
        with ThreadPoolExecutor(workers) as pool:
            tn, refn = timed(lambda: list(pool.map(plain_sha256, paths)))
        te, engine = timed(lambda: hash_files(run, files, workers=workers))
        assert [d.sha256 for d in engine] == ref1 == refn
        largest = max(p.stat().st_size for p in paths)
        print(f"\n{len(files)} files, {gib:.2f} GiB (largest {largest / (1 << 20):.0f} MiB), "
              f"page-cached; {workers} workers ({args.workers}; "
              f"{len(os.sched_getaffinity(0))} CPUs usable, {os.cpu_count()} on the machine)")
        print(f"  hashlib loop,   1 thread     : {gib / t1:6.2f} GiB/s ({t1:.2f} s)")
        print(f"  hashlib loop,  {workers:2d} threads    : {gib / tn:6.2f} GiB/s ({tn:.2f} s)")
        print(f"  llm360 engine, {workers:2d} workers    : {gib / te:6.2f} GiB/s ({te:.2f} s)")
        print(f"  engine / {workers:2d}-thread loop     : {tn / te:6.3f}   (target >= 0.9)")
        for n in sorted({1, 2, 2 * workers} - {workers}):
            tk, _ = timed(lambda n=n: hash_files(run, files, workers=n))
            workers = f"{n:2d} worker{'s' if n > 1 else ' '}"
            print(f"  llm360 engine, {workers}    : {gib / tk:6.2f} GiB/s "
                  f"({tk:.2f} s)")
        print(f"  one file at one core's rate  : {largest / (1 << 30) / (gib / t1):.2f} s "
              f"for the largest file alone (the floor when one file is most of the bytes)")
        if args.cold and evict(paths):
            print("\nthe same files evicted from the page cache before each pass (read from disk):")
            for n in sorted({1, 2, workers, 2 * workers}):
                evict(paths)
                tc, _ = timed(lambda n=n: hash_files(run, files, workers=n))
                workers = f"{n:2d} worker{'s' if n > 1 else ' '}"
                print(f"  llm360 engine, {workers}    : {gib / tc:6.2f} GiB/s "
                      f"({tc:.2f} s)")

        release = scratch / "release"
        shutil.rmtree(run / ".llm360", ignore_errors=True)  # cold: no digest recorded at write
        time.sleep(1.2)  # let the files settle past the cache's racy window
        tf, _ = timed(lambda: build_release(run, release,
                                            options=BuildOptions(created="2026-11-27T00:00:00Z")))
        print(f"\nfull build (cold cache)      : {tf:.2f} s")
        write_run(run, args.checkpoints + 1, weight_bytes)  # one new checkpoint
        ti, _ = timed(lambda: build_release(run, release,
                                            options=BuildOptions(created="2026-11-27T00:00:00Z")))
        new_bytes = sum((run / "checkpoints" / f"ckpt_{args.checkpoints:03d}" / f).stat().st_size
                        for f in os.listdir(run / "checkpoints" / f"ckpt_{args.checkpoints:03d}"))
        print(f"incremental build (+1 ckpt)  : {ti:.2f} s, "
              f"new bytes {new_bytes / (1 << 20):.0f} MiB")
        target = 0.05 * tf + 0.5
        print(f"incremental / full           : {ti / tf:6.3f}   (target: incremental <= 5 % of "
              f"full + 0.5 s = {target:.2f} s: {'met' if ti <= target else 'MISSED'})")
        full_now = sum((run / f).stat().st_size for f in list_files(run))
        floor = new_bytes / (1 << 30) / (gib / t1)
        print(f"  the new checkpoint is {new_bytes / full_now:.1%} of the run's bytes; hashing "
              f"its weights file on one thread alone takes ~{floor:.2f} s "
              f"({floor / tf:.1%} of the full build)")
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"\npeak memory of this process  : {peak:.0f} MiB (target < 200 MiB)")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
