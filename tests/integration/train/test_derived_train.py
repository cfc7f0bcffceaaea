"""The stranger's loop with a trained run: pull a published checkpoint, resume it with another
learning rate (a fork), and release what was trained: run check accepts the run, the release
references the parent checkpoint and verifies with its link to the parent checked on the Hub."""

from __future__ import annotations

import json
import shutil

import pytest
from hub_server.fixtures import make_release

pytestmark = pytest.mark.slow
REPO = "acme/tiny-parent"


def test_pull_resume_as_a_fork_and_release_it(trained_run, hub_server, hub_keys, tmp_path):
    from llm360.registry.build.release import BuildOptions, build_release
    from llm360.registry.hub import connect, hub_parent, pull_checkpoint, push_release
    from llm360.registry.run.check import check_run
    from llm360.registry.run.derived import read_derived_from
    from llm360.registry.signing import make_signer, write_key_pair
    from llm360.registry.verify.parent import ParentCheck
    from llm360.registry.verify.policy import TrustPolicy
    from llm360.registry.verify.verifier import verify_release
    from llm360.train import TrainOptions, train

    run = tmp_path / "run"
    shutil.copytree(trained_run[0], run, ignore=shutil.ignore_patterns(".llm360"))
    parent = make_release(run, tmp_path / "release", hub_keys[0], cards=False)
    client = connect(endpoint=hub_server.url, token="t", xet=False, backoff=0.01)
    push_release(client, parent, REPO, policy=TrustPolicy(key=hub_keys[1]))

    pulled = tmp_path / "pulled"
    pull_checkpoint(client, REPO, "ckpt_001", pulled, data=True,
                    policy=TrustPolicy(key=hub_keys[1]))
    assert read_derived_from(pulled).relation == "continuation"
    config = tmp_path / "lr.json"
    config.write_text(json.dumps({"train": {"lr": 0.001}}))
    result = train(pulled, TrainOptions(resume_from=pulled / "checkpoints/ckpt_001",
                                        config_file=config))
    assert result.forked and [c["name"] for c in result.checkpoints] == ["ckpt_002-fork1"]
    link = read_derived_from(pulled)
    assert (link.relation, link.label) == ("fork", f"{REPO}@ckpt_001")
    assert any("forks acme/tiny-parent@ckpt_001" in n for n in result.notes)
    assert check_run(pulled).ok  # was: parent ckpt_000 is not in the release

    write_key_pair(tmp_path / "k.pem", tmp_path / "k.pub.pem")
    out = tmp_path / "derived"
    built = build_release(pulled, out, options=BuildOptions(cards=False),
                          signer=make_signer("key", key_path=tmp_path / "k.pem"))
    assert [c.name for c in built.manifest.checkpoints] == ["ckpt_002-fork1"]
    assert built.manifest.derived_from == link
    check = ParentCheck(policy=TrustPolicy(key=hub_keys[1]), hub=hub_parent(client))
    report = verify_release(out, policy=TrustPolicy(key=tmp_path / "k.pub.pem"), parent=check)
    assert report.ok, [p.message for p in report.failures]
    assert report.parent is not None
    assert report.parent.checked and report.parent.relation == "fork"
