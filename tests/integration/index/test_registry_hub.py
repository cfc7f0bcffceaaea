"""`registry add hub:ORG/NAME[@REV]` and `registry verify` against the Hub test server (the
real huggingface_hub client over HTTP), on SQLite and PostgreSQL."""

from __future__ import annotations

import json

from click.testing import CliRunner

from llm360.cli.main import cli
from llm360.registry.manifest.serialize import load_manifest


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], env={"HF_TOKEN": "t"},
                              catch_exceptions=False)


def test_add_from_the_hub_then_reverify(db_url, hub_server, releases, hub_keys):
    url, pub = hub_server.url, hub_keys[1]
    pushed = run("push", releases["amber"], "--repo", "acme/amber", "--endpoint", url,
                 "--no-xet", "--key", pub, "--json")
    assert pushed.exit_code == 0, pushed.output
    added = run("registry", "add", "hub:acme/amber@v0.1.0", "--endpoint", url, "--key", pub,
                "--db", db_url, "--json")
    assert added.exit_code == 0, added.output
    data = json.loads(added.output)
    assert data["new"] and data["event"]["ok"] and data["release"]["repo"] == "acme/amber"
    assert data["event"]["location"] == "hub:acme/amber@v0.1.0"
    local = run("registry", "add", releases["amber-more"], "--key", pub, "--db", db_url)
    assert local.exit_code == 0, local.output

    # the repo names the release and its checkpoints
    shown = json.loads(run("registry", "show", "acme/amber@ckpt_001", "--db", db_url,
                           "--json").output)
    assert shown["info"]["checkpoint"]["release"]["repo"] == "acme/amber"
    chunk = load_manifest(releases["amber"] / "manifest.json").data.chunks[0]
    found = json.loads(run("registry", "chunk", chunk.sha256, "--db", db_url, "--json").output)
    assert {t["checkpoint"]["release"]["name"] for t in found["trained"]} == \
        {"amber", "amber-more"}

    again = run("registry", "verify", "--all", "--db", db_url)
    assert again.exit_code == 0 and "2 verified, 0 no longer verify" in again.output

    hub_server.delete_file("model", "acme/amber", "ckpt_001", "optimizer.safetensors")
    broken = run("registry", "verify", "--all", "--db", db_url)
    assert broken.exit_code == 1, broken.output
    assert "FAILED: amber 0.1.0 at hub:acme/amber@v0.1.0" in broken.output
    assert "ckpt_001" in broken.output and "optimizer.safetensors" in broken.output
    history = json.loads(run("registry", "history", "acme/amber", "--db", db_url,
                             "--json").output)["events"]
    assert [(e["action"], e["ok"]) for e in history] == \
        [("add", True), ("reverify", True), ("reverify", False)]


def test_a_missing_hub_repo_is_one_line(db_url, hub_server, hub_keys):
    result = run("registry", "add", "hub:acme/none", "--endpoint", hub_server.url, "--key",
                 hub_keys[1], "--db", db_url)
    assert result.exit_code == 2, result.output
    assert "acme/none" in result.output and "Traceback" not in result.output
    bad = run("registry", "add", "hub:nonsense", "--db", db_url)
    assert bad.exit_code == 2 and "expected hub:ORG/NAME" in bad.output
