"""The command line as a user times it: start-up, verify, full build, unchanged rebuild, and
OpenSSF model_signing on the same run; each the median of several runs beside its target.

Every figure is a whole process (``llm360 ...`` as typed in a shell), on page-cached files:

  * ``llm360 --help``                                     target <= 0.3 s
  * ``llm360 verify`` of the demo release (``make demo``)  target <= 0.5 s
  * ``llm360 release build --sign key`` of a synthetic run (``--gib``, ``--checkpoints``), the
    first build of that run: nothing cached in ``RUN/.llm360`` (every byte hashed, every chunk
    read, every card and plot rendered; as after the first build on the machine, Python's
    bytecode is kept in ``__pycache__``)                target <= hashlib loop / 0.9 + 0.5 s
    (the hashlib loop: a plain sha256 loop over the same files on every usable CPU)
  * the same build again, nothing changed, 1.2 s after the last target <= 5 % of full + 0.5 s
  * the first build after training: every digest recorded at write (kept in the hash cache),
    nothing rendered yet (no target: what a user waits for after ``llm360 train``)
  * every byte hashed again with everything else cached (no target: the hashing overhead alone)
  * both again with ``--no-cards``, to show what rendering cards and plots adds
  * ``model_signing sign key`` of the same run (when installed): the build should be faster.
    The full builds (with and without cards) and model_signing take turns, one run of each per
    round, and the speed ratio is the median of each round's ratio: a drift in the machine's
    speed between figures (a shared VM) then cancels out

    .venv/bin/python benchmarks/bench_cli.py [--gib 2.15] [--checkpoints 40] [--repeat 5]
                                             [--demo DIR]   # an existing `make demo` folder
"""

from __future__ import annotations

import argparse
import hashlib
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

CREATED = "2026-11-27T00:00:00Z"


def llm360_cmd() -> list[str]:
    script = Path(sys.executable).with_name("llm360")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "llm360.cli.main"]


#: CPU seconds (user + system) of each figure's runs, beside the wall times: on a busy shared
#: machine wall time grows with the load, CPU time much less (it is printed for that reason)
CPU: dict[str, float] = {}


#: every command runs as after ``pip install``: Python caches bytecode (a shell that sets
#: PYTHONDONTWRITEBYTECODE would have each run compile llm360's modules from source, ~50 ms)
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def run(cmd: list[str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the child) of one command, which must succeed."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    result = subprocess.run(cmd, capture_output=True, text=True, env=ENV, check=False)
    took = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.returncode != 0:
        sys.exit(f"failed ({result.returncode}): {' '.join(cmd)}\n{result.stdout}{result.stderr}")
    return took, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def median_of(repeat: int, cmd: list[str], before=None, *, name: str = "") -> float:
    walls, cpus = [], []
    for _ in range(repeat):
        if before is not None:
            before()
        wall, cpu = run(cmd)
        walls.append(wall)
        cpus.append(cpu)
    CPU[name] = statistics.median(cpus)
    return statistics.median(walls)


def taking_turns(repeat: int, turns: dict) -> dict[str, list[float]]:
    """Wall times of each command in ``turns`` (name -> (command, run before it or None)),
    ``repeat`` rounds of one run each; the median CPU of each goes to ``CPU``."""
    walls: dict[str, list[float]] = {name: [] for name in turns}
    cpus: dict[str, list[float]] = {name: [] for name in turns}
    for _ in range(repeat):
        for name, (cmd, before) in turns.items():
            if before is not None:
                before()
            wall, cpu = run(cmd)
            walls[name].append(wall)
            cpus[name].append(cpu)
    for name, spent in cpus.items():
        CPU[name] = statistics.median(spent)
    return walls


def sha256_path(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def machine() -> str:
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpus} CPUs usable ({model or platform.processor() or platform.machine()}), " \
           f"Python {platform.python_version()}, {platform.system()}"


def row(what: str, took: float, target: str, ok: bool | None, cpu: str = "") -> None:
    verdict = "" if ok is None else ("  met" if ok else "  MISSED")
    spent = f"{CPU[cpu]:6.2f} s" if cpu in CPU else " " * 8
    print(f"  {what:<40} {took:6.2f} s  {spent}   {target}{verdict}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gib", type=float, default=2.15, help="size of the synthetic run")
    parser.add_argument("--checkpoints", type=int, default=40)
    parser.add_argument("--repeat", type=int, default=5, help="runs per figure (median)")
    parser.add_argument("--demo", type=Path,
                        help="a `make demo` / `python -m llm360.demo` folder (default: make one)")
    parser.add_argument("--dir", type=Path, help="scratch folder (default: a temp folder)")
    args = parser.parse_args()
    llm360 = llm360_cmd()
    scratch = Path(tempfile.mkdtemp(dir=args.dir))
    print(f"machine: {machine()}")
    print(f"median of {args.repeat} runs each; {' '.join(llm360)}\n")
    try:
        t_help = median_of(max(args.repeat, 10), [*llm360, "--help"], name="help")

        demo = args.demo
        if demo is None:
            demo = scratch / "demo"
            print("making the demo release (python -m llm360.demo) ...", flush=True)
            run([sys.executable, "-m", "llm360.demo", "--out", str(demo)])
        t_verify = median_of(args.repeat, [*llm360, "verify", str(demo / "release/manifest.json"),
                                           "--key", str(demo / "keys/demo-key.pub.pem")],
                                            name="verify")
        demo_bytes = sum(p.stat().st_size for p in (demo / "llm360-tiny").rglob("*")
                         if p.is_file() and ".llm360" not in p.parts)

        runs = scratch / "runs"
        print(f"writing a {args.gib} GiB synthetic run with {args.checkpoints} checkpoints ...",
              flush=True)
        weight_bytes = int(args.gib * (1 << 30) / args.checkpoints)
        tests = Path(__file__).resolve().parents[1] / "tests"
        code = (f"import sys; sys.path.insert(0, {str(tests)!r}); "
                "from _synthetic import write_synthetic_run as w; "
                f"w(sys.argv[1], checkpoints={args.checkpoints}, weight_bytes={weight_bytes}, "
                "seq_len=128, rows=64)")
        subprocess.run([sys.executable, "-c", code, str(runs / "run")], check=True)
        run_dir = runs / "run"
        files = [p for p in run_dir.rglob("*") if p.is_file() and ".llm360" not in p.parts]
        total = sum(p.stat().st_size for p in files)
        time.sleep(1.2)  # past the hash cache's racy window, as a finished run would be
        workers = len(os.sched_getaffinity(0))
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(sha256_path, files))  # page-cache every byte
            loop = []
            for _ in range(args.repeat):
                start = time.perf_counter()
                list(pool.map(sha256_path, files))
                loop.append(time.perf_counter() - start)
        t_loop = statistics.median(loop)

        keys = scratch / "keys"
        run([*llm360, "keygen", "--private", str(keys / "k.pem"), "--public",
             str(keys / "k.pub.pem")])
        release = scratch / "release"
        build = [*llm360, "release", "build", str(run_dir), "--out", str(release),
                 "--sign", "key", "--key", str(keys / "k.pem"), "--created", CREATED]
        def cold() -> None:  # the first build of the run: no hash, chunk or render cache
            shutil.rmtree(run_dir / ".llm360", ignore_errors=True)

        cold()
        run(build)  # not timed: Python writes the bytecode of every module a build imports
        bare = [*build, "--no-cards"]
        # The full builds and model_signing take turns, one run of each per round: a drift in
        # the machine's speed (a shared VM's neighbours) then falls on both alike.
        oms = shutil.which("model_signing", path=str(Path(sys.executable).parent)) \
            or shutil.which("model_signing")
        turns = {"full": (build, cold), "full_bare": (bare, cold)}
        if oms:
            turns["oms"] = ([oms, "sign", "key", str(run_dir), "--private_key",
                             str(keys / "k.pem"), "--signature", str(scratch / "oms.sig"),
                             "--ignore-paths", str(run_dir / ".llm360")], None)
            run(turns["oms"][0])  # not timed, as the first build
        walls = taking_turns(args.repeat, turns)
        t_full, t_full_bare = (statistics.median(walls[n]) for n in ("full", "full_bare"))
        run(build)  # leaves a settled cache behind
        # A rebuild starts 1.2 s after the previous build (not timed): the hash cache trusts no
        # file changed within the last second, and linking the run into the release moves
        # every run file's ctime; back to back, a rebuild would hash everything again.
        settle = lambda: time.sleep(1.2)  # noqa: E731
        t_rebuild = median_of(args.repeat, build, before=settle, name="rebuild")

        def after_training() -> None:  # digests recorded at write (kept); nothing rendered yet
            shutil.rmtree(run_dir / ".llm360" / "cards", ignore_errors=True)
            (run_dir / ".llm360" / "chunk-cache.json").unlink(missing_ok=True)
            time.sleep(1.2)

        t_trained = median_of(args.repeat, build, before=after_training, name="trained")

        def rehash() -> None:  # every byte hashed again; records, chunks, cards known
            (run_dir / ".llm360" / "hash-cache.json").unlink(missing_ok=True)

        t_rehash = median_of(args.repeat, build, before=rehash, name="rehash")
        # the same without cards and plots: what the cards step costs on top
        run(bare)
        t_rebuild_bare = median_of(args.repeat, bare, before=settle, name="rebuild_bare")

        t_oms = statistics.median(walls["oms"]) if oms else None
        # each round's model_signing time over its full build's: the ratio of runs side by side
        paired = (statistics.median(o / f for o, f in zip(walls["oms"], walls["full"])),
                  statistics.median(o / f for o, f in zip(walls["oms"], walls["full_bare"]))) \
            if oms else None

        gib = total / (1 << 30)
        print(f"\nsynthetic run: {len(files)} files, {gib:.2f} GiB; demo run: "
              f"{demo_bytes / 1e6:.0f} MB\n")
        print(f"  {'':<40} {'wall':>8}  {'CPU':>8}   (medians; load average "
              f"{os.getloadavg()[0]:.1f} on {workers} CPUs)")
        row("llm360 --help", t_help, "target <= 0.30 s", t_help <= 0.3, "help")
        row("llm360 verify (demo release)", t_verify, "target <= 0.50 s", t_verify <= 0.5, "verify")
        row(f"hashlib loop, {workers} threads ({gib / t_loop:.2f} GiB/s)", t_loop, "", None)
        target_full = t_loop / 0.9 + 0.5
        row("llm360 release build --sign key (full)", t_full,
            f"target <= {target_full:.2f} s", t_full <= target_full, "full")
        target_rebuild = 0.05 * t_full + 0.5
        row("  the same, unchanged (rebuild)", t_rebuild,
            f"target <= {target_rebuild:.2f} s", t_rebuild <= target_rebuild, "rebuild")
        row("  every byte hashed again", t_rehash,
            "hash cache removed; records, chunks, cards and plots cached", None, "rehash")
        row("  first build after training", t_trained,
            "digests recorded at write; cards and plots rendered", None, "trained")
        row("  full, --no-cards", t_full_bare, f"cards and plots add {t_full - t_full_bare:.2f} s",
            None, "full_bare")
        row("  rebuild, --no-cards", t_rebuild_bare,
            f"cards and plots add {t_rebuild - t_rebuild_bare:.2f} s", None,
            "rebuild_bare")
        if t_oms is not None:
            row("model_signing sign key (same run)", t_oms,
                f"llm360 full build {paired[0]:.2f} x its speed", paired[0] > 1, "oms")
            print(f"  {'':<40} {'':>8}  {'':>8}   (--no-cards, the same work as model_signing: "
                  f"{paired[1]:.2f} x its speed; medians of the ratios in each round)")
        else:
            print("  model_signing: not installed (pip install model-signing)")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
