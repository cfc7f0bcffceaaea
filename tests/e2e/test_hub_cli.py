"""llm360 push / verify --hub / pull / diff end to end through the CLI, against the Hub test
server (huggingface_hub switched online and to LFS by the fixture; endpoint by --endpoint)."""

from __future__ import annotations

import hashlib
import json

import pytest
from click.testing import CliRunner

from llm360.cli.main import cli


def _run(*args, env=None):
    return CliRunner().invoke(cli, [str(a) for a in args], env={"HF_TOKEN": "t", **(env or {})},
                              catch_exceptions=False)


def test_push_verify_pull_diff(hub_server, signed_release, hub_keys, tmp_path):
    url = hub_server.url
    out = _run("push", signed_release, "--repo", "acme/cli", "--endpoint", url, "--no-xet",
               "--key", hub_keys[1], "--json")
    assert out.exit_code == 0, out.output
    assert json.loads(out.output)["commits"] == 5
    out = _run("push", signed_release, "--repo", "acme/cli", "--no-xet", "--key", hub_keys[1],
               env={"HF_ENDPOINT": url})
    assert out.exit_code == 0, out.output
    assert "0 commits, 0 bytes uploaded" in out.output
    out = _run("verify", "--hub", "acme/cli", "--endpoint", url, "--key", hub_keys[1])
    assert out.exit_code == 0, out.output
    assert "VERIFIED" in out.output and "3 checkpoint signatures verified" in out.output
    out = _run("diff", signed_release, "hub:acme/cli@v0.1.0", "--endpoint", url, "--json")
    assert out.exit_code == 0 and json.loads(out.output)["identical"], out.output
    out = _run("pull", "acme/cli", "--checkpoint", "ckpt_001", "--out", tmp_path / "p",
               "--endpoint", url, "--key", hub_keys[1], "--json")
    assert out.exit_code == 0, out.output
    assert (tmp_path / "p/checkpoints/ckpt_001/model.safetensors").read_bytes() == \
        (signed_release / "checkpoints/ckpt_001/model.safetensors").read_bytes()
    hub_server.delete_file("model", "acme/cli", "ckpt_001", "optimizer.safetensors")
    out = _run("verify", "--hub", "acme/cli", "--endpoint", url, "--key", hub_keys[1])
    assert out.exit_code == 1
    assert "FAIL hub:acme/cli@ckpt_001/optimizer.safetensors: missing" in out.output


def test_diff_sees_weights_tampered_on_the_hub(hub_server, signed_release, hub_keys):
    url = hub_server.url
    out = _run("push", signed_release, "--repo", "acme/tamper", "--endpoint", url, "--no-xet",
               "--key", hub_keys[1])
    assert out.exit_code == 0, out.output
    out = _run("diff", signed_release, "hub:acme/tamper", "--endpoint", url)
    assert out.exit_code == 0 and out.output.startswith("identical:"), out.output
    weights = (signed_release / "checkpoints/ckpt_001/model.safetensors").read_bytes()
    other = weights[:-1] + bytes([weights[-1] ^ 1])  # same size, other bytes, same manifest
    hub_server.put_file("model", "acme/tamper", "ckpt_001", "model.safetensors", other,
                        lfs=True)
    out = _run("diff", signed_release, "hub:acme/tamper", "--endpoint", url, "--json")
    assert out.exit_code == 0, out.output
    result = json.loads(out.output)
    assert not result["identical"]
    assert result["files"] == [{
        "path": "checkpoints/ckpt_001/model.safetensors", "field": "sha256",
        "a": hashlib.sha256(weights).hexdigest(), "b": hashlib.sha256(other).hexdigest(),
        "where": "hub:acme/tamper@ckpt_001/model.safetensors"}]
    assert [(m["side"], m["field"]) for m in result["mismatches"]] == [("b", "sha256")]
    out = _run("diff", signed_release, "hub:acme/tamper", "--endpoint", url)
    assert ("~ file checkpoints/ckpt_001/model.safetensors: sha256 "
            f"{hashlib.sha256(weights).hexdigest()[:16]}... -> "
            f"{hashlib.sha256(other).hexdigest()[:16]}... "
            "(hub:acme/tamper@ckpt_001/model.safetensors)") in out.output.splitlines()


@pytest.mark.parametrize("args,code,text", [
    (["verify", "--hub", "acme/none", "--allow-unsigned"], 2, "HTTP 404"),
    (["pull", "acme/none", "--checkpoint", "ckpt_000", "--out", "x", "--allow-unsigned"], 2,
     "HTTP 404"),
])
def test_hub_errors_exit_codes(hub_server, args, code, text, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    out = _run(*args, "--endpoint", hub_server.url)
    assert out.exit_code == code and text in out.output and "hint:" in out.output


def test_wrong_token_is_exit_2(hub_server, signed_release, hub_keys):
    hub_server.token = "right"
    out = _run("push", signed_release, "--repo", "acme/cli", "--endpoint", hub_server.url,
               "--no-xet", "--key", hub_keys[1])
    assert out.exit_code == 2 and "HTTP 401" in out.output and "HF_TOKEN" in out.output
