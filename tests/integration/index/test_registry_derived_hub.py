"""The registry across a derived release, from the Hub test server: a release pushed, a
checkpoint pulled and continued by someone else, built, signed with their key and pushed as a
second repository (manifest ``derived_from``). `registry add` verifies the link with the
--parent options of `verify`; `registry chunk` on a chunk of the first release names the
checkpoint that trained on it and, through lineage, the derived release; `registry derived`
and the web view say the same. On SQLite and PostgreSQL."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from llm360.cli.main import cli
from llm360.registry import layout
from llm360.registry.manifest.serialize import load_manifest
from llm360.registry.run.writer import RunWriter


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], env={"HF_TOKEN": "t"},
                              catch_exceptions=False)


@pytest.fixture
def second_key(tmp_path):
    from llm360.registry.signing import write_key_pair

    write_key_pair(tmp_path / "ft.pem", tmp_path / "ft.pub.pem")
    return tmp_path / "ft.pem", tmp_path / "ft.pub.pem"


def _continue(run_dir) -> None:
    """One more checkpoint on top of the pulled ckpt_001 (RunWriter; no torch)."""
    with RunWriter.open(run_dir, log="logs/train-ft.jsonl") as w:
        base = w.derived_from.checkpoint
        step, tokens = base.step + 4, base.tokens_seen + 128
        rng = np.random.default_rng([7, 1])
        w.write_checkpoint(
            name="ckpt_002", parents=[w.latest or base.name],
            model={"model.embed_tokens.weight": rng.standard_normal(1024, dtype=np.float32)},
            optimizer={"model.embed_tokens.weight.exp_avg": np.zeros(4, np.float32)},
            rng={"torch": np.arange(16, dtype=np.uint8)}, step=step, tokens_seen=tokens,
            data_chunks=[2], metrics={"train_loss": 2.0},
            config={"architectures": ["LlamaForCausalLM"]})
        w.write_eval("ckpt_002", metrics={"heldout_loss": 2.5})
        for s in range(step - 3, step + 1):
            w.log(step=s, loss=2.0, lr=0.0005, tokens_seen=tokens - (step - s) * 32)
    meta = run_dir / layout.RUN_METADATA
    meta.write_text(meta.read_text().replace("name: amber", "name: amber-ft"))


def test_a_derived_release_on_the_hub_is_found_through_lineage(db_url, hub_server, releases,
                                                               hub_keys, second_key, tmp_path):
    url, pub = hub_server.url, hub_keys[1]
    hub = ("--endpoint", url)
    assert run("push", releases["amber"], "--repo", "acme/amber", *hub, "--no-xet", "--key",
               pub).exit_code == 0
    pulled = run("pull", "acme/amber", "--checkpoint", "ckpt_001", "--out", tmp_path / "run2",
                 "--data", *hub, "--key", pub)
    assert pulled.exit_code == 0, pulled.output
    _continue(tmp_path / "run2")
    built = run("release", "build", tmp_path / "run2", "--out", tmp_path / "ft", "--sign",
                "key", "--key", second_key[0], "--created", "2026-11-28T00:00:00Z")
    assert built.exit_code == 0, built.output
    pushed = run("push", tmp_path / "ft", "--repo", "acme/amber-ft", *hub, "--no-xet", "--key",
                 second_key[1], "--parent-key", pub)  # push checks the link, as verify does
    assert pushed.exit_code == 0, pushed.output

    db = ("--db", db_url)
    assert run("registry", "add", "hub:acme/amber", *hub, "--key", pub, *db).exit_code == 0
    # the parent link is checked as `verify` checks it: no parent signer, no index
    blind = run("registry", "add", "hub:acme/amber-ft", *hub, "--key", second_key[1], *db)
    assert blind.exit_code == 1 and "derived_from acme/amber@ckpt_001" in blind.output
    added = run("registry", "add", "hub:acme/amber-ft", *hub, "--key", second_key[1],
                "--parent-key", pub, *db, "--json")
    assert added.exit_code == 0, added.output
    assert f"parent key {pub.resolve()}" in json.loads(added.output)["event"]["policy"]

    chunk = load_manifest(releases["amber"] / "manifest.json").data.chunks[0]
    found = json.loads(run("registry", "chunk", chunk.sha256, *db, "--json").output)
    assert [(t["checkpoint"]["release"]["name"], t["checkpoint"]["name"])
            for t in found["trained"]] == [("amber", "ckpt_000")]
    assert [(c["release"]["name"], c["name"]) for c in found["derived"]] == \
        [("amber-ft", "ckpt_002")]
    down = json.loads(run("registry", "derived", "acme/amber@ckpt_001", *db, "--json").output)
    assert {(c["release"]["name"], c["name"]) for c in down["found"]} == \
        {("amber", "ckpt_002"), ("amber-ft", "ckpt_002")}
    shown = json.loads(run("registry", "show", "acme/amber-ft", *db, "--json").output)
    (link,) = shown["derived_from"]
    assert (link["parent_repo"], link["parent_name"], link["child"]) == \
        ("acme/amber", "ckpt_001", "ckpt_002")

    # re-verification checks the link again with the recorded parent policy
    again = run("registry", "verify", "--all", *db)
    assert again.exit_code == 0 and "2 verified, 0 no longer verify" in again.output

    from llm360.registry.index import open_store
    from llm360.registry.index.web import render_page

    with open_store(db_url) as store:
        status, html = render_page(store, "/chunk", f"q={chunk.sha256}")
    assert status == 200 and 'class="derived-release"' in html and "amber-ft" in html
