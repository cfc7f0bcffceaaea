"""release build and verify on real files: byte-identical rebuilds and every tamper kind."""

import json
import os
import shutil
from pathlib import Path

import pytest

from llm360.errors import InputError, SchemaError, UnsafePathError
from llm360.registry.build import build_release
from llm360.registry.verify import verify_release

CREATED = "2026-11-27T00:00:00Z"


@pytest.fixture
def release(synthetic_run: Path, tmp_path: Path) -> Path:
    build_release(synthetic_run, tmp_path / "rel", created=CREATED)
    return tmp_path / "rel" / "manifest.json"


def _verify(manifest: Path, **kw):
    return verify_release(manifest, allow_unsigned=True, **kw)


def test_clean_release_verifies(release: Path, synthetic_run: Path) -> None:
    report = _verify(release)
    assert report.ok, report.problems
    assert report.root == str(synthetic_run.resolve())
    assert report.files_checked == len(json.loads(release.read_text())["artifacts"])


def test_rebuild_is_byte_identical(synthetic_run: Path, release: Path, tmp_path: Path) -> None:
    first = release.read_bytes()
    build_release(synthetic_run, tmp_path / "rel", created=CREATED)  # from the cache
    assert release.read_bytes() == first
    build_release(synthetic_run, tmp_path / "rel2", created=CREATED, use_cache=False)
    assert (tmp_path / "rel2/manifest.json").read_bytes() == first


def _problems(report) -> list[tuple[str, str]]:
    return [(p.code, p.path) for p in report.failures]


WEIGHTS = "checkpoints/ckpt_001/model.safetensors"


def test_flipped_byte(release: Path, synthetic_run: Path) -> None:
    path = synthetic_run / WEIGHTS
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    report = _verify(release)
    assert _problems(report) == [("sha256", WEIGHTS)]
    assert WEIGHTS in report.failures[0].message


def test_truncation(release: Path, synthetic_run: Path) -> None:
    path = synthetic_run / WEIGHTS
    size = path.stat().st_size
    os.truncate(path, size - 10)
    report = _verify(release)
    assert _problems(report) == [("size", WEIGHTS)]
    assert f"size {size - 10} bytes, manifest says {size}" in report.failures[0].message


def test_extra_file_warns_and_fails_when_strict(release: Path, synthetic_run: Path) -> None:
    (synthetic_run / "checkpoints/ckpt_000/notes.txt").write_text("hi")
    report = _verify(release)
    assert report.ok and [(p.code, p.path) for p in report.problems] == [
        ("extra", "checkpoints/ckpt_000/notes.txt")]
    assert _problems(_verify(release, strict=True)) == [
        ("extra", "checkpoints/ckpt_000/notes.txt")]


def test_missing_file(release: Path, synthetic_run: Path) -> None:
    (synthetic_run / WEIGHTS).unlink()
    assert _problems(_verify(release)) == [("missing", WEIGHTS)]


def test_renamed_file(release: Path, synthetic_run: Path) -> None:
    os.rename(synthetic_run / WEIGHTS, synthetic_run / "checkpoints/ckpt_001/model.bak")
    report = _verify(release, strict=True)
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
    expected = (code, where or manifest["artifacts"][3]["path"])
    assert expected in _problems(report)


def test_pulled_release_verifies_against_its_own_folder(release: Path, synthetic_run: Path,
                                                         tmp_path: Path) -> None:
    pulled = tmp_path / "pulled"
    shutil.copytree(synthetic_run, pulled, ignore=shutil.ignore_patterns(".llm360"))
    shutil.copy(release, pulled / "manifest.json")
    report = _verify(pulled / "manifest.json", strict=True)
    assert report.ok, report.problems


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
        build_release(synthetic_run, tmp_path / "rel", created=CREATED)
    assert info.value.file.endswith("checkpoints/ckpt_001/trainer_state.json")
    assert info.value.json_path == "$.tokens_seen"
    assert not (tmp_path / "rel").exists()


def test_build_refuses_pickles_links_and_missing_runs(synthetic_run: Path,
                                                       tmp_path: Path) -> None:
    with pytest.raises(InputError, match="run directory not found"):
        build_release(tmp_path / "nope", tmp_path / "rel", created=CREATED)
    (synthetic_run / "checkpoints/ckpt_000/extra.pt").write_bytes(b"\x80\x04")
    with pytest.raises(InputError, match="pickle files are never released"):
        build_release(synthetic_run, tmp_path / "rel", created=CREATED)
    (synthetic_run / "checkpoints/ckpt_000/extra.pt").unlink()
    (synthetic_run / "data/link.safetensors").symlink_to(synthetic_run / WEIGHTS)
    with pytest.raises(UnsafePathError, match="symbolic link"):
        build_release(synthetic_run, tmp_path / "rel", created=CREATED)


def test_inconsistent_run_is_refused(synthetic_run: Path, tmp_path: Path) -> None:
    chunk = synthetic_run / "data/chunk_001.safetensors"
    data = bytearray(chunk.read_bytes())
    data[-1] ^= 0xFF
    chunk.write_bytes(bytes(data))
    with pytest.raises(InputError, match=r"data/chunk_001.safetensors: sha256 .* differs from "
                                         r"data/index.json \$.chunks\[1\].sha256"):
        build_release(synthetic_run, tmp_path / "rel", created=CREATED)


def test_failed_rebuild_keeps_the_previous_release(synthetic_run: Path, release: Path,
                                                   tmp_path: Path) -> None:
    before = release.read_bytes()
    (synthetic_run / "llm360.yaml").write_text("name: [unclosed\n")
    with pytest.raises(InputError, match="malformed YAML"):
        build_release(synthetic_run, release.parent, created=CREATED)
    assert release.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rel", "run"]
