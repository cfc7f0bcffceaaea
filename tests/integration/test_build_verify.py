"""release build and verify on real files: byte-identical rebuilds and every tamper kind."""

import json
import os
import shutil
from pathlib import Path

import pytest

from llm360.errors import InputError, SchemaError, UnsafePathError
from llm360.registry.build.release import BuildOptions, build_release
from llm360.registry.verify.policy import TrustPolicy
from llm360.registry.verify.verifier import verify_release

CREATED = "2026-11-27T00:00:00Z"


@pytest.fixture
def release(synthetic_run: Path, tmp_path: Path) -> Path:
    build_release(synthetic_run, tmp_path / "rel", options=BuildOptions(created=CREATED))
    return tmp_path / "rel" / "manifest.json"


def _verify(manifest: Path, **kw):
    return verify_release(manifest, policy=TrustPolicy(allow_unsigned=True, **kw))


def _signed_count(release: Path) -> int:
    """The artifacts the manifest lists and the cards, plots and exports
    release-files.json lists (a build writes both)."""
    listed = json.loads((release.parent / "release-files.json").read_text())["files"]
    assert {"croissant.json", "bom.spdx.json", "bom.cdx.json", "README.md"} <= \
        {f["path"] for f in listed}
    return len(json.loads(release.read_text())["artifacts"]) + len(listed)


def test_clean_release_verifies(release: Path, synthetic_run: Path) -> None:
    report = _verify(release)
    assert report.ok, report.problems
    assert report.root == str(release.parent)
    assert report.files_checked == _signed_count(release)


def test_rebuild_is_byte_identical(synthetic_run: Path, release: Path, tmp_path: Path) -> None:
    first = release.read_bytes()
    build_release(synthetic_run, tmp_path / "rel",
                  options=BuildOptions(created=CREATED))  # from the cache
    assert release.read_bytes() == first
    build_release(synthetic_run, tmp_path / "rel2",
                  options=BuildOptions(created=CREATED, use_cache=False))
    assert (tmp_path / "rel2/manifest.json").read_bytes() == first


def _problems(report) -> list[tuple[str, str]]:
    return [(p.code, p.file) for p in report.failures]


WEIGHTS = "checkpoints/ckpt_001/model.safetensors"


def test_flipped_byte(release: Path) -> None:
    path = release.parent / WEIGHTS
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    report = _verify(release)
    assert _problems(report) == [("sha256", WEIGHTS)]
    assert WEIGHTS in report.failures[0].message


def test_truncation(release: Path) -> None:
    path = release.parent / WEIGHTS
    size = path.stat().st_size
    os.truncate(path, size - 10)
    report = _verify(release)
    assert _problems(report) == [("size", WEIGHTS)]
    assert f"size {size - 10} bytes, signed {size}" in report.failures[0].message


@pytest.mark.parametrize("extra", ["checkpoints/ckpt_000/pytorch_model.bin",
                                   "checkpoints/ckpt_000/adapter_config.json", "install.sh"])
def test_unlisted_file_fails_unless_allowed(release: Path, extra: str) -> None:
    (release.parent / extra).write_text("hi")
    where = extra
    report = _verify(release)
    assert _problems(report) == [("extra", where)]
    allowed = _verify(release, allow_extra=True)
    assert allowed.ok and [(p.code, p.file) for p in allowed.problems] == [("extra", where)]
    assert "--allow-extra is in force" in allowed.notes


def test_missing_file(release: Path) -> None:
    (release.parent / WEIGHTS).unlink()
    assert _problems(_verify(release)) == [("missing", WEIGHTS)]


def test_renamed_file(release: Path) -> None:
    rel = release.parent
    os.rename(rel / WEIGHTS, rel / "checkpoints/ckpt_001/model.bak")
    report = _verify(release)
    assert sorted(_problems(report)) == [("extra", "checkpoints/ckpt_001/model.bak"),
                                         ("missing", WEIGHTS)]


@pytest.mark.parametrize("edit, code, where", [
    (lambda m: m["artifacts"][3].update(sha256="0" * 64), "sha256", None),
    (lambda m: m["checkpoints"][1].update(step=6), "field", "$.checkpoints[1].step"),
    (lambda m: m["release"].update(description="A much better model"), "field",
     "$.release.description"),
    (lambda m: m["release"]["licenses"].update(data="MIT"), "field",
     "$.release.licenses.data"),
    (lambda m: m["data"]["chunks"][0].update(merkle_root="1" * 64), "field",
     "$.data.chunks[0].merkle_root"),
    (lambda m: m["data"].update(merkle="legacy"), "field", "$.data.merkle"),
    (lambda m: m["release"]["licenses"]["components"].update(datasets="CC0-1.0"), "field",
     "$.release.licenses.components.datasets"),
    (lambda m: m["checkpoints"][2]["metrics"].update(heldout_loss=0.01), "field",
     "$.checkpoints[2].metrics.heldout_loss"),
])
def test_edited_manifest_field(release: Path, edit, code: str, where: str | None) -> None:
    manifest = json.loads(release.read_text())
    edit(manifest)
    release.write_text(json.dumps(manifest))
    report = _verify(release)
    assert not report.ok
    found = [(p.code, p.json_path or p.file) for p in report.failures]
    assert (code, where or manifest["artifacts"][3]["path"]) in found


def test_release_copied_alone_verifies(release: Path, synthetic_run: Path,
                                       tmp_path: Path) -> None:
    copied = tmp_path / "elsewhere" / "copy"
    shutil.copytree(release.parent, copied)
    shutil.rmtree(synthetic_run)
    report = _verify(copied)  # the folder, not only its manifest.json
    assert report.ok, report.problems
    assert report.files_checked == _signed_count(release)
    assert str(tmp_path / "run") not in (copied / "manifest.json").read_text()


def test_unsigned_fails_without_allow_unsigned(release: Path) -> None:
    report = verify_release(release)
    assert [p.code for p in report.failures] == ["signature"]
    assert "unsigned" in report.failures[0].message


def test_build_errors_name_file_and_path(synthetic_run: Path, tmp_path: Path) -> None:
    state = synthetic_run / "checkpoints/ckpt_001/trainer_state.json"
    data = json.loads(state.read_text())
    data["tokens_seen"] = "many"
    state.write_text(json.dumps(data))
    with pytest.raises(SchemaError) as info:
        build_release(synthetic_run, tmp_path / "rel", options=BuildOptions(created=CREATED))
    assert info.value.file.endswith("checkpoints/ckpt_001/trainer_state.json")
    assert info.value.json_path == "$.tokens_seen"
    assert not (tmp_path / "rel").exists()


def test_build_refuses_pickles_links_and_missing_runs(synthetic_run: Path,
                                                       tmp_path: Path) -> None:
    with pytest.raises(InputError, match="run directory not found"):
        build_release(tmp_path / "nope", tmp_path / "rel", options=BuildOptions(created=CREATED))
    (synthetic_run / "checkpoints/ckpt_000/extra.pt").write_bytes(b"\x80\x04")
    with pytest.raises(InputError, match="pickle files are never released"):
        build_release(synthetic_run, tmp_path / "rel", options=BuildOptions(created=CREATED))
    (synthetic_run / "checkpoints/ckpt_000/extra.pt").unlink()
    (synthetic_run / "data/link.safetensors").symlink_to(synthetic_run / WEIGHTS)
    with pytest.raises(UnsafePathError, match="symbolic link"):
        build_release(synthetic_run, tmp_path / "rel", options=BuildOptions(created=CREATED))


def test_inconsistent_run_is_refused(synthetic_run: Path, tmp_path: Path) -> None:
    chunk = synthetic_run / "data/chunk_001.safetensors"
    data = bytearray(chunk.read_bytes())
    data[-1] ^= 0xFF
    chunk.write_bytes(bytes(data))
    with pytest.raises(InputError, match=r"data/index.json: \$.chunks\[1\].sha256: is not the "
                                         r"sha256 of data/chunk_001.safetensors"):
        build_release(synthetic_run, tmp_path / "rel", options=BuildOptions(created=CREATED))


def test_failed_rebuild_keeps_the_previous_release(synthetic_run: Path, release: Path,
                                                   tmp_path: Path) -> None:
    before = release.read_bytes()
    (synthetic_run / "llm360.yaml").write_text("name: [unclosed\n")
    with pytest.raises(InputError, match="malformed YAML"):
        build_release(synthetic_run, release.parent, options=BuildOptions(created=CREATED))
    assert release.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rel", "run"]
