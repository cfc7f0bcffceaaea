"""The main job end to end on the embedded defaults (``make demo``).

Runs, as a user would, each ``llm360`` command in turn: prepare the embedded corpus (the Python
standard library), train the tiny preset over three data chunks, evaluate every checkpoint with
lm-evaluation-harness on the benchmark built from the held-out set, generate a demo signing key,
build and sign the release (manifest, Sigstore bundle, OMS signatures, cards, plots), verify it.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from llm360.registry import layout


#: marks a folder the demo made, so a rerun replaces it and nothing else
STAMP = ".llm360-demo"


def _run(*args: str, env: dict | None = None) -> None:
    cmd = ["llm360", *args]
    print(f"\n$ {shlex.join(cmd)}", flush=True)
    result = subprocess.run([sys.executable, "-m", "llm360.cli.main", *args],
                            env={**os.environ, **(env or {})})
    if result.returncode != 0:
        sys.exit(f"demo: `{shlex.join(cmd)}` failed with exit code {result.returncode}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("demo"),
                        help="folder for the run, key and release (replaced when an earlier "
                             "demo made it; any other existing folder is refused)")
    parser.add_argument("--chunks", type=int, default=3)
    args = parser.parse_args(argv)
    out = args.out.resolve()
    if out.exists():
        if not (out / STAMP).is_file():
            sys.exit(f"demo: {out} exists and was not made by the demo; refusing to replace it "
                     "(pass --out with a new folder)")
        shutil.rmtree(out)
    out.mkdir(parents=True)
    (out / STAMP).write_text("made by `python -m llm360.demo`; replaced by the next demo\n")
    run, release, keys = out / "llm360-tiny", out / "release", out / "keys"
    _run("data", "prepare", "--run", str(run), "--chunks", str(args.chunks))
    _run("train", "--run", str(run), "--preset", "tiny")
    # every checkpoint, every item (no --limit): the harness on the benchmark built from the
    # run's held-out set (offline); with internet, --tasks arc_challenge,hellaswag works too
    _run("eval", str(run), "--tasks", "llm360_next_segment")
    print("\nThe key below is a DEMO key made for this run only: never sign a real release "
          "with it.")
    _run("keygen", "--private", str(keys / "demo-key.pem"), "--public",
         str(keys / "demo-key.pub.pem"))
    _run("release", "build", str(run), "--out", str(release), "--sign", "key", "--key",
         str(keys / "demo-key.pem"))
    _run("verify", str(release), "--key", str(keys / "demo-key.pub.pem"))
    hub = _hub_demo(release, keys / "demo-key.pub.pem", out)
    print(f"""
demo done:
  run directory  {run}
  release        {release}/manifest.json  (signed: manifest.sigstore.json, signatures/)
  model card     {release}/README.md  (checkpoint cards in {release}/cards/)
  data card      {release}/DATA_CARD.md
  plots          {release}/plots/
  benchmarks     {release}/{layout.BENCHMARK_ROWS} (raw harness results beside it)
  exports        {release}/croissant.json, bom.spdx.json, bom.cdx.json  (llm360 export)
  demo key       {keys}/demo-key.pub.pem  (DEMO ONLY)""" + hub)


TEST_SERVER = Path(__file__).resolve().parents[1] / "tests" / "hub_server" / "server.py"
DEMO_REPO = "demo/llm360-tiny"


def _hub_demo(release: Path, public_key: Path, out: Path) -> str:
    """Push to a Hub TEST server started here on 127.0.0.1, verify there, pull a checkpoint."""
    if not TEST_SERVER.is_file():
        print(f"\n(the Hub part is skipped: {TEST_SERVER} is not here; it ships with the "
              "source tree, not the package)")
        return ""
    spec = importlib.util.spec_from_file_location("llm360_demo_hub_server", TEST_SERVER)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    server = module.HubTestServer().start()
    try:
        print(f"\nHub TEST server on {server.url} (127.0.0.1, in memory, LFS only; NOT "
              "huggingface.co). The same commands without --endpoint publish to the real "
              "Hub with your HF_TOKEN.")
        env = {"HF_HUB_OFFLINE": "0", "HF_HUB_DISABLE_XET": "1", "HF_TOKEN": "demo-token"}
        endpoint = ["--endpoint", server.url]
        _run("push", str(release), "--repo", DEMO_REPO, "--key", str(public_key), *endpoint,
             env=env)
        _run("verify", "--hub", DEMO_REPO, "--key", str(public_key), *endpoint, env=env)
        _run("pull", DEMO_REPO, "--checkpoint", "ckpt_001", "--out", str(out / "pulled"),
             "--data", "--key", str(public_key), *endpoint, env=env)
        _run("diff", str(release), f"hub:{DEMO_REPO}@v0.1.0", *endpoint, env=env)
        return (f"\n  hub (TEST)     {server.url}/{DEMO_REPO} (branches ckpt_000.., main, tag "
                f"v0.1.0; dataset {DEMO_REPO}-data); stopped now\n"
                f"  pulled         {out / 'pulled'} (resume: llm360 train --run {out / 'pulled'} "
                f"--resume-from {out / 'pulled'}/checkpoints/ckpt_001)\n"
                f"  publication    {release}/publication.json")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
