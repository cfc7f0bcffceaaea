"""What push refuses and what it cleans up (issue 21, items 3, 4 and 14): a release that does not
verify, someone else's repository, files it did not publish on its own branches, a server
without Xet, a bad repository id, an unsigned release."""

from __future__ import annotations

import hashlib
import json
import os

import pytest
from click.testing import CliRunner

from llm360.cli.main import cli
from llm360.errors import InputError, VerificationError
from llm360.registry.build.release_dir import read_release_files, release_files_bytes
from llm360.registry.hub import connect, push_release, verify_hub
from llm360.registry.verify.policy import TrustPolicy

REPO = "acme/tiny"


def _cli(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], env={"HF_TOKEN": "t"},
                              catch_exceptions=False)


def _nothing_written(server) -> bool:
    return not server.repos


# ---- item 3: push verifies first, with verify's code and options ----------------------------

def test_a_card_edited_after_the_build_is_not_published(hub_server, hub_client, signed_release,
                                                        trust):
    card = signed_release / "cards/ckpt_001.md"
    card.write_bytes(card.read_bytes().replace(b"# synthetic-tiny", b"# a better model", 1))
    with pytest.raises(VerificationError, match="cards/ckpt_001.md") as info:
        push_release(hub_client, signed_release, REPO, policy=trust)
    assert info.value.exit_code == 1 and "refusing to publish" in info.value.message
    assert _nothing_written(hub_server)


def test_a_manifest_edited_with_its_file_list_made_to_match_is_not_published(
        hub_server, hub_client, signed_release, trust):
    manifest = signed_release / "manifest.json"
    edited = manifest.read_bytes().replace(b'"description":"A synthetic',
                                           b'"description":"A trusted', 1)
    assert edited != manifest.read_bytes()
    manifest.write_bytes(edited)
    rf_path = signed_release / "release-files.json"
    rf = read_release_files(rf_path.read_bytes(), source="release-files.json")
    rf_path.write_bytes(release_files_bytes(type(rf)(
        manifest_sha256=hashlib.sha256(edited).hexdigest(), layout=rf.layout, files=rf.files)))
    with pytest.raises(VerificationError, match="manifest.json was changed after it was signed"):
        push_release(hub_client, signed_release, REPO, policy=trust)
    assert _nothing_written(hub_server)
    out = _cli("push", signed_release, "--repo", REPO, "--endpoint", hub_server.url,
               "--no-xet", "--key", trust.key)
    assert out.exit_code == 1 and "refusing to publish" in out.output
    assert _nothing_written(hub_server)


def test_a_signed_release_needs_its_signer_named(hub_server, hub_client, signed_release):
    with pytest.raises(InputError, match="--key"):
        push_release(hub_client, signed_release, REPO, policy=TrustPolicy())
    assert _nothing_written(hub_server)


# ---- item 14: unsigned releases, repository ids, servers without Xet -------------------------

def test_an_unsigned_release_is_pushed_only_with_allow_unsigned_and_a_warning(
        hub_server, hub_client, synthetic_run, tmp_path):
    from llm360.registry.build.release import BuildOptions, build_release

    release = tmp_path / "unsigned"
    build_release(synthetic_run, release, options=BuildOptions(created="2026-11-27T00:00:00Z"))
    assert not (release / "manifest.sigstore.json").exists()
    with pytest.raises(VerificationError, match="unsigned"):
        push_release(hub_client, release, REPO, policy=TrustPolicy())
    assert _nothing_written(hub_server)
    out = _cli("push", release, "--repo", REPO, "--endpoint", hub_server.url, "--no-xet",
               "--allow-unsigned")
    assert out.exit_code == 0, out.output
    assert "warning: the release is unsigned (--allow-unsigned)" in out.output
    report, _ = verify_hub(hub_client, REPO, policy=TrustPolicy(allow_unsigned=True))
    assert report.ok, [p.message for p in report.failures]


@pytest.mark.parametrize("repo", ["bad name", "a/b/c", "hub:../../etc", "acme/", "a--b/c",
                                  "acme/tiny.", "x" * 97 + "/y"])
def test_a_bad_repository_id_is_one_line_and_exit_2(hub_server, signed_release, trust, repo):
    out = _cli("push", signed_release, "--repo", repo, "--endpoint", hub_server.url, "--no-xet",
               "--key", trust.key)
    assert out.exit_code == 2, out.output
    errors = [line for line in out.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "not a Hub repository id" in errors[0]
    assert "Traceback" not in out.output and _nothing_written(hub_server)


def test_a_server_without_xet_is_written_through_lfs(hub_server, signed_release, trust,
                                                    monkeypatch):
    """The test server has no Xet: huggingface_hub would ask for a Xet write token (HTTP 404)
    and fail as a network error; push asks first, and uploads through Git LFS."""
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_DISABLE_XET", False)
    client = connect(endpoint=hub_server.url, token="t", xet=True, backoff=0.01)
    result = push_release(client, signed_release, REPO, policy=trust)
    assert result.commits == 5
    assert any("has no Xet storage (HTTP 404 on its Xet write token): uploading through Git "
               "LFS" in note for note in result.notes), result.notes
    assert verify_hub(client, REPO, policy=trust)[0].ok


def test_the_lfs_fallback_is_this_pushs_alone(hub_server, signed_release, trust, monkeypatch):
    """Falling back to LFS changes neither the environment nor huggingface_hub's setting for
    the rest of the process: the next push asks the server again."""
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_DISABLE_XET", False)
    environ = dict(os.environ)
    note = "has no Xet storage (HTTP 404 on its Xet write token): uploading through Git LFS"
    for repo in (REPO, "acme/again"):
        client = connect(endpoint=hub_server.url, token="t", xet=True, backoff=0.01)
        result = push_release(client, signed_release, repo, policy=trust)
        assert result.commits == 5 and any(note in n for n in result.notes), result.notes
        assert constants.HF_HUB_DISABLE_XET is False and dict(os.environ) == environ
    connect(endpoint=hub_server.url, token="t", xet=False)  # LFS for this client only
    assert constants.HF_HUB_DISABLE_XET is False and dict(os.environ) == environ


# ---- item 4: someone else's repository, files push did not publish ---------------------------

def _theirs(hub_client, repo: str, kind: str = "model") -> str:
    api = hub_client.api
    api.create_repo(repo, repo_type=kind)
    api.upload_file(path_or_fileobj=b"# Their model\n", path_in_repo="README.md", repo_id=repo,
                    repo_type=kind)
    info = api.upload_file(path_or_fileobj=b"\0" * 64, path_in_repo="pytorch_model.bin",
                           repo_id=repo, repo_type=kind)
    return info.oid


def test_someone_elses_repository_is_refused(hub_server, hub_client, signed_release, trust):
    head = _theirs(hub_client, REPO)
    with pytest.raises(InputError, match="not an llm360 release of synthetic-tiny") as info:
        push_release(hub_client, signed_release, REPO, policy=trust)
    assert info.value.exit_code == 2 and "--overwrite-foreign" in info.value.hint
    repo = hub_server.repos[("model", REPO)]
    assert repo.branches == {"main": head}                         # nothing changed
    assert ("dataset", REPO + "-data") not in hub_server.repos     # nothing created


def test_someone_elses_dataset_repository_is_refused(hub_server, hub_client, signed_release,
                                                     trust):
    _theirs(hub_client, REPO + "-data", "dataset")
    with pytest.raises(InputError, match=f"{REPO}-data \\(dataset\\): not an llm360 release"):
        push_release(hub_client, signed_release, REPO, policy=trust)
    assert ("model", REPO) not in hub_server.repos


def test_overwrite_foreign_replaces_their_content_and_says_so(hub_server, hub_client,
                                                              signed_release, trust):
    _theirs(hub_client, REPO)
    out = _cli("push", signed_release, "--repo", REPO, "--endpoint", hub_server.url,
               "--no-xet", "--key", trust.key, "--overwrite-foreign")
    assert out.exit_code == 0, out.output
    assert f"warning: {REPO} (model) holds 2 files on main (README.md, pytorch_model.bin)" \
        in out.output and "(--overwrite-foreign)" in out.output
    assert "  removed pytorch_model.bin: on the branch, not in the release" in out.output
    assert verify_hub(hub_client, REPO, policy=trust)[0].ok


def test_a_repush_removes_what_it_did_not_publish_in_its_one_commit(hub_server, hub_client,
                                                                   signed_release, trust):
    push_release(hub_client, signed_release, REPO, policy=trust)
    hub_client.api.upload_file(path_or_fileobj=b"\0" * 64, path_in_repo="pytorch_model.bin",
                               repo_id=REPO)
    hub_client.api.upload_file(path_or_fileobj=b"x", path_in_repo="cards/extra.md",
                               repo_id=REPO, revision="ckpt_001")
    assert not verify_hub(hub_client, REPO, policy=trust)[0].ok
    before = len(hub_server.log)
    result = push_release(hub_client, signed_release, REPO, policy=trust)
    removed = {b.branch: b.removed for b in result.branches if b.removed}
    assert removed == {"main": ("pytorch_model.bin",), "ckpt_001": ("cards/extra.md",)}
    commits = [x for x in hub_server.log[before:] if x.method == "POST" and "/commit/" in x.path]
    assert len(commits) == 2 and result.commits == 2  # one per branch, deletions included
    assert result.uploaded_bytes == 0
    report, _ = verify_hub(hub_client, REPO, policy=trust)
    assert report.ok, [p.message for p in report.failures]
    assert json.loads((signed_release / "publication.json").read_text())["branches"]["main"][
        "checkpoint"] == "ckpt_002"
