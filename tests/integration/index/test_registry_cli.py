"""`llm360 registry` end to end through the CLI, on SQLite and on a real PostgreSQL server:
add (verified with the trust options of `verify`), list, show, chunk, derived, ancestors,
history and verify, with real signed releases."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from llm360.cli.main import cli
from llm360.registry.manifest.serialize import load_manifest


def run(*args, env=None):
    return CliRunner().invoke(cli, [str(a) for a in args], env=env, catch_exceptions=False)


def ok_json(*args):
    result = run(*args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_add_twice_records_an_event_and_nothing_else(db_url, releases, hub_keys):
    pub = hub_keys[1]
    first = ok_json("registry", "add", releases["amber"], "--key", pub, "--db", db_url)
    assert first["ok"] and first["new"] and first["event"]["ok"]
    assert first["event"]["signer"].startswith("key ")
    again = ok_json("registry", "add", releases["amber"], "--key", pub, "--db", db_url)
    assert not again["new"] and again["release"] == first["release"]

    listed = ok_json("registry", "list", "--db", db_url)["releases"]
    assert [(r["release"]["name"], r["state"], r["checkpoints"], r["chunks"]) for r in listed] \
        == [("amber", "verified", 3, 3)]
    history = ok_json("registry", "history", "amber", "--db", db_url)
    assert [e["action"] for e in history["events"]] == ["add", "add"]
    assert all(e["ok"] and str(pub.resolve()) in e["policy"] for e in history["events"])

    shown = ok_json("registry", "show", "amber", "--db", db_url)
    manifest = load_manifest(releases["amber"] / "manifest.json")
    assert [c["checkpoint"]["name"] for c in shown["checkpoints"]] == \
        [c.name for c in manifest.checkpoints]
    assert [c["parents"] for c in shown["checkpoints"]] == [[], ["ckpt_000"], ["ckpt_001"]]
    assert dict(map(tuple, shown["checkpoints"][2]["metrics"]))["heldout_loss"] == \
        manifest.checkpoints[2].metrics["heldout_loss"]
    assert shown["summary"]["signer"].startswith("key ") and len(shown["history"]) == 2

    text = run("registry", "list", "--db", db_url)
    assert "amber 0.1.0  verified" in text.output


def test_chunk_names_the_checkpoint_and_step_window(db_url, releases, hub_keys):
    for name in ("amber", "amber-more"):
        ok_json("registry", "add", releases[name], "--key", hub_keys[1], "--db", db_url)
    manifest = load_manifest(releases["amber"] / "manifest.json")
    chunk = manifest.data.chunks[1]
    for query in (chunk.sha256, chunk.merkle_root):
        found = ok_json("registry", "chunk", query, "--db", db_url)
        trained = {(t["checkpoint"]["release"]["name"], t["checkpoint"]["name"],
                    t["first_step"], t["last_step"]) for t in found["trained"]}
        assert trained == {("amber", "ckpt_001", 5, 8), ("amber-more", "ckpt_001", 5, 8)}
    text = run("registry", "chunk", chunk.sha256, "--db", db_url).output
    assert "trained: amber 0.1.0 ckpt_001 (chunk 1, steps 5-8, 128 tokens)" in text


def test_derived_and_ancestors_cross_releases(db_url, releases, hub_keys):
    # amber-more continues amber: its ckpt_003 has amber's ckpt_002 (same bytes) as parent
    for name in ("amber", "amber-more"):
        ok_json("registry", "add", releases[name], "--key", hub_keys[1], "--db", db_url)
    found = ok_json("registry", "derived", "amber", "--db", db_url)["found"]
    assert [(c["release"]["name"], c["name"]) for c in found] == \
        [("amber-more", "ckpt_003"), ("amber-more", "ckpt_004")]
    found = ok_json("registry", "derived", "amber@ckpt_001", "--db", db_url)["found"]
    assert ("amber", "ckpt_002") in {(c["release"]["name"], c["name"]) for c in found}
    assert ("amber-more", "ckpt_004") in {(c["release"]["name"], c["name"]) for c in found}
    digest = load_manifest(releases["amber-more"] / "manifest.json").checkpoint(
        "ckpt_004").root_digest
    up = ok_json("registry", "ancestors", digest, "--db", db_url)["found"]
    assert {c["name"] for c in up} >= {"ckpt_000", "ckpt_001", "ckpt_002", "ckpt_003"}
    ckpt = ok_json("registry", "show", "amber-more@ckpt_003", "--db", db_url)
    assert ckpt["info"]["checkpoint"]["step"] == 16 and ckpt["info"]["parents"] == ["ckpt_002"]
    assert run("registry", "derived", "amber-more", "--db", db_url).output.startswith(
        "amber-more: nothing derives from it")


def test_unverified_is_refused_unless_allowed_and_recorded(db_url, release_copy, hub_keys,
                                                           tmp_path):
    tampered = release_copy("amber")
    (tampered / "evals/ckpt_001.json").write_text("{}")
    refused = run("registry", "add", tampered, "--key", hub_keys[1], "--db", db_url)
    assert refused.exit_code == 1, refused.output
    assert "does not verify, not indexed" in refused.output and "evals/ckpt_001.json" in \
        refused.output
    assert ok_json("registry", "list", "--db", db_url)["releases"] == []

    added = ok_json("registry", "add", tampered, "--key", hub_keys[1], "--allow-unverified",
                    "--db", db_url)
    assert added["event"]["allow_unverified"] and not added["event"]["ok"]
    assert "evals/ckpt_001.json" in added["event"]["summary"]
    listed = ok_json("registry", "list", "--db", db_url)["releases"]
    assert [r["state"] for r in listed] == ["unverified"]

    from llm360.registry.signing import write_key_pair

    write_key_pair(tmp_path / "other.pem", tmp_path / "other.pub.pem")
    wrong_key = run("registry", "add", release_copy("amber-more"), "--key",
                    tmp_path / "other.pub.pem", "--db", db_url)
    assert wrong_key.exit_code == 1 and "not indexed" in wrong_key.output


def test_verify_all_names_what_no_longer_verifies(db_url, release_copy, hub_keys):
    good, bad = release_copy("amber"), release_copy("amber-more")
    for rel in (good, bad):
        ok_json("registry", "add", rel, "--key", hub_keys[1], "--db", db_url)
    first = ok_json("registry", "verify", "--all", "--db", db_url)
    assert first["ok"] and len(first["outcomes"]) == 2

    (bad / "checkpoints/ckpt_004/model.safetensors").write_bytes(b"changed")
    result = run("registry", "verify", "--all", "--db", db_url)
    assert result.exit_code == 1, result.output
    assert "FAILED: amber-more 0.1.0" in result.output
    assert "checkpoints/ckpt_004/model.safetensors" in result.output
    assert "1 verified, 1 no longer verify" in result.output
    history = ok_json("registry", "history", "amber-more", "--db", db_url)["events"]
    assert [(e["action"], e["ok"]) for e in history] == \
        [("add", True), ("reverify", True), ("reverify", False)]
    listed = {r["release"]["name"]: r["state"]
              for r in ok_json("registry", "list", "--db", db_url)["releases"]}
    assert listed == {"amber": "verified", "amber-more": "failed"}

    import shutil

    shutil.rmtree(good)
    gone = run("registry", "verify", "amber", "--db", db_url)
    assert gone.exit_code == 1 and "FAILED: amber 0.1.0" in gone.output


@pytest.mark.parametrize("args,message", [
    (("show", "nope"), "nope: no release nope in the registry"),
    (("chunk", "xyz"), "xyz: not a chunk sha256 or Merkle root"),
    (("derived", "amber@ckpt_999"), "release amber has no checkpoint or version ckpt_999"),
    (("history", "f" * 64), "no checkpoint root digest or manifest sha256"),
])
def test_bad_references_are_one_line_errors(db_url, releases, hub_keys, args, message):
    ok_json("registry", "add", releases["amber"], "--key", hub_keys[1], "--db", db_url)
    result = run("registry", *args, "--db", db_url)
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output


def test_database_from_environment_and_default(releases, hub_keys, tmp_path, monkeypatch):
    path = tmp_path / "env.db"
    ok_json("registry", "add", releases["amber"], "--key", hub_keys[1], "--db", path)
    listed = CliRunner().invoke(cli, ["registry", "list", "--json"],
                                env={"LLM360_REGISTRY": str(path)})
    assert len(json.loads(listed.output)["releases"]) == 1
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.delenv("LLM360_REGISTRY", raising=False)
    assert ok_json("registry", "list")["releases"] == []
    assert (tmp_path / "data/llm360/registry.db").is_file()


def test_unreachable_database_is_one_line(tmp_path):
    result = run("registry", "list", "--db", "postgresql://nobody@127.0.0.1:1/none")
    assert result.exit_code == 2 and "registry database postgresql://nobody@127.0.0.1:1/none" \
        in result.output
    result = run("registry", "list", "--db", "mysql://x/y")
    assert result.exit_code == 2 and "unsupported database" in result.output


def test_a_file_that_is_not_a_database_is_one_line_and_kept(tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("not a database\n")
    result = run("registry", "list", "--db", f"sqlite:///{notes}")
    assert result.exit_code == 2 and f"registry database sqlite:///{notes}" in result.output
    assert "not a database" in result.output
    assert notes.read_text() == "not a database\n"
