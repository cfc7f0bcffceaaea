"""A trained tiny run on the Hub test server: transformers loads a checkpoint branch (model and
tokenizer) with the local logits; pull then resume writes the published next checkpoint byte for
byte; a downloaded branch verifies with the OpenSSF model_signing CLI alone."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from hub_server.fixtures import make_release

from .conftest import llm360_cmd, subprocess_env

pytestmark = pytest.mark.slow
REPO = "acme/tiny-trained"
#: the tokenizer file the final checkpoint folder holds in this test (the layout checkpoints
#: are moving to); the other branches get the run's tokenizer beside their files
CKPT_TOKENIZER = "tokenizer.json"


@pytest.fixture(scope="module")
def trained_release(trained_run, hub_keys, tmp_path_factory) -> tuple[Path, Path]:
    """(run, release): the trained run with the tokenizer inside its last checkpoint (no
    checkpoint names it as a parent, so the run stays consistent), signed, self-contained."""
    base = tmp_path_factory.mktemp("hubtrained")
    run = base / "run"
    shutil.copytree(trained_run[0], run, ignore=shutil.ignore_patterns(".llm360"))
    shutil.copyfile(run / "tokenizer/tokenizer.json", run / "checkpoints/ckpt_002" /
                    CKPT_TOKENIZER)
    return run, make_release(run, base / "release", hub_keys[0])


@pytest.fixture
def published(hub_server, trained_release, hub_keys):
    from llm360.registry.hub import connect, push_release
    from llm360.registry.verify.policy import TrustPolicy

    client = connect(endpoint=hub_server.url, token="t", xet=False, backoff=0.01)
    push_release(client, trained_release[1], REPO, policy=TrustPolicy(key=hub_keys[1]))
    return client


def _env(tmp: Path, server) -> dict:
    env = subprocess_env(tmp)
    env.update(HF_ENDPOINT=server.url, HF_HUB_OFFLINE="0", HF_HUB_DISABLE_XET="1",
               HF_HOME=str(tmp / "hf-home"), HF_TOKEN="t",
               PYTHONPATH=str(Path(__file__).resolve().parents[3]))
    return env


LOAD = """
import json, sys, torch, transformers
from tokenizers import Tokenizer
repo, local, tok_file = sys.argv[1:4]
hub = transformers.AutoModelForCausalLM.from_pretrained(repo, revision="ckpt_001").eval()
mine = transformers.AutoModelForCausalLM.from_pretrained(local).eval()
tok = transformers.AutoTokenizer.from_pretrained(repo, revision="ckpt_001")
text = "def add(a, b):\\n    return a + b\\n"
ids = tok(text)["input_ids"]
want = Tokenizer.from_file(tok_file).encode(text).ids
x = torch.tensor([want])
with torch.no_grad():
    diff = (hub(x).logits - mine(x).logits).abs().max().item()
print(json.dumps({"ids_equal": ids == want, "max_abs_diff": diff, "n": len(ids)}))
"""


def test_transformers_loads_a_branch_from_the_hub(published, hub_server, trained_release,
                                                  tmp_path):
    pytest.importorskip("transformers")
    run = trained_release[0]
    out = subprocess.run([sys.executable, "-c", LOAD, REPO, str(run / "checkpoints/ckpt_001"),
                          str(run / "tokenizer/tokenizer.json")], capture_output=True,
                         text=True, env=_env(tmp_path, hub_server), timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["ids_equal"] and got["n"] > 5
    assert got["max_abs_diff"] == 0.0
    heads = hub_server.repos[("model", REPO)].branches
    served = {x.path for x in hub_server.log if "/resolve/" in x.path and x.method == "GET"}
    revs = {"ckpt_001", heads["ckpt_001"]}
    assert any(p.split("/")[4] in revs and p.endswith("/model.safetensors") for p in served)
    assert any(p.split("/")[4] in revs and p.endswith("/tokenizer.json") for p in served)


def test_pull_then_resume_writes_the_published_next_checkpoint(published, hub_server,
                                                               trained_release, hub_keys,
                                                               tmp_path):
    run = trained_release[0]
    pulled = tmp_path / "pulled"
    env = _env(tmp_path, hub_server)
    out = subprocess.run([*llm360_cmd(), "pull", REPO, "--checkpoint", "ckpt_001", "--out",
                          str(pulled), "--data", "--key", str(hub_keys[1]), "--endpoint",
                          hub_server.url, "--json"], capture_output=True, text=True, env=env,
                         timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert json.loads(out.stdout)["checkpoint"] == "ckpt_001"
    assert not (pulled / "checkpoints/ckpt_002").exists()
    from llm360.train import TrainOptions, train  # what `llm360 train --resume-from` runs

    result = train(pulled, TrainOptions(resume_from=pulled / "checkpoints/ckpt_001"))
    assert not result.forked
    new = pulled / "checkpoints/ckpt_002"
    published_files = {p.name for p in (run / "checkpoints/ckpt_002").iterdir()}
    written = {p.name for p in new.iterdir()}
    assert written and written <= published_files
    assert published_files - written <= {CKPT_TOKENIZER}
    for name in written:
        assert (new / name).read_bytes() == (run / "checkpoints/ckpt_002" / name).read_bytes(), \
            name


def test_pull_refuses_bytes_the_manifest_did_not_sign(published, hub_server, hub_keys,
                                                      tmp_path):
    from llm360.errors import VerificationError
    from llm360.registry.hub import pull_checkpoint
    from llm360.registry.verify.policy import TrustPolicy

    hub_server.put_file("model", REPO, "ckpt_001", "rng.safetensors", b"\0" * 64)
    with pytest.raises(VerificationError, match="rng.safetensors"):
        pull_checkpoint(published, REPO, "ckpt_001", tmp_path / "p",
                        policy=TrustPolicy(key=hub_keys[1]))
    assert not (tmp_path / "p/checkpoints/ckpt_001/rng.safetensors").exists()


def test_downloaded_branch_verifies_with_model_signing_alone(published, hub_server, hub_keys,
                                                             tmp_path):
    pytest.importorskip("model_signing")
    from huggingface_hub import snapshot_download

    snap = snapshot_download(REPO, revision="ckpt_002", endpoint=hub_server.url,
                             cache_dir=tmp_path / "cache", token="t")
    branch = tmp_path / "ckpt_002"
    shutil.copytree(snap, branch, symlinks=False)
    assert {"README.md", "model.sig", CKPT_TOKENIZER} <= {p.name for p in branch.iterdir()}

    def verify() -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "model_signing", "verify", "key",
                               str(branch), "--signature", str(branch / "model.sig"),
                               "--public_key", str(hub_keys[1])],
                              capture_output=True, text=True, timeout=120)

    done = verify()
    assert done.returncode == 0, done.stdout + done.stderr
    weights = branch / "model.safetensors"
    raw = bytearray(weights.read_bytes())
    raw[len(raw) // 2] ^= 0x01
    weights.write_bytes(bytes(raw))
    assert verify().returncode != 0
