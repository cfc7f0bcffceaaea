"""The llm360 command as a user runs it: build, verify, and bad input without tracebacks."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from llm360.cli.main import cli

CREATED = "2026-11-27T00:00:00Z"


def run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.fixture
def release(synthetic_run: Path, tmp_path: Path) -> Path:
    result = run("release", "build", str(synthetic_run), "--out", str(tmp_path / "rel"),
                 "--created", CREATED)
    assert result.exit_code == 0, result.output
    return tmp_path / "rel" / "manifest.json"


def test_build_then_verify(release: Path) -> None:
    result = run("verify", str(release), "--allow-unsigned")
    assert result.exit_code == 0, result.output
    assert "VERIFIED" in result.output and "unsigned" in result.output


def test_verify_json(release: Path) -> None:
    result = run("verify", str(release), "--allow-unsigned", "--json")
    data = json.loads(result.output)
    assert result.exit_code == 0 and data["ok"] is True and data["problems"] == []


def test_tamper_exits_1_naming_the_artifact(release: Path, synthetic_run: Path) -> None:
    (synthetic_run / "evals/ckpt_001.json").write_text("{}")
    result = run("verify", str(release), "--allow-unsigned")
    assert result.exit_code == 1
    assert "FAIL evals/ckpt_001.json: size" in result.output


def test_verify_names_each_deleted_file_on_its_own_line(release: Path,
                                                        synthetic_run: Path) -> None:
    # deleted from the run, verified with --root RUN (the manifest's fields against the run's
    # records: once two cut lists), then from the release itself
    gone = ["checkpoints/ckpt_000/optimizer.safetensors", "checkpoints/ckpt_001/rng.safetensors"]
    for folder, args in ((synthetic_run, ["--root", str(synthetic_run)]), (release.parent, [])):
        for rel in gone:
            (folder / rel).unlink()
        result = run("verify", str(release), "--allow-unsigned", *args)
        assert result.exit_code == 1, result.output
        lines = result.output.splitlines()
        for rel in gone:
            assert [line for line in lines if rel in line] == [next(
                line for line in lines if line.startswith(f"FAIL {rel}: ")
                and "missing" in line)], result.output
        assert not any(line.startswith("FAIL") and "..." in line for line in lines), \
            result.output  # no list cut short
    data = json.loads(run("verify", str(release), "--allow-unsigned", "--json").output)
    assert sorted(p["file"] for p in data["problems"] if p["code"] == "missing") == gone


def test_run_check_on_a_release_folder_says_it_is_a_release(release: Path) -> None:
    result = run("run", "check", str(release.parent))
    assert result.exit_code == 2, result.output
    assert result.output.splitlines()[0] == (
        f"error: {release.parent}: a release folder (it holds manifest.json), not a run "
        "directory")
    assert "llm360 verify" in result.output and "README.md" not in result.output


def test_source_date_epoch_pins_created(synthetic_run: Path, tmp_path: Path) -> None:
    result = CliRunner(env={"SOURCE_DATE_EPOCH": "1795824000"}).invoke(
        cli, ["release", "build", str(synthetic_run), "--out", str(tmp_path / "r"), "--json"])
    assert result.exit_code == 0, result.output
    manifest = json.loads((tmp_path / "r/manifest.json").read_text())
    assert manifest["release"]["created"] == "2026-11-28T00:00:00Z"


def _bad_manifest(tmp_path: Path, content: bytes) -> Path:
    path = tmp_path / "bad" / "manifest.json"
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(content)
    return path


def _escape(release: Path) -> bytes:
    data = json.loads(release.read_text())
    data["artifacts"][0]["path"] = "../../etc/passwd"
    return json.dumps(data).encode()


def _version(release: Path) -> bytes:
    data = json.loads(release.read_text())
    data["schema_version"] = "llm360.manifest/v2"
    return json.dumps(data).encode()


@pytest.mark.parametrize("make, message", [
    (lambda r: b'{"schema_version": "llm360.manifest/v1", "release": {', "truncated JSON"),
    (lambda r: b"[1, 2,, 3]", "malformed JSON"),
    (lambda r: b'{"name": "caf\xe9"}', "not UTF-8 text"),
    (_version, "unsupported schema_version 'llm360.manifest/v2'"),
    (_escape, "$.artifacts[0].path: '../../etc/passwd' is not a relative POSIX path"),
], ids=["truncated", "malformed", "non-utf8", "schema-version", "path-escape"])
def test_bad_manifests_exit_2_without_traceback(release: Path, tmp_path: Path, make,
                                                message: str) -> None:
    bad = _bad_manifest(tmp_path, make(release))
    result = run("verify", str(bad), "--allow-unsigned", "--root", str(release.parent))
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output
    assert len([ln for ln in result.output.splitlines() if ln.startswith("error:")]) == 1


def test_missing_run_directory_exits_2(tmp_path: Path) -> None:
    result = run("release", "build", str(tmp_path / "nope"), "--out", str(tmp_path / "r"))
    assert result.exit_code == 2
    assert "run directory not found" in result.output and "hint:" in result.output


def test_non_utf8_run_file_exits_2(synthetic_run: Path, tmp_path: Path) -> None:
    (synthetic_run / "config/train.json").write_bytes(b'{"backend": "t\xf6rch"}')
    result = run("release", "build", str(synthetic_run), "--out", str(tmp_path / "r"))
    assert result.exit_code == 2
    assert "config/train.json: not UTF-8 text" in result.output


def test_schema_error_names_file_and_json_path(synthetic_run: Path, tmp_path: Path) -> None:
    (synthetic_run / "evals/ckpt_002.json").write_text(json.dumps({
        "schema_version": "llm360.eval/v1", "checkpoint": "ckpt_002", "step": 12,
        "tokens_seen": 384, "metrics": {"heldout_loss": "low"}}))
    result = run("release", "build", str(synthetic_run), "--out", str(tmp_path / "r"))
    assert result.exit_code == 2
    assert "evals/ckpt_002.json: $.metrics.heldout_loss: 'low' is not of type 'number'" \
        in result.output


def test_verbose_shows_the_traceback(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "llm360.cli.main", "--verbose", "verify",
                             str(tmp_path / "none.json")], capture_output=True, text=True)
    assert result.returncode == 2
    assert "Traceback" in result.stderr and "manifest not found" in result.stderr


def test_help_explains_each_command() -> None:
    for args in (["--help"], ["release", "build", "--help"], ["verify", "--help"]):
        result = run(*args)
        assert result.exit_code == 0 and "Usage:" in result.output
