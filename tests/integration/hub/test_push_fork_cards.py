"""A release with a fork pushed to the Hub: ``main`` serves the weights of the checkpoint its card
names final (issue 22), and the cards read right where the Hub shows them (issue 21, item 15)."""

from __future__ import annotations

import re

import pytest
import yaml

from llm360.registry.hub import push_release, verify_hub
from llm360.registry.manifest.serialize import manifest_from_bytes

REPO = "acme/fork"
_LINKS = 'links: {code: "https://example.org/llm360"}'


def _header(card: bytes) -> dict:
    return yaml.safe_load(card.decode().split("---\n", 2)[1])


@pytest.fixture
def fork_release(tmp_path, fork_run_writer, make_release_fn, hub_keys):
    """``fork_release(final=..., hub=...)``: a signed release of the fork run (``conftest``),
    its llm360.yaml naming the final checkpoint and declaring the Hub repo when asked."""
    def make(*, final=None, hub=None):
        run = fork_run_writer(tmp_path / "run", final_checkpoint=final)
        if hub is not None:
            meta = run / "llm360.yaml"
            text = meta.read_text()
            assert _LINKS in text
            meta.write_text(text.replace(_LINKS, f'links: {{code: "https://example.org/llm360", '
                                                 f'hub: "https://huggingface.co/{hub}"}}'))
        return make_release_fn(run, tmp_path / "release", hub_keys[0])
    return make


@pytest.mark.parametrize("final,expected", [(None, "ckpt_003"),
                                            ("ckpt_003-fork1", "ckpt_003-fork1")])
def test_main_serves_the_weights_of_the_final_checkpoint_its_card_names(
        hub_server, hub_client, trust, fork_release, final, expected):
    release = fork_release(final=final)
    manifest = manifest_from_bytes((release / "manifest.json").read_bytes())
    assert manifest.checkpoints[-1].name == "ckpt_003-fork1"  # last by step: a fork
    push_release(hub_client, release, REPO, policy=trust)
    card = _header(hub_client.read_bytes(REPO, "model", "main", "README.md"))
    assert card["llm360_checkpoint"] == expected
    served = hub_client.tree(REPO, "model", "main")["model.safetensors"].sha256
    named = manifest.artifact(f"checkpoints/{card['llm360_checkpoint']}/model.safetensors")
    assert served == named.sha256
    report, _ = verify_hub(hub_client, REPO, policy=trust)
    assert report.ok, [p.message for p in report.failures]


def test_cards_on_the_hub_name_the_repo_and_link_only_what_exists(
        hub_server, hub_client, trust, fork_release):
    release = fork_release(hub=REPO)
    result = push_release(hub_client, release, policy=trust)  # the declared repo
    assert result.repo == REPO and not result.warnings
    main = hub_client.read_bytes(REPO, "model", "main", "README.md").decode()
    assert f'from_pretrained("{REPO}", revision="ckpt_003")' in main
    assert "from_pretrained(\"checkpoints/" not in main
    branch = hub_client.read_bytes(REPO, "model", "ckpt_002-fork1", "README.md").decode()
    branch_files = set(hub_client.tree(REPO, "model", "ckpt_002-fork1"))
    for target in re.findall(r"\]\(([^)]+)\)", branch):  # every link of the branch's card
        assert target.startswith("https://huggingface.co/") or target in branch_files, target
    assert f"[`ckpt_001`](https://huggingface.co/{REPO}/tree/ckpt_001)" in branch
    assert f"(https://huggingface.co/{REPO})" in branch  # the release's card, on main
    assert "../" not in branch
    data = hub_client.read_bytes(REPO + "-data", "dataset", "main", "README.md").decode()
    assert "](README.md)" not in data and _header(data.encode())["llm360_release"] == \
        "synthetic-tiny"
    for card in (main, branch):
        assert "`PUBLIC.pem` below" not in card
        assert "`PUBLIC.pem` stands for the publisher's public key" in card
        assert "Train loss (mean over the chunk's steps)" in card
    assert "Training loss per step (mean over its batch)" in main
    report, _ = verify_hub(hub_client, REPO, policy=trust)  # every pushed file is signed
    assert report.ok, [p.message for p in report.failures]


def test_a_push_elsewhere_than_the_declared_repo_says_where_the_cards_point(
        hub_server, hub_client, trust, fork_release):
    release = fork_release(hub=REPO)
    result = push_release(hub_client, release, "acme/elsewhere", policy=trust)
    assert result.warnings == (
        f"the cards name {REPO} as the release's Hub repository (llm360.yaml links), not "
        "acme/elsewhere: their usage and links point there",)
