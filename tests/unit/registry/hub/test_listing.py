"""The Hub's refs and tree listings read field by field: anything else is a VerificationError
naming the entry (never a TypeError, never exit 3)."""

from __future__ import annotations

import pytest

from llm360.errors import VerificationError
from llm360.registry.hub._listing import RemoteFile, parse_refs, parse_tree_page

OID, SHA = "a" * 40, "b" * 64
GOOD = [{"type": "directory", "oid": OID, "size": 0, "path": "cards"},
        {"type": "file", "oid": OID, "size": 5, "path": "cards/ckpt_000.md"},
        {"type": "file", "oid": OID, "size": 9, "path": "model.safetensors",
         "lfs": {"oid": SHA, "size": 9, "pointerSize": 130}}]


def test_a_listing_as_the_hub_writes_it():
    assert parse_tree_page(GOOD, "hub:a/b@main") == [
        RemoteFile(path="cards/ckpt_000.md", size=5, git_oid=OID, sha256=None),
        RemoteFile(path="model.safetensors", size=9, git_oid=OID, sha256=SHA)]
    refs = {"branches": [{"name": "main", "ref": "refs/heads/main", "targetCommit": OID}],
            "tags": [], "converts": []}
    assert parse_refs(refs, "hub:a/b refs") == ({"main": OID}, {})


@pytest.mark.parametrize("entry,says", [
    ({"size": "5"}, "size '5' is not a byte count"),
    ({"size": True}, "size True is not a byte count"),
    ({"size": -1}, "size -1 is not a byte count"),
    ({"size": 2 ** 64}, "is not a byte count"),
    ({"path": None}, "path None is not a relative path"),
    ({"path": "../x"}, "path '../x' is not a relative path"),
    ({"path": "/etc/passwd"}, "is not a relative path"),
    ({"path": "a\nb"}, "is not a relative path"),
    ({"oid": 7}, "oid 7 is not a git blob id"),
    ({"lfs": "sha"}, "lfs 'sha' is not an object with a sha256 oid"),
    ({"lfs": {"oid": None}}, "is not an object with a sha256 oid"),
    ({"type": "symlink"}, "type 'symlink' is neither"),
])
def test_a_malformed_entry_is_named(entry, says):
    listing = [GOOD[0], {**GOOD[1], **entry}]
    with pytest.raises(VerificationError, match="malformed") as info:
        parse_tree_page(listing, "hub:a/b@main")
    assert info.value.exit_code == 1 and says in info.value.message
    assert info.value.message.startswith("hub:a/b@main: the Hub's answer is malformed: ")


@pytest.mark.parametrize("data", [None, {"files": GOOD}, [GOOD[1], 7]])
def test_a_listing_that_is_not_a_list_of_objects(data):
    with pytest.raises(VerificationError, match="malformed"):
        parse_tree_page(data, "hub:a/b@main")


@pytest.mark.parametrize("refs", [
    [], {"branches": "main"}, {"branches": [{"name": "main"}]},
    {"branches": [{"name": None, "targetCommit": OID}]},
    {"branches": [], "tags": [{"name": "v1", "targetCommit": "HEAD"}]}])
def test_malformed_refs(refs):
    with pytest.raises(VerificationError, match="malformed"):
        parse_refs(refs, "hub:a/b refs")
