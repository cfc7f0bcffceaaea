"""The read path (verify --hub) against olah, a Hub mirror this project did not write: the
test server's repositories are exported as git repositories (LFS files as pointers) and olah
serves them offline on 127.0.0.1."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from llm360.registry.hub import connect, push_release, verify_hub
from llm360.registry.verify.policy import TrustPolicy

pytest.importorskip("olah")
pytestmark = pytest.mark.slow

_spec = importlib.util.spec_from_file_location(
    "llm360_tests_olah_mirror", Path(__file__).resolve().parents[2] / "hub_server" /
    "olah_mirror.py")
olah_mirror = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(olah_mirror)


def test_verify_hub_through_olah(hub_server, hub_client, signed_release, hub_keys, tmp_path,
                                trust):
    push_release(hub_client, signed_release, "acme/good", policy=trust)
    push_release(hub_client, signed_release, "acme/bad", data_repo="acme/bad-data", policy=trust)
    weights = (signed_release / "checkpoints/ckpt_000/model.safetensors").read_bytes()
    hub_server.put_file("model", "acme/bad", "ckpt_001", "model.safetensors", weights)
    hub_server.delete_file("model", "acme/bad", "ckpt_002", "rng.safetensors")
    mirrors = tmp_path / "mirrors"
    for kind, repo in (("model", "acme/good"), ("dataset", "acme/good-data"),
                       ("model", "acme/bad"), ("dataset", "acme/bad-data")):
        olah_mirror.export_repo(hub_server, kind, repo, mirrors)
    proc, endpoint = olah_mirror.start_olah(mirrors, tmp_path)
    try:
        client = connect(endpoint=endpoint, xet=False, retries=1, backoff=0.1)
        report, source = verify_hub(client, "acme/good", policy=TrustPolicy(key=hub_keys[1]))
        assert report.ok, [p.message for p in report.problems]
        assert report.signature.checkpoints_verified == 3
        small = sum(e.size for key in (("model", "acme/good"), ("dataset", "acme/good-data"))
                    for head in hub_server.repos[key].branches.values()
                    for e in hub_server.repos[key].commits[head].tree.values()
                    if e.sha256 is None)  # every branch's regular files, each on its branch
        assert 0 < source.bytes_downloaded <= small  # no weight or data byte (LFS)
        report, _ = verify_hub(client, "acme/bad", policy=TrustPolicy(key=hub_keys[1]))
        msgs = [p.message for p in report.failures]
        assert any(m.startswith("hub:acme/bad@ckpt_001/model.safetensors: sha256") and
                   m.endswith("(these are the bytes of checkpoints/ckpt_000/model.safetensors)")
                   for m in msgs), msgs
        assert "hub:acme/bad@ckpt_002/rng.safetensors: missing" in msgs
    finally:
        proc.terminate()
        proc.wait(timeout=30)
