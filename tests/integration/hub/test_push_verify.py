"""push -> Hub test server (real huggingface_hub client) -> verify --hub, and tampering caught."""

from __future__ import annotations

import json

import pytest

from llm360.errors import HubConflictError
from llm360.registry.hub import connect, push_release, verify_hub
from llm360.registry.manifest.serialize import manifest_from_bytes
from llm360.registry.verify.policy import TrustPolicy

REPO = "acme/tiny"


def _state(server, kind: str, repo: str) -> dict:
    """Every branch's files as (size, sha256 or git oid): the end state of a repository."""
    r = server.repos[(kind, repo)]
    return {b: {p: (e.size, e.sha256 or e.oid) for p, e in r.commits[sha].tree.items()}
            for b, sha in r.branches.items()}


def _commits(server) -> int:
    return sum(1 for x in server.log if x.method == "POST" and "/commit/" in x.path
               and x.status == 200)


def test_push_gives_branches_tag_dataset_and_cards(trust, hub_server, hub_client, signed_release):
    result = push_release(hub_client, signed_release, REPO, policy=trust)
    manifest = manifest_from_bytes((signed_release / "manifest.json").read_bytes())
    api = hub_client.api
    refs = api.list_repo_refs(REPO)
    assert {b.name for b in refs.branches} == {"main", "ckpt_000", "ckpt_001", "ckpt_002"}
    main_head = next(b.target_commit for b in refs.branches if b.name == "main")
    assert [(t.name, t.target_commit) for t in refs.tags] == [("v0.1.0", main_head)]
    for ckpt in manifest.checkpoints:
        files = set(api.list_repo_files(REPO, revision=ckpt.name))
        own = {p.split("/")[-1] for p in ckpt.files}
        assert files == own | {"README.md", "model.sig", "tokenizer.json", ".gitattributes"}
        card = hub_client.read_bytes(REPO, "model", ckpt.name, "README.md")
        assert card == (signed_release / "cards" / f"{ckpt.name}.md").read_bytes()
        sig = hub_client.read_bytes(REPO, "model", ckpt.name, "model.sig")
        assert sig == (signed_release / "signatures" / ckpt.name / "model.sig").read_bytes()
    main = set(api.list_repo_files(REPO))
    assert {"manifest.json", "manifest.sigstore.json", "README.md", "model.safetensors",
            "cards/ckpt_000.md", "signatures/ckpt_002/model.sig", "config/train.json",
            "logs/train.jsonl", "evals/ckpt_002.json", "code/provenance.json"} <= main
    assert any(p.startswith("plots/") for p in main)
    assert not any(p.startswith("data/") or p.startswith("checkpoints/") for p in main)
    data = set(api.list_repo_files(REPO + "-data", repo_type="dataset"))
    assert {"README.md", "data/index.json", "data/chunk_000.safetensors",
            "tokenizer/tokenizer.json"} <= data
    assert hub_client.read_bytes(REPO + "-data", "dataset", "main", "README.md") == \
        (signed_release / "DATA_CARD.md").read_bytes()
    pub = json.loads((signed_release / "publication.json").read_text())
    assert pub["endpoint"] == hub_server.url and pub["repos"]["model"] == REPO
    heads = {b.name: b.target_commit for b in refs.branches}
    for ckpt in manifest.checkpoints:
        entry = pub["branches"][ckpt.name]
        assert (entry["commit"], entry["step"], entry["tokens_seen"]) == (
            heads[ckpt.name], ckpt.step, ckpt.tokens_seen)
    assert result.commits == 5  # 3 checkpoint branches, main, the dataset repo


def test_second_push_uploads_nothing_and_verify_hub_passes(trust, hub_server, hub_client,
                                                           signed_release, hub_keys):
    push_release(hub_client, signed_release, REPO, policy=trust)
    before = len(hub_server.log)
    again = push_release(hub_client, signed_release, REPO, policy=trust)
    assert (again.commits, again.uploaded_bytes) == (0, 0)
    assert not [x for x in hub_server.log[before:] if x.method in ("PUT", "POST")
                and ("/commit/" in x.path or "lfs" in x.path or "preupload" in x.path)]
    report, source = verify_hub(hub_client, REPO, policy=TrustPolicy(key=hub_keys[1]))
    assert report.ok, [p.message for p in report.problems]
    assert report.signature.checkpoints_verified == 3
    served = [x.path for x in hub_server.log if x.method == "GET" and "/resolve/" in x.path]
    assert served and not [p for p in served if p.endswith(".safetensors")]


def _problems(client, keys) -> list[str]:
    report, _ = verify_hub(client, REPO, policy=TrustPolicy(key=keys[1]))
    assert not report.ok
    return [p.message for p in report.failures]


def test_tampering_is_caught_and_named(trust, hub_server, hub_client, signed_release,
                                       hub_keys):
    push_release(hub_client, signed_release, REPO, policy=trust)
    api = hub_client.api
    # an LFS object replaced on one branch, through the real client
    api.upload_file(path_or_fileobj=b"\0" * 4096, path_in_repo="optimizer.safetensors",
                    repo_id=REPO, revision="ckpt_001")
    msgs = _problems(hub_client, hub_keys)
    assert msgs == [f"hub:{REPO}@ckpt_001/optimizer.safetensors: size 4096 bytes, signed 340"]
    # one checkpoint's weights uploaded to another's branch
    api.upload_file(path_or_fileobj=str(signed_release / "checkpoints/ckpt_000/model.safetensors"),
                    path_in_repo="model.safetensors", repo_id=REPO, revision="ckpt_002")
    msgs = _problems(hub_client, hub_keys)
    assert any(m.startswith(f"hub:{REPO}@ckpt_002/model.safetensors: sha256 ")
               and m.endswith("(these are the bytes of checkpoints/ckpt_000/model.safetensors)")
               for m in msgs), msgs
    # a file deleted, a file added
    api.delete_file("trainer_state.json", REPO, revision="ckpt_000")
    api.upload_file(path_or_fileobj=b"hello", path_in_repo="notes.txt", repo_id=REPO,
                    revision="ckpt_000")
    api.delete_file("data/chunk_001.safetensors", REPO + "-data", repo_type="dataset")
    msgs = _problems(hub_client, hub_keys)
    assert f"hub:{REPO}@ckpt_000/trainer_state.json: missing" in msgs
    assert any(m.startswith(f"hub:{REPO}@ckpt_000/notes.txt: not signed") for m in msgs)
    assert f"hub:{REPO}-data@main/data/chunk_001.safetensors: missing" in msgs
    # a rerun of push repairs what it owns, the added file removed in the same commit
    again = push_release(hub_client, signed_release, REPO, policy=trust)
    assert [b.removed for b in again.branches if b.removed] == [("notes.txt",)]
    assert verify_hub(hub_client, REPO, policy=TrustPolicy(key=hub_keys[1]))[0].ok


def test_manifest_replaced_by_another_signed_one(trust, hub_server, hub_client, signed_release,
                                                 hub_keys, tmp_path, make_release_fn):
    from _synthetic import write_synthetic_run

    push_release(hub_client, signed_release, REPO, policy=trust)
    other_run = write_synthetic_run(tmp_path / "other", checkpoints=3, seed=7)
    other = make_release_fn(other_run, tmp_path / "other-release", hub_keys[0], cards=False)
    api = hub_client.api
    from huggingface_hub import CommitOperationAdd

    api.create_commit(REPO, operations=[
        CommitOperationAdd("manifest.json", str(other / "manifest.json")),
        CommitOperationAdd("manifest.sigstore.json", str(other / "manifest.sigstore.json"))],
        commit_message="replace the manifest")
    report, _ = verify_hub(hub_client, REPO, policy=TrustPolicy(key=hub_keys[1]))
    assert not report.ok
    assert report.signature.verified  # a valid signature ... of another release
    msgs = [p.message for p in report.failures]
    assert any(m.startswith("signatures/ckpt_000/model.sig: signs root digest") for m in msgs)
    assert any(m.startswith(f"hub:{REPO}@ckpt_001/model.safetensors: sha256") for m in msgs)
    # the manifest alone replaced: the bundle no longer signs it
    api.upload_file(path_or_fileobj=str(signed_release / "manifest.sigstore.json"),
                    path_in_repo="manifest.sigstore.json", repo_id=REPO)
    report, _ = verify_hub(hub_client, REPO, policy=TrustPolicy(key=hub_keys[1]))
    assert [p.code for p in report.problems] == ["signature"]
    assert "manifest.json" in report.problems[0].message


FAILURES = [("branch", "drop_after"), ("lfs-upload#3", "drop"), ("commit#1", "drop_after"),
            ("commit#2", "http500"), ("commit#5", "drop"), ("tag#1", "http500")]


@pytest.mark.parametrize("which,how", FAILURES)
def test_interrupted_push_resumes_to_the_same_end_state(trust, hub_server, another_hub_server,
                                                        signed_release, which, how):
    """The server fails the Nth request of a push (a dropped connection before or after doing
    the work, or an HTTP 500 where the client does not retry by itself); the rerun ends in the
    same state as an uninterrupted push; a third run makes no commit."""
    from llm360.errors import HubError
    from llm360.registry.hub import connect as make

    reference = make(endpoint=another_hub_server.url, token="t", xet=False)
    push_release(reference, signed_release, REPO, policy=trust)
    route, _, k = which.partition("#")
    hits = [i for i, x in enumerate(another_hub_server.log, 1)
            if f"/{route}/" in x.path or x.path.endswith(f"/{route}")]
    nth = hits[int(k or 1) - 1]
    (signed_release / "publication.json").unlink()
    mode = {"drop": 0, "drop_after": -1, "http500": 500}[how]
    hub_server.fail_nth(nth, mode)
    no_retry = make(endpoint=hub_server.url, token="t", xet=False, retries=0)
    try:
        push_release(no_retry, signed_release, REPO, policy=trust)
    except HubError as exc:  # interrupted: a transport or server failure, never exit 1
        assert exc.exit_code == 3 and not (signed_release / "publication.json").exists()
    else:  # huggingface_hub retried this route by itself (it does for uploads, listings)
        assert route in ("preupload", "lfs-upload", "commits")
    assert not hub_server.fail_requests  # the failure did happen
    client = make(endpoint=hub_server.url, token="t", xet=False, backoff=0.01)
    push_release(client, signed_release, REPO, policy=trust)
    assert _state(hub_server, "model", REPO) == _state(another_hub_server, "model", REPO)
    assert _state(hub_server, "dataset", REPO + "-data") == \
        _state(another_hub_server, "dataset", REPO + "-data")
    assert hub_server.repos[("model", REPO)].tags.keys() == {"v0.1.0"}
    commits = _commits(hub_server)
    third = push_release(client, signed_release, REPO, policy=trust)
    assert third.commits == 0 and _commits(hub_server) == commits


def test_transient_failures_are_retried(trust, hub_server, hub_client, signed_release,
                                       hub_keys):
    hub_server.fail_nth(2, 503)
    hub_server.fail_nth(6, 429)
    result = push_release(hub_client, signed_release, REPO, policy=trust)
    assert result.commits == 5
    assert verify_hub(hub_client, REPO, policy=TrustPolicy(key=hub_keys[1]))[0].ok


def test_concurrent_commit_is_an_error_not_an_overwrite(trust, hub_server, hub_client,
                                                         signed_release):
    raced = []

    def race(method, path):
        if method == "POST" and "/commit/ckpt_001" in path and not raced:
            raced.append(hub_server.put_file("model", REPO, "ckpt_001", "theirs.txt", b"x"))

    hub_server.on_request = race
    with pytest.raises(HubConflictError) as info:
        push_release(hub_client, signed_release, REPO, policy=trust)
    assert info.value.status == 412 and info.value.exit_code == 3
    tree = hub_server.repos[("model", REPO)].commits[raced[0]].tree
    head = hub_server.repos[("model", REPO)].branches["ckpt_001"]
    assert head == raced[0] and "theirs.txt" in tree  # their commit stands


def test_auth_and_not_found_errors(trust, hub_server, signed_release):
    from llm360.errors import HubAuthError, HubNotFoundError

    hub_server.token = "right"
    wrong = connect(endpoint=hub_server.url, token="wrong", xet=False)
    with pytest.raises(HubAuthError) as info:
        push_release(wrong, signed_release, REPO, policy=trust)
    assert info.value.exit_code == 2 and "HF_TOKEN" in info.value.hint
    right = connect(endpoint=hub_server.url, token="right", xet=False)
    with pytest.raises(HubNotFoundError) as info:
        verify_hub(right, "acme/absent", policy=TrustPolicy(allow_unsigned=True))
    assert info.value.exit_code == 2


def test_download_mode_checks_every_byte(trust, hub_server, hub_client, signed_release,
                                        hub_keys):
    push_release(hub_client, signed_release, REPO, policy=trust)
    # a server whose metadata says the right sha256 but serves other bytes
    repo = hub_server.repos[("model", REPO)]
    entry = repo.commits[repo.branches["ckpt_001"]].tree["model.safetensors"]
    hub_server.lfs[entry.sha256] = b"\1" * entry.size
    policy = TrustPolicy(key=hub_keys[1])
    assert verify_hub(hub_client, REPO, policy=policy)[0].ok  # metadata alone: fooled
    report, source = verify_hub(hub_client, REPO, policy=policy, download=True)
    assert [p.message.split(": ")[0] for p in report.failures] == [
        f"hub:{REPO}@ckpt_001/model.safetensors"]
    assert source.bytes_downloaded >= sum(
        a.size for a in manifest_from_bytes((signed_release / "manifest.json").read_bytes()
                                            ).artifacts)


def test_push_refuses_a_release_that_is_not_self_contained(trust, hub_client, signed_release):
    from llm360.errors import VerificationError

    (signed_release / "data" / "chunk_002.safetensors").unlink()
    with pytest.raises(VerificationError, match="chunk_002"):
        push_release(hub_client, signed_release, REPO, policy=trust)


def test_push_refuses_changed_bytes(trust, hub_client, signed_release):
    from llm360.errors import VerificationError

    path = signed_release / "checkpoints" / "ckpt_001" / "rng.safetensors"
    raw = bytearray(path.read_bytes())
    raw[-1] ^= 1
    path.write_bytes(bytes(raw))
    with pytest.raises(VerificationError, match="rng.safetensors"):
        push_release(hub_client, signed_release, REPO, policy=trust)


def test_a_small_file_larger_than_its_limit_is_refused_unread(trust, hub_server, hub_client,
                                                             signed_release):
    from llm360.errors import VerificationError

    push_release(hub_client, signed_release, REPO, policy=trust)
    assert hub_client.read_bytes(REPO, "model", "main", "manifest.json") is not None
    with pytest.raises(VerificationError, match="serves more than the 100 bytes expected"):
        hub_client.read_bytes(REPO, "model", "main", "manifest.json", limit=100)
    assert hub_client.read_bytes(REPO, "model", "main", "no-such-file.json") is None
