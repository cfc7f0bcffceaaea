"""Derived releases end to end through the CLI against the Hub test server: a stranger pulls a
checkpoint of a published release, continues it, builds, signs with their own key, pushes a
second repository; verify (local and --hub) proves the link to the parent checkpoint, and fails
naming the link when the parent's checkpoint is tampered with on the Hub, when derived_from
names a digest the parent does not list, or when the parent is signed by another key than the
one given; three generations show the whole chain in lineage; bad links are one-line errors.

Synthetic runs (RunWriter, numpy): no torch, a few seconds."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from llm360.cli.main import cli
from llm360.registry import layout
from llm360.registry.run.derived import read_derived_from, write_derived_from
from llm360.registry.run.writer import RunWriter

BASE, FT, FT2 = "acme/base", "acme/base-ft", "acme/base-ft2"


def _run(*args, env=None):
    return CliRunner().invoke(cli, [str(a) for a in args], env={"HF_TOKEN": "t", **(env or {})},
                              catch_exceptions=False)


@pytest.fixture(scope="module")
def second_key(tmp_path_factory) -> tuple[Path, Path]:
    from llm360.registry.signing import write_key_pair

    folder = tmp_path_factory.mktemp("secondkey")
    write_key_pair(folder / "key.pem", folder / "key.pub.pem")
    return folder / "key.pem", folder / "key.pub.pem"


def _rename(run: Path, name: str) -> None:
    meta = (run / layout.RUN_METADATA).read_text().replace("name: synthetic-tiny",
                                                           f"name: {name}")
    (run / layout.RUN_METADATA).write_text(meta)


def _continue(run: Path, *, name: str, log: str, new_chunk: bool = False, seed: int = 7) -> str:
    """Train one more checkpoint on top of the run's latest (a pulled one): RunWriter."""
    with RunWriter.open(run, log=log) as w:
        parent = w.latest
        state_file = run / layout.checkpoint_file(parent or "-", layout.TRAINER_STATE)
        state = json.loads(state_file.read_text()) if state_file.is_file() else None
        step = (state["step"] if state else w.derived_from.checkpoint.step) + 4
        tokens = (state["tokens_seen"] if state else w.derived_from.checkpoint.tokens_seen) + 128
        chunk = (state["position"]["chunk"] if state else 2)
        if new_chunk:
            rng = np.random.default_rng([seed, 0])
            chunk = w.add_chunk(rng.integers(0, 256, size=(8, 16), dtype=np.int32),
                                sources=["doc-new"]).index
        rng = np.random.default_rng([seed, 1])
        ckpt = w.write_checkpoint(
            name=name, parents=[parent or w.derived_from.checkpoint.name],
            model={"model.embed_tokens.weight": rng.standard_normal(1024, dtype=np.float32)},
            optimizer={"model.embed_tokens.weight.exp_avg": np.zeros(4, np.float32)},
            rng={"torch": np.arange(16, dtype=np.uint8)}, step=step, tokens_seen=tokens,
            data_chunks=[chunk], metrics={"train_loss": 2.0},
            config={"architectures": ["LlamaForCausalLM"]})
        w.write_eval(ckpt.name, metrics={"heldout_loss": 2.5})
        for s in range(step - 3, step + 1):
            w.log(step=s, loss=2.0, lr=0.0005, tokens_seen=tokens - (step - s) * 32)
    _rename(run, name="derived-" + ckpt.name.replace("_", "-"))
    return ckpt.name


@pytest.fixture
def published(hub_server, signed_release, hub_keys, second_key, tmp_path):
    """(url, parent release, derived release): acme/base pushed, ckpt_001 pulled, continued
    into ckpt_002, built and signed with a second key, pushed as acme/base-ft."""
    url = hub_server.url
    out = _run("push", signed_release, "--repo", BASE, "--endpoint", url, "--no-xet", "--key",
               hub_keys[1])
    assert out.exit_code == 0, out.output
    run = tmp_path / "run2"
    out = _run("pull", BASE, "--checkpoint", "ckpt_001", "--out", run, "--data", "--endpoint",
               url, "--key", hub_keys[1], "--json")
    assert out.exit_code == 0, out.output
    assert json.loads(out.output)["derived_from"]["link"] == f"{BASE}@ckpt_001"
    link = read_derived_from(run)
    assert (link.relation, link.release.repo, link.checkpoint.name) == \
        ("continuation", BASE, "ckpt_001")
    assert link.release.revision == hub_server.repos[("model", BASE)].branches["main"]
    assert link.release.manifest_sha256 == hashlib.sha256(
        (signed_release / "manifest.json").read_bytes()).hexdigest()
    assert _continue(run, name="ckpt_002", log="logs/train-ft.jsonl") == "ckpt_002"
    checked = _run("run", "check", run)  # the pulled parent is referenced, not the run's own
    assert checked.exit_code == 0, checked.output
    release = tmp_path / "rel2"
    out = _run("release", "build", run, "--out", release, "--sign", "key", "--key",
               second_key[0], "--created", "2026-11-28T00:00:00Z")
    assert out.exit_code == 0, out.output
    return url, signed_release, release


def test_derived_release_references_its_parent_and_verifies(published, hub_server, hub_keys,
                                                            second_key, tmp_path):
    url, parent, release = published
    manifest = json.loads((release / "manifest.json").read_text())
    assert manifest["schema_version"] == "llm360.manifest/v1.3"
    assert [c["name"] for c in manifest["checkpoints"]] == ["ckpt_002"]
    assert manifest["checkpoints"][0]["parents"] == ["ckpt_001"]
    assert manifest["derived_from"]["checkpoint"]["name"] == "ckpt_001"
    assert not (release / "checkpoints/ckpt_001").exists()  # referenced, not copied
    assert not any(a["path"].startswith("checkpoints/ckpt_001/") for a in manifest["artifacts"])
    card = (release / "README.md").read_text()
    header = card.split("---\n")[1]
    assert f"base_model: {BASE}" in header and "base_model_relation" not in header
    assert f"https://huggingface.co/{BASE}/tree/ckpt_001" in card
    # the exports name the parent checkpoint as another release's, not as a component here
    cdx = json.loads((release / "bom.cdx.json").read_text())
    [ancestor] = cdx["components"][0]["pedigree"]["ancestors"]
    assert (ancestor["group"], ancestor["name"]) == ("synthetic-tiny", "ckpt_001")
    refs = {c["bom-ref"] for c in cdx["components"]}
    assert all(d in refs or not d.startswith("checkpoint:")
               for dep in cdx["dependencies"] for d in dep.get("dependsOn", ()))
    try:
        from cyclonedx.schema import SchemaVersion
        from cyclonedx.validation.json import JsonStrictValidator
    except ImportError:
        pass
    else:
        assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(
            (release / "bom.cdx.json").read_text()) is None

    ok = _run("verify", release, "--key", second_key[1], "--parent-key", hub_keys[1],
              "--endpoint", url)
    assert ok.exit_code == 0, ok.output
    assert f"parent link verified: continuation of {BASE}@ckpt_001" in ok.output
    local = _run("verify", release, "--key", second_key[1], "--parent", parent,
                 "--parent-key", hub_keys[1], "--json")
    assert local.exit_code == 0, local.output
    assert json.loads(local.output)["parent"]["checked"] is True
    # not checkable without the parent's key: a failure unless opted out, and then printed
    blind = _run("verify", release, "--key", second_key[1], "--endpoint", url)
    assert blind.exit_code == 1 and "FAIL derived_from acme/base@ckpt_001" in blind.output
    opted = _run("verify", release, "--key", second_key[1], "--endpoint", url,
                 "--allow-unverified-parent", "--json")
    assert opted.exit_code == 0, opted.output
    assert "--allow-unverified-parent" in json.loads(opted.output)["opt_outs"]

    unchecked = _run("push", release, "--repo", FT, "--endpoint", url, "--no-xet", "--key",
                     second_key[1])  # push verifies first, the parent link included
    assert unchecked.exit_code == 1 and "derived_from acme/base@ckpt_001" in unchecked.output
    pushed = _run("push", release, "--repo", FT, "--endpoint", url, "--no-xet", "--key",
                  second_key[1], "--parent-key", hub_keys[1])
    assert pushed.exit_code == 0, pushed.output
    # the data chunks the parent published are not uploaded again (same LFS objects)
    chunk = hashlib.sha256((release / "data/chunk_000.safetensors").read_bytes()).hexdigest()
    assert sum(f"/lfs-upload/{chunk}" in x.path for x in hub_server.log) == 1
    hub = _run("verify", "--hub", FT, "--endpoint", url, "--key", second_key[1],
               "--parent-key", hub_keys[1])
    assert hub.exit_code == 0, hub.output
    assert "parent link verified" in hub.output

    # a parent signed by another key than the one given
    other = _run("verify", "--hub", FT, "--endpoint", url, "--key", second_key[1],
                 "--parent-key", second_key[1])
    assert other.exit_code == 1
    assert "FAIL derived_from acme/base@ckpt_001" in other.output and "wrong key" in other.output

    # the parent's checkpoint tampered with on the Hub
    weights = (parent / "checkpoints/ckpt_001/model.safetensors").read_bytes()
    hub_server.put_file("model", BASE, "ckpt_001", "model.safetensors",
                        weights[:-1] + bytes([weights[-1] ^ 1]), lfs=True)
    for args in ((release,), ("--hub", FT)):
        bad = _run("verify", *args, "--endpoint", url, "--key", second_key[1], "--parent-key",
                   hub_keys[1])
        assert bad.exit_code == 1, bad.output
        assert "FAIL derived_from acme/base@ckpt_001" in bad.output
        assert "does not verify" in bad.output and "ckpt_001/model.safetensors" in bad.output


def test_a_digest_the_parent_does_not_list_fails_naming_the_link(published, hub_keys,
                                                                 second_key, tmp_path):
    url, parent, _ = published
    run = tmp_path / "run-bad"
    out = _run("pull", BASE, "--checkpoint", "ckpt_001", "--out", run, "--data", "--endpoint",
               url, "--key", hub_keys[1])
    assert out.exit_code == 0, out.output
    shutil.rmtree(run / "checkpoints/ckpt_001")  # no copy: the link alone names the parent
    link = read_derived_from(run)
    wrong = dataclasses.replace(link, checkpoint=dataclasses.replace(link.checkpoint,
                                                                     root_digest="ab" * 32))
    write_derived_from(run, wrong, replace=True)
    _continue(run, name="ckpt_002", log="logs/train-ft.jsonl")
    release = tmp_path / "rel-bad"
    built = _run("release", "build", run, "--out", release, "--sign", "key", "--key",
                 second_key[0])
    assert built.exit_code == 0, built.output
    bad = _run("verify", release, "--key", second_key[1], "--parent-key", hub_keys[1],
               "--endpoint", url)
    assert bad.exit_code == 1, bad.output
    assert (f"FAIL derived_from {BASE}@ckpt_001 (hub:{BASE}@" in bad.output
            and f"not the {'ab' * 32} derived_from records" in bad.output)


def test_three_generations_show_the_whole_chain(published, hub_server, hub_keys, second_key,
                                                tmp_path):
    url, parent, release = published
    assert _run("push", release, "--repo", FT, "--endpoint", url, "--no-xet", "--key",
                second_key[1], "--parent-key", hub_keys[1]).exit_code == 0
    run = tmp_path / "run3"
    out = _run("pull", FT, "--checkpoint", "ckpt_002", "--out", run, "--data", "--endpoint",
               url, "--key", second_key[1])
    assert out.exit_code == 0, out.output
    assert read_derived_from(run).label == f"{FT}@ckpt_002"  # not the parent's own link
    _continue(run, name="ckpt_003", log="logs/train-ft2.jsonl", new_chunk=True)
    rel3 = tmp_path / "rel3"
    assert _run("release", "build", run, "--out", rel3, "--sign", "key", "--key",
                second_key[0]).exit_code == 0
    chain = f"{BASE}@ckpt_001 -> {FT}@ckpt_002 -> ckpt_003 (this release)"
    shown = _run("lineage", rel3, "--endpoint", url)
    assert shown.exit_code == 0, shown.output
    assert f"releases: {chain}" in shown.output
    assert "continues acme/base-ft@ckpt_002" in shown.output
    offline = _run("lineage", rel3, "--offline", "--parent", release, "--parent", parent,
                   "--json")
    assert offline.exit_code == 0, offline.output
    data = json.loads(offline.output)
    assert [g["link"] for g in data["derived_from"]] == [f"{FT}@ckpt_002", f"{BASE}@ckpt_001"]
    assert [g["release"]["name"] for g in data["derived_from"]] == \
        ["derived-ckpt-002", "synthetic-tiny"]
    wrong = _run("lineage", rel3, "--offline", "--parent", rel3)  # itself: no ancestor
    assert wrong.exit_code == 2, wrong.output
    assert f"--parent {rel3}: its manifest (sha256 " in wrong.output
    assert "is not one this release descends from" in wrong.output
    skipped = _run("lineage", rel3, "--offline", "--parent", parent)  # a grandparent alone
    assert skipped.exit_code == 2 and "the chain stops before it" in skipped.output
    underived = _run("lineage", parent, "--offline", "--parent", release)  # derives from none
    assert underived.exit_code == 2 and "is not one this release descends" in underived.output
    partial = _run("lineage", rel3, "--offline")
    assert partial.exit_code == 0
    assert "[its manifest is not at hand" in partial.output
    assert "tokens (its manifest is not at hand" in partial.output  # no "not read: " twice
    ok = _run("verify", rel3, "--key", second_key[1], "--parent-key", second_key[1],
              "--endpoint", url)
    assert ok.exit_code == 0, ok.output


def test_bad_links_are_one_line_errors(published, hub_server, hub_keys, second_key, tmp_path):
    url, _, release = published
    missing = _run("pull", BASE, "--checkpoint", "ckpt_001", "--revision", "v9.9", "--out",
                   tmp_path / "p", "--endpoint", url, "--key", hub_keys[1])
    assert missing.exit_code == 2 and "no such branch or tag" in missing.output
    assert "Traceback" not in missing.output
    folder = tmp_path / "hf"
    folder.mkdir()
    shutil.copy(release / "checkpoints/ckpt_002/model.safetensors", folder)
    (folder / "config.json").write_text('{"architectures": ["LlamaForCausalLM"]}')
    for spec, want in (("hub:acme/nothere@ckpt_001", "nothere"),
                       ("nonsense", "expected hub:ORG/NAME@CHECKPOINT"),
                       (f"hub:{BASE}@main", "not a checkpoint name")):
        out = _run("run", "import-checkpoints", folder, "--run", tmp_path / f"ft-{len(want)}",
                   "--tokens-per-step", "64", "--seq-len", "16", "--derived-from", spec,
                   "--parent-key",
                   hub_keys[1], "--endpoint", url)
        assert out.exit_code == 2, (spec, out.output)
        assert want in out.output and len(out.output.strip().splitlines()) <= 2, out.output
    # a malformed config/derived_from.json: release build names the file and the key
    run = tmp_path / "run-malformed"
    assert _run("pull", BASE, "--checkpoint", "ckpt_001", "--out", run, "--data", "--endpoint",
                url, "--key", hub_keys[1]).exit_code == 0
    commit = read_derived_from(run).release.revision
    record = json.loads((run / layout.DERIVED_FROM).read_text())
    record["relation"] = "sideways"
    (run / layout.DERIVED_FROM).write_text(json.dumps(record))
    out = _run("release", "build", run, "--out", tmp_path / "never", "--allow-missing-records")
    assert out.exit_code == 2 and "derived_from.json" in out.output and "relation" in out.output
    assert "Traceback" not in out.output
    # a link to a revision, then a repository, that is not there: a failure on that line
    repo = hub_server.repos[("model", BASE)]
    kept = repo.commits.pop(commit)
    out = _run("verify", release, "--key", second_key[1], "--parent-key", hub_keys[1],
               "--endpoint", url)
    assert out.exit_code == 1, out.output
    assert "FAIL derived_from acme/base@ckpt_001" in out.output and "cannot be read" in out.output
    repo.commits[commit] = kept
    hub_server.repos.pop(("model", BASE))
    out = _run("verify", release, "--key", second_key[1], "--parent-key", hub_keys[1],
               "--endpoint", url)
    assert out.exit_code == 1, out.output
    assert "FAIL derived_from acme/base@ckpt_001" in out.output and "cannot be read" in out.output


def test_a_finetune_made_elsewhere_derives_from_a_hub_checkpoint(published, hub_keys,
                                                                 second_key, tmp_path):
    url, parent, _ = published
    folder = tmp_path / "checkpoint-50"
    folder.mkdir()
    shutil.copy(parent / "checkpoints/ckpt_002/model.safetensors", folder)
    shutil.copy(parent / layout.MODEL_CONFIG, folder / "config.json")
    run = tmp_path / "ft"
    out = _run("run", "import-checkpoints", folder, "--run", run, "--tokens-per-step", "64",
               "--seq-len", "16", "--derived-from", f"hub:{BASE}@ckpt_001", "--parent-key",
               hub_keys[1], "--endpoint", url)
    assert out.exit_code == 0, out.output
    link = read_derived_from(run)
    assert (link.relation, link.label) == ("finetune", f"{BASE}@ckpt_001")
    state = json.loads((run / "checkpoints/ckpt_000/trainer_state.json").read_text())
    assert state["parents"] == [{"name": "ckpt_001", "root_digest": link.checkpoint.root_digest}]
    shutil.copy(parent / layout.RUN_METADATA, run / layout.RUN_METADATA)
    _rename(run, "base-finetuned")
    shutil.copy(parent / layout.TRAIN_CONFIG, run / layout.TRAIN_CONFIG)
    release = tmp_path / "rel-ft"
    out = _run("release", "build", run, "--out", release, "--sign", "key", "--key",
               second_key[0], "--allow-missing-records")
    assert out.exit_code == 0, out.output
    header = (release / "README.md").read_text().split("---\n")[1]
    assert f"base_model: {BASE}" in header and "base_model_relation: finetune" in header
    ok = _run("verify", release, "--key", second_key[1], "--parent-key", hub_keys[1],
              "--endpoint", url)
    assert ok.exit_code == 0, ok.output
    assert "parent link verified: finetune of acme/base@ckpt_001" in ok.output


def test_the_run_s_copy_of_the_parent_must_be_the_recorded_one(published, hub_keys, tmp_path):
    url, _, _ = published
    run = tmp_path / "run"
    assert _run("pull", BASE, "--checkpoint", "ckpt_001", "--out", run, "--data", "--endpoint",
                url, "--key", hub_keys[1]).exit_code == 0
    _continue(run, name="ckpt_002", log="logs/train-ft.jsonl")
    rng = run / "checkpoints/ckpt_001/rng.safetensors"
    raw = bytearray(rng.read_bytes())
    raw[-1] ^= 1
    rng.write_bytes(bytes(raw))
    out = _run("release", "build", run, "--out", tmp_path / "never")
    assert out.exit_code == 2
    assert "config/derived_from.json: $.checkpoint.root_digest: the run's copy of " \
        "acme/base@ckpt_001" in out.output
    # without the record, the pulled checkpoint is the run's own, and its parent is missing
    raw[-1] ^= 1
    rng.write_bytes(bytes(raw))
    (run / layout.DERIVED_FROM).unlink()
    out = _run("release", "build", run, "--out", tmp_path / "never", "--allow-missing-records")
    assert out.exit_code == 2
    assert "checkpoints/ckpt_001/trainer_state.json: $.parents[0].name: checkpoint ckpt_001: " \
        "parent ckpt_000 is not in the release (a run that continues another release records " \
        "it in config/derived_from.json)" in out.output
