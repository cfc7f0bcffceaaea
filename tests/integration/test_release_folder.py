"""The release folder: never deletes what is not its own, survives a crash mid-swap, holds
every artifact (self-contained), and build refuses what it cannot vouch for."""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from llm360.errors import InputError, UnsafePathError
from llm360.registry.build import release_dir
from llm360.registry.build.release import BuildOptions, build_release
from llm360.registry.verify.policy import TrustPolicy
from llm360.registry.verify.verifier import verify_release

OPTS = BuildOptions(created="2026-11-27T00:00:00Z")
UNSIGNED = TrustPolicy(allow_unsigned=True)


def _tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_out_holding_the_run_is_refused_and_untouched(synthetic_run: Path, tmp_path: Path):
    # the reproduction of issue 8.1: mkdir P; cp -a RUN P/run; echo {} > P/manifest.json
    outer = tmp_path / "P"
    outer.mkdir()
    shutil.copytree(synthetic_run, outer / "run")
    (outer / "manifest.json").write_text("{}")
    before = _tree(outer)
    with pytest.raises(InputError, match="holds the run directory"):
        build_release(outer / "run", outer, options=OPTS)
    assert _tree(outer) == before


@pytest.mark.parametrize("content", [
    {"manifest.json": "{}"},                                   # looks like a release, is not
    {"manifest.json": "{}", "release-files.json": "{}"},       # a fake marker
    {"notes.txt": "mine"},                                     # a user's folder
])
def test_foreign_folder_is_refused(synthetic_run: Path, tmp_path: Path, content) -> None:
    out = tmp_path / "out"
    out.mkdir()
    for name, text in content.items():
        (out / name).write_text(text)
    before = _tree(out)
    with pytest.raises(InputError, match="not a release written by llm360"):
        build_release(synthetic_run, out, options=OPTS)
    assert _tree(out) == before


def test_release_with_a_user_file_added_is_not_replaced(synthetic_run: Path, tmp_path: Path):
    out = tmp_path / "rel"
    build_release(synthetic_run, out, options=OPTS)
    (out / "my-notes.md").write_text("mine")
    with pytest.raises(InputError, match="refusing to replace it"):
        build_release(synthetic_run, out, options=OPTS)
    assert (out / "my-notes.md").read_text() == "mine"


def test_out_that_is_a_file_is_refused(synthetic_run: Path, tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(InputError, match="not a folder"):
        build_release(synthetic_run, tmp_path / "file", options=OPTS)
    assert (tmp_path / "file").read_text() == "x"


def test_own_release_is_replaced(synthetic_run: Path, tmp_path: Path) -> None:
    out = tmp_path / "rel"
    first = build_release(synthetic_run, out, options=OPTS)
    second = build_release(synthetic_run, out, options=BuildOptions(created="2027-01-01T00:00:00Z"))
    assert first.manifest_sha256 != second.manifest_sha256
    assert verify_release(out, policy=UNSIGNED).ok
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rel", "run"]


def test_killed_build_leaves_staging_that_the_next_run_cleans(synthetic_run: Path,
                                                              tmp_path: Path) -> None:
    out = tmp_path / "rel"
    build_release(synthetic_run, out, options=OPTS)
    # a build killed mid-way: a staging folder stamped by a process that no longer exists
    code = ("import sys; from pathlib import Path; from llm360.registry.build import release_dir; "
            "print(release_dir.new_staging(Path(sys.argv[1])))")
    done = subprocess.run([sys.executable, "-c", code, str(out)], capture_output=True,
                          text=True, check=True)
    stale = Path(done.stdout.strip())
    (stale / "manifest.json").write_text("{}")
    with pytest.raises(InputError, match="unfinished release"):
        verify_release(stale, policy=UNSIGNED)
    build_release(synthetic_run, out, options=OPTS)
    assert not stale.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rel", "run"]


def test_crash_between_two_renames_is_recovered(synthetic_run: Path, tmp_path: Path,
                                                monkeypatch) -> None:
    out = tmp_path / "rel"
    build_release(synthetic_run, out, options=OPTS)
    monkeypatch.setattr(release_dir, "_exchange", lambda a, b: False)  # no renameat2
    real_rename = os.rename

    def crash_on_second(src, dst):
        real_rename(src, dst)
        if Path(dst).name.startswith(".rel.llm360-old-"):
            raise KeyboardInterrupt  # killed right after the old release moved away
    monkeypatch.setattr(release_dir.os, "rename", crash_on_second)
    with pytest.raises(KeyboardInterrupt):
        build_release(synthetic_run, out, options=BuildOptions(created="2027-01-01T00:00:00Z"))
    monkeypatch.setattr(release_dir.os, "rename", real_rename)
    # as after a kill: no release at --out, the old one beside it under a name of ours
    assert not out.exists()
    assert [p.name.startswith(".rel.llm360-old-") for p in tmp_path.iterdir()].count(True) == 1
    build_release(synthetic_run, out, options=OPTS)  # the rerun finds and finishes it
    assert verify_release(out, policy=UNSIGNED).ok
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rel", "run"]


def test_atomic_exchange_is_used_where_available(synthetic_run: Path, tmp_path: Path,
                                                 monkeypatch) -> None:
    out = tmp_path / "rel"
    build_release(synthetic_run, out, options=OPTS)
    calls = []
    real = release_dir._exchange
    monkeypatch.setattr(release_dir, "_exchange", lambda a, b: calls.append(1) or real(a, b))
    build_release(synthetic_run, out, options=BuildOptions(created="2027-01-01T00:00:00Z"))
    assert calls and verify_release(out, policy=UNSIGNED).ok
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rel", "run"]  # the old one removed



def test_release_is_self_contained_with_no_build_machine_paths(synthetic_run: Path,
                                                               tmp_path: Path) -> None:
    out = tmp_path / "rel"
    result = build_release(synthetic_run, out, options=OPTS)
    assert result.linked == result.files and result.copied == 0
    assert not (out / ".llm360-source.json").exists()
    for rel, data in _tree(out).items():
        assert str(tmp_path).encode() not in data, rel
    manifest = json.loads((out / "manifest.json").read_text())
    for art in manifest["artifacts"]:
        assert (out / art["path"]).is_file()


def test_copies_across_file_systems(synthetic_run: Path, tmp_path: Path, monkeypatch) -> None:
    def no_link(*args, **kwargs):
        raise OSError(errno.EXDEV, "Invalid cross-device link")
    monkeypatch.setattr(release_dir.os, "link", no_link)
    result = build_release(synthetic_run, tmp_path / "rel", options=OPTS)
    assert result.copied == result.files and result.linked == 0
    assert verify_release(tmp_path / "rel", policy=UNSIGNED).ok


def test_metadata_only_verifies_with_root(synthetic_run: Path, tmp_path: Path) -> None:
    out = tmp_path / "rel"
    build_release(synthetic_run, out, options=BuildOptions(created="2026-11-27T00:00:00Z",
                                                           metadata_only=True))
    assert not (out / "checkpoints").exists()
    with pytest.raises(InputError, match="metadata-only release") as info:
        verify_release(out, policy=UNSIGNED)
    assert info.value.hint == "pass --root RUN"
    assert verify_release(out, synthetic_run, policy=UNSIGNED).ok


@pytest.mark.parametrize("name,content,words", [
    ("publication.json", '{"notes": "the team\'s"}', "writes a file of this name itself"),
    ("README.md", "the team's notes", "is never released"),  # prose: refused by its content
])
def test_reserved_name_in_the_run_is_refused(synthetic_run: Path, tmp_path: Path, name: str,
                                             content: str, words: str) -> None:
    (synthetic_run / name).write_text(content)
    with pytest.raises(InputError, match=words):
        build_release(synthetic_run, tmp_path / "rel", options=OPTS)


def test_checkpoint_without_eval_or_log_lines_is_refused(synthetic_run: Path,
                                                         tmp_path: Path) -> None:
    (synthetic_run / "evals/ckpt_002.json").unlink()
    with pytest.raises(InputError, match="ckpt_002 has no eval") as info:
        build_release(synthetic_run, tmp_path / "rel", options=OPTS)
    assert "--allow-missing-records" in info.value.hint
    build_release(synthetic_run, tmp_path / "rel",
                  options=BuildOptions(created="2026-11-27T00:00:00Z",
                                       allow_missing_records=True))


def test_checkpoint_without_log_lines_is_refused(synthetic_run: Path, tmp_path: Path) -> None:
    log = synthetic_run / "logs/train.jsonl"
    lines = log.read_text().splitlines()
    log.write_text("\n".join(lines[:-2]) + "\n")  # a kill lost the last two steps' lines
    with pytest.raises(InputError, match="2 of its steps have no log line"):
        build_release(synthetic_run, tmp_path / "rel", options=OPTS)


def test_cache_link_is_refused(synthetic_run: Path, tmp_path: Path) -> None:
    target = tmp_path / "elsewhere"
    target.mkdir()
    shutil.rmtree(synthetic_run / ".llm360", ignore_errors=True)
    (synthetic_run / ".llm360").symlink_to(target)
    with pytest.raises(UnsafePathError, match="symbolic link"):
        build_release(synthetic_run, tmp_path / "rel", options=OPTS)
    assert list(target.iterdir()) == []


@pytest.mark.parametrize("field, value", [("merkle_root", "1" * 64), ("sequences", 3),
                                          ("tokens", 7)])
def test_index_claims_are_checked_against_the_chunk(synthetic_run: Path, tmp_path: Path,
                                                    field: str, value) -> None:
    index = synthetic_run / "data/index.json"
    data = json.loads(index.read_text())
    data["chunks"][1][field] = value
    index.write_text(json.dumps(data))
    with pytest.raises(InputError, match=rf"\$.chunks\[1\].{field}: says"):
        build_release(synthetic_run, tmp_path / "rel", options=OPTS)


def test_swapped_kind_is_caught(synthetic_run: Path, tmp_path: Path) -> None:
    build_release(synthetic_run, tmp_path / "rel", options=OPTS)
    path = tmp_path / "rel/manifest.json"
    data = json.loads(path.read_text())
    first, second = data["artifacts"][0], data["artifacts"][-1]
    first["kind"], second["kind"] = second["kind"], first["kind"]
    path.write_text(json.dumps(data))
    report = verify_release(path, policy=UNSIGNED)
    assert any(p.code == "field" and p.json_path.endswith(".kind") for p in report.failures)
