"""The main job end to end on the embedded defaults (``make demo``).

Runs, as a user would, each ``llm360`` command in turn: prepare a three-stage data mixture of
corpora that ship with Python itself (English prose: pydoc's documentation topics and the
standard library's docstrings; the standard library's code; its test suite as a code-heavy last
stage, in the spirit of CrystalCoder's three stages), train the tiny preset stage after stage
(one data chunk each), evaluate every checkpoint with lm-evaluation-harness on the benchmark
built from the held-out set, generate a demo signing key, build and sign the release (manifest,
Sigstore bundle, OMS signatures, cards, plots), verify it and grade it (audit). Then, on a Hub
test server on 127.0.0.1, a stranger's loop: push, verify there, pull an intermediate
checkpoint into a second run, continue it as a fork with another learning rate, build and sign
that derived release with a second key, push it as a second repository and verify it on the
Hub with its link to the parent checked.
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

#: the demo's data mixture: every corpus ships with Python ({stdlib}); about 400 KB of text
MIXTURE = """\
# Three stages in the spirit of CrystalCoder's: English first, then code, then a code-heavy
# last stage of the test suite. Every corpus ships with Python itself ({stdlib}).
schema_version: llm360.mixture/v1
sequences_per_chunk: 416
sources:
  - source_name: pydoc-topics
    description: the documentation topics pydoc shows (help("assert"), ...)
    category: english
    license: PSF-2.0
    reader: python-strings
    paths: ["{stdlib}/pydoc_data/topics.py"]
    max_bytes: 60000
  - source_name: docstrings
    description: the docstrings of the standard library's top-level modules
    category: english
    license: PSF-2.0
    reader: python-docstrings
    paths: ["{stdlib}/*.py"]
    max_bytes: 100000
  - source_name: stdlib-code
    description: the standard library's top-level modules
    category: code
    license: PSF-2.0
    reader: python
    paths: ["{stdlib}/*.py"]
    max_bytes: 160000
    max_document_bytes: 8000         # the head of each module: many modules, not a few
  - source_name: stdlib-tests
    description: the standard library's test suite
    category: code
    license: PSF-2.0
    reader: python
    paths: ["{stdlib}/test/test_*.py"]
    max_bytes: 100000
    max_document_bytes: 8000
stages:
  - name: english
    chunks: 1
    sources:
      - {source_name: pydoc-topics, target_ratio: 0.5}
      - {source_name: docstrings, target_ratio: 0.3}
      - {source_name: stdlib-code, target_ratio: 0.2}
  - name: code
    chunks: 1
    sources:   # the topics' second epoch begins here (repeated rows are counted)
      - {source_name: pydoc-topics, target_ratio: 0.2, max_repetition_ratio: 2}
      - {source_name: docstrings, target_ratio: 0.3}
      - {source_name: stdlib-code, target_ratio: 0.5}
  - name: tests
    chunks: 1
    schedule: {lr: 0.001, min_lr: 0.0001, warmup_steps: 5}   # its own learning rates
    sources:
      - {source_name: docstrings, target_ratio: 0.1}
      - {source_name: stdlib-code, target_ratio: 0.3}
      - {source_name: stdlib-tests, target_ratio: 0.6}
"""

#: the release's metadata: the links its contents need for the highest class they allow (the
#: code is in the release itself; the data's PSF-2.0 is not an open license in the MOF's sense)
METADATA = """\
name: llm360-tiny
version: 0.1.0
description: >-
  A tiny LLaMA (about 1 M parameters) pretrained with llm360 in three stages on a data mixture
  of corpora that ship with Python (pydoc's documentation topics and docstrings, the standard
  library's code, its test suite), to show an LLM360-style release end to end. The paper
  linked describes the LLM360 framework this release follows.
authors: [llm360 demo]
language: [en, code]
licenses: {weights: Apache-2.0, code: Apache-2.0, data: PSF-2.0, documentation: CC-BY-4.0}
links:
  paper: https://arxiv.org/abs/2312.06550
"""


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
    args = parser.parse_args(argv)
    if args.out.is_symlink():
        sys.exit(f"demo: {args.out} is a symbolic link; refusing to replace what it points to "
                 "(pass --out with a new folder)")
    out = args.out.resolve()
    if out.exists():
        stamp = out / STAMP
        if stamp.is_symlink() or not stamp.is_file():
            sys.exit(f"demo: {out} exists and was not made by the demo; refusing to replace it "
                     "(pass --out with a new folder)")
        shutil.rmtree(out)
    out.mkdir(parents=True)
    (out / STAMP).write_text("made by `python -m llm360.demo`; replaced by the next demo\n")
    run, release, keys = out / "llm360-tiny", out / "release", out / "keys"
    (out / "mixture.yaml").write_text(MIXTURE)
    _run("data", "prepare", "--run", str(run), "--mixture", str(out / "mixture.yaml"))
    (run / layout.RUN_METADATA).write_text(METADATA)   # what the team says about its release
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
    _run("audit", str(release))
    hub = _hub_demo(release, keys / "demo-key.pub.pem", out)
    print(f"""
demo done:
  run directory  {run}
  release        {release}/manifest.json  (signed: manifest.sigstore.json, signatures/)
  model card     {release}/README.md  (checkpoint cards in {release}/cards/)
  data card      {release}/DATA_CARD.md  (the mixture per stage; plots/data_mixture.png)
  mixture        {out / "mixture.yaml"}  (kept in the run as config/mixture.yaml)
  training code  {release}/{layout.CODE_ARCHIVE}
  plots          {release}/plots/
  benchmarks     {release}/{layout.BENCHMARK_ROWS} (raw harness results beside it)
  exports        {release}/croissant.json, bom.spdx.json, bom.cdx.json  (llm360 export)
  demo key       {keys}/demo-key.pub.pem  (DEMO ONLY)""" + hub)


TEST_SERVER = Path(__file__).resolve().parents[1] / "tests" / "hub_server" / "server.py"
DEMO_REPO = "demo/llm360-tiny"
FORK_REPO = "demo/llm360-tiny-fork"
#: the derived release's metadata (the pulled run holds the parent's llm360.yaml)
FORK_METADATA = f"""\
name: llm360-tiny-fork
version: 0.1.0
description: >-
  A fork of llm360-tiny: its checkpoint ckpt_000, pulled from the Hub, trained on the next
  data chunk with a lower learning rate. The release references the parent checkpoint (by
  repository, commit, manifest sha256 and root digest) instead of holding it.
authors: [llm360 demo]
language: [en, code]
licenses: {{weights: Apache-2.0, code: Apache-2.0, data: PSF-2.0, documentation: CC-BY-4.0}}
links:
  paper: https://arxiv.org/abs/2312.06550
  hub: https://huggingface.co/{FORK_REPO}
"""
#: the fork's hyperparameters: another learning rate than the parent's 3e-3
FORK_CONFIG = '{"train": {"lr": 0.001, "min_lr": 0.0001}}\n'


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
        fork = _fork_demo(public_key, out, endpoint, env)
        return (f"\n  hub (TEST)     {server.url}/{DEMO_REPO} (branches ckpt_000.., main, tag "
                f"v0.1.0; dataset {DEMO_REPO}-data); stopped now\n"
                f"  pulled         {out / 'pulled'} (resume: llm360 train --run {out / 'pulled'} "
                f"--resume-from {out / 'pulled'}/checkpoints/ckpt_001)\n"
                f"  publication    {release}/publication.json" + fork)
    finally:
        server.stop()


def _fork_demo(parent_key: Path, out: Path, endpoint: list[str], env: dict) -> str:
    """A stranger's loop on the Hub test server: pull an intermediate checkpoint, continue it
    as a fork with another learning rate, release it signed with a second key, push it as a
    second repository and verify it there with its link to the parent checked."""
    run, release, keys = out / "llm360-tiny-fork", out / "release-fork", out / "keys"
    key, pub = keys / "fork-key.pem", keys / "fork-key.pub.pem"
    print("\nA derived release: someone else continues ckpt_000 with another learning rate.")
    _run("pull", DEMO_REPO, "--checkpoint", "ckpt_000", "--out", str(run), "--data", "--key",
         str(parent_key), *endpoint, env=env)
    (run / layout.RUN_METADATA).write_text(FORK_METADATA)   # their release, their metadata
    (out / "fork-config.json").write_text(FORK_CONFIG)
    _run("train", "--run", str(run), "--resume-from",
         str(run / layout.checkpoint_dir("ckpt_000")), "--config", str(out / "fork-config.json"),
         "--max-checkpoints", "1")
    _run("keygen", "--private", str(key), "--public", str(pub))
    _run("release", "build", str(run), "--out", str(release), "--sign", "key", "--key", str(key))
    _run("push", str(release), "--repo", FORK_REPO, "--key", str(pub), "--parent-key",
         str(parent_key), *endpoint, env=env)
    _run("verify", "--hub", FORK_REPO, "--key", str(pub), "--parent-key", str(parent_key),
         *endpoint, env=env)
    _run("lineage", str(release), *endpoint, env=env)
    return (f"\n  derived run    {run} (pulled ckpt_000, trained as a fork: "
            f"{layout.DERIVED_FROM})\n"
            f"  derived        {release}/manifest.json (llm360.manifest/v1.3 derived_from "
            f"{DEMO_REPO}@ckpt_000; signed with {pub}, DEMO ONLY)\n"
            f"  hub (TEST)     {FORK_REPO} (its parent checkpoint is referenced, not "
            "uploaded again)")


if __name__ == "__main__":
    main()
