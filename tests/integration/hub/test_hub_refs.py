"""Every command that reads a release takes hub:ORG/NAME[@REV] (issue 22): audit, lineage,
trace and card of a release pushed to the Hub test server say what they say of its folder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from safetensors.numpy import load_file

from llm360.cli.main import cli
from llm360.registry.hub import push_release

REPO = "acme/refs"


def _run(*args) -> tuple[int, str]:
    res = CliRunner().invoke(cli, [str(a) for a in args], env={"HF_TOKEN": "t"},
                             catch_exceptions=False)
    return res.exit_code, res.output


@pytest.fixture
def pushed(trust, hub_server, hub_client, signed_release):
    push_release(hub_client, signed_release, REPO, policy=trust)
    return signed_release, ["--endpoint", hub_server.url]


@pytest.mark.parametrize("command", [["audit"], ["lineage"],
                                     ["lineage", "--checkpoint", "ckpt_002"]])
def test_audit_and_lineage_of_a_hub_release_are_those_of_its_folder(pushed, command):
    release, endpoint = pushed
    code, local = _run(*command, release, "--json")
    assert code == 0, local
    code, remote = _run(*command, f"hub:{REPO}", *endpoint, "--json")
    assert code == 0, remote
    assert json.loads(remote) == json.loads(local)


def test_trace_of_a_hub_release_downloads_and_checks_the_chunks(pushed, tmp_path):
    release, endpoint = pushed
    row = load_file(str(release / "data/chunk_001.safetensors"))["tokens"][3]
    tokens = tmp_path / "tokens.json"
    tokens.write_text(json.dumps([int(t) for t in row[5:25]]))
    code, local = _run("trace", release, "--tokens", tokens, "--json")
    assert code == 0, local
    code, remote = _run("trace", f"hub:{REPO}@main", "--tokens", tokens, *endpoint, "--json")
    assert code == 0, remote
    found = json.loads(remote)
    assert found == json.loads(local)
    assert any(m["chunk"] == 1 and 3 in m["rows"] for m in found["matches"])


def test_card_of_a_hub_release_is_the_card_of_its_folder(pushed, hub_keys, tmp_path: Path):
    release, endpoint = pushed
    key = ["--key", hub_keys[1]]
    code, out = _run("card", release, "--out", tmp_path / "local", *key)
    assert code == 0, out
    code, out = _run("card", f"hub:{REPO}", "--out", tmp_path / "hub", *key, *endpoint)
    assert code == 0, out
    local = sorted(p.relative_to(tmp_path / "local") for p in (tmp_path / "local").rglob("*")
                   if p.is_file())
    assert local and local == sorted(p.relative_to(tmp_path / "hub")
                                     for p in (tmp_path / "hub").rglob("*") if p.is_file())
    for rel in local:
        assert (tmp_path / "hub" / rel).read_bytes() == (tmp_path / "local" / rel).read_bytes()


def test_a_hub_release_that_is_not_there_is_bad_input(hub_server):
    code, out = _run("audit", f"hub:{REPO}", "--endpoint", hub_server.url)
    assert code == 2, out
