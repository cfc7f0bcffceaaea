"""Issue 21, item 8: `llm360 pull` writes only inside --out. A link planted where it stages its
downloads (``OUT/.llm360/pull/<hash>.part``, a name anyone could compute) overwrites nothing
outside, and an ``OUT/.llm360`` that is a link is refused before anything is written."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from click.testing import CliRunner

from llm360.cli.main import cli


def _run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], env={"HF_TOKEN": "t"},
                              catch_exceptions=False)


def _pushed(hub_server, signed_release: Path, hub_keys, repo: str) -> None:
    out = _run("push", signed_release, "--repo", repo, "--endpoint", hub_server.url,
               "--no-xet", "--key", hub_keys[1])
    assert out.exit_code == 0, out.output


def test_a_link_planted_at_a_download_name_is_not_followed(hub_server, signed_release,
                                                          hub_keys, tmp_path: Path) -> None:
    _pushed(hub_server, signed_release, hub_keys, "acme/planted")
    victim = tmp_path / "victim.txt"
    victim.write_text("mine\n")
    parts = tmp_path / "out" / ".llm360" / "pull"
    parts.mkdir(parents=True)
    manifest = json.loads((signed_release / "manifest.json").read_bytes())
    for art in manifest["artifacts"]:  # every name the staging area could use
        name = hashlib.sha256(art["path"].encode()).hexdigest()[:16] + ".part"
        (parts / name).symlink_to(victim)
    out = _run("pull", "acme/planted", "--checkpoint", "ckpt_001", "--out", tmp_path / "out",
               "--endpoint", hub_server.url, "--key", hub_keys[1])
    assert out.exit_code == 0, out.output
    assert victim.read_text() == "mine\n"
    pulled = tmp_path / "out/checkpoints/ckpt_001/model.safetensors"
    assert pulled.read_bytes() == \
        (signed_release / "checkpoints/ckpt_001/model.safetensors").read_bytes()


def test_a_linked_tool_folder_in_out_is_refused(hub_server, signed_release, hub_keys,
                                                tmp_path: Path) -> None:
    _pushed(hub_server, signed_release, hub_keys, "acme/linked")
    outside = tmp_path / "outside"
    outside.mkdir()
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / ".llm360").symlink_to(outside)
    out = _run("pull", "acme/linked", "--checkpoint", "ckpt_001", "--out", tmp_path / "out",
               "--endpoint", hub_server.url, "--key", hub_keys[1])
    lines = [line for line in out.output.splitlines() if line.strip()]
    assert out.exit_code == 2, out.output
    assert lines[0].startswith("error: ") and "goes through a symbolic link" in lines[0]
    assert ".llm360" in lines[0] and "Traceback" not in out.output
    assert list(outside.iterdir()) == []
    assert not (tmp_path / "out" / "checkpoints").exists()
