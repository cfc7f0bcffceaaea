"""The Hub path on the Hub test server (127.0.0.1, in this process, LFS uploads).

Prints, for a signed release of at least 100 MB (4 checkpoints of ~26 MB weights):
  * bytes downloaded by ``verify --hub`` against the release size (target < 1 %),
  * requests per branch of a first push and of ``verify --hub``,
  * bytes uploaded (and commits made) by a second push (target 0),
and, for a synthetic release of 360 checkpoints (its repositories written straight into the
server with the same layout push uses), the time of ``verify --hub`` (target < 60 s).

    PYTHONPATH=. .venv/bin/python benchmarks/bench_hub.py [--mb 104] [--checkpoints 360]
"""

from __future__ import annotations

import argparse
import importlib.util
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CREATED = "2026-11-27T00:00:00Z"


def _load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _release(run: Path, out: Path, key: Path, cards: bool) -> Path:
    from llm360.registry.build.release import BuildOptions, build_release
    from llm360.registry.signing import make_signer

    build_release(run, out, options=BuildOptions(created=CREATED, cards=cards),
                  signer=make_signer("key", key_path=key))
    return out


def _window(server, start: int):
    log = server.log[start:]
    return log, sum(x.bytes_in for x in log), sum(x.bytes_out for x in log)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=104, help="release size to aim at (MB)")
    parser.add_argument("--checkpoints", type=int, default=360)
    args = parser.parse_args()
    srv = _load("bench_hub_server", ROOT / "tests" / "hub_server" / "server.py")
    from huggingface_hub import constants

    constants.HF_HUB_OFFLINE = False
    constants.HF_HUB_DISABLE_XET = True
    from llm360.registry.hub import connect, push_release, verify_hub
    from llm360.registry.signing import write_key_pair
    from llm360.registry.verify.policy import TrustPolicy
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from _synthetic import write_synthetic_run  # a test helper, not the library

    scratch = Path(tempfile.mkdtemp(prefix="bench-hub-"))
    server = srv.HubTestServer().start()
    try:
        write_key_pair(scratch / "key.pem", scratch / "key.pub.pem")
        n = 4
        run = write_synthetic_run(scratch / "run", checkpoints=n,
                                  weight_bytes=args.mb * 1_000_000 // n)
        release = _release(run, scratch / "release", scratch / "key.pem", cards=True)
        size = sum(p.stat().st_size for p in release.rglob("*") if p.is_file())
        client = connect(endpoint=server.url, token="t", xet=False)
        print(f"release: {n} checkpoints, {size / 1e6:.1f} MB in "
              f"{sum(1 for p in release.rglob('*') if p.is_file())} files; server {server.url}")
        mark = len(server.log)
        first = push_release(client, release, "bench/model",
                             policy=TrustPolicy(key=scratch / "key.pub.pem"))
        log, up, _ = _window(server, mark)
        branches = len(first.branches)
        print(f"push 1: {first.commits} commits, {up / 1e6:.1f} MB sent, {len(log)} requests "
              f"= {len(log) / branches:.1f} per branch ({branches} branches)")
        mark = len(server.log)
        second = push_release(client, release, "bench/model",
                             policy=TrustPolicy(key=scratch / "key.pub.pem"))
        log, up, _ = _window(server, mark)
        print(f"push 2: {second.commits} commits, {second.uploaded_bytes} bytes uploaded "
              f"(target 0), {up} bytes of request bodies, {len(log)} requests = "
              f"{len(log) / branches:.1f} per branch")
        mark = len(server.log)
        start = time.perf_counter()
        policy = TrustPolicy(key=scratch / "key.pub.pem")
        report, source = verify_hub(client, "bench/model", policy=policy)
        took = time.perf_counter() - start
        log, _, down = _window(server, mark)
        assert report.ok, [p.message for p in report.problems]
        print(f"verify --hub: {'VERIFIED' if report.ok else 'FAILED'} in {took:.2f} s; "
              f"{down} bytes downloaded = {100 * down / size:.3f} % of the release "
              f"(target < 1 %); {len(log)} requests = {len(log) / branches:.1f} per branch")

        m = args.checkpoints
        run = write_synthetic_run(scratch / "run360", checkpoints=m, weight_bytes=256)
        release = _release(run, scratch / "release360", scratch / "key.pem", cards=False)
        hostile = _load("bench_hub_hostile", ROOT / "tests" / "hub_server" / "hostile.py")
        hostile.publish(server, release, "bench/amber")  # as push lays it out, no round trips
        mark = len(server.log)
        start = time.perf_counter()
        policy = TrustPolicy(key=scratch / "key.pub.pem")
        report, source = verify_hub(client, "bench/amber", policy=policy)
        took = time.perf_counter() - start
        log, _, down = _window(server, mark)
        print(f"verify --hub, {m} checkpoints ({m + 2} branches): "
              f"{'VERIFIED' if report.ok else 'FAILED'} in {took:.1f} s (target < 60 s); "
              f"{len(log)} requests = {len(log) / (m + 2):.1f} per branch; "
              f"{report.files_checked} files, {down / 1e6:.2f} MB downloaded")
    finally:
        server.stop()
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
