"""Hostile input through the command line (issue 8, items 12 and 13; issue 10, item 7): each
case exits 1 or 2 with one error line (and maybe a hint), never 3 and never a traceback, leaves
nothing half-written, and prints no raw control character."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from llm360.cli.main import cli

CREATED = "2026-11-27T00:00:00Z"
ESC = "\x1b"


def run(*args, env: dict | None = None, input: str | None = None):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False, env=env,
                              input=input)


def one_line(result, code: int, words: str) -> None:
    """Exit ``code``; the output is one ``error:`` line naming ``words`` (and maybe a hint)."""
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert result.exit_code == code, result.output
    assert lines and lines[0].startswith("error: ") and words in lines[0], result.output
    assert len(lines) <= 2 and all(ln.startswith(("error: ", "hint: ")) for ln in lines), \
        result.output
    assert "Traceback" not in result.output and ESC not in result.output


@pytest.fixture
def keys(tmp_path: Path) -> tuple[Path, Path]:
    private, public = tmp_path / "k" / "k.pem", tmp_path / "k" / "k.pub"
    assert run("keygen", "--private", private, "--public", public).exit_code == 0
    return private, public


@pytest.fixture
def signed(synthetic_run: Path, keys, tmp_path: Path) -> Path:
    result = run("release", "build", synthetic_run, "--out", tmp_path / "rel", "--sign", "key",
                 "--key", keys[0], "--created", CREATED, "--no-cards")
    assert result.exit_code == 0, result.output
    return tmp_path / "rel" / "manifest.json"


# --- release build -----------------------------------------------------------------------------

def test_out_is_a_file(synthetic_run: Path, tmp_path: Path) -> None:
    (tmp_path / "f").write_text("mine\n")
    one_line(run("release", "build", synthetic_run, "--out", tmp_path / "f"), 2,
             "not a folder")
    one_line(run("release", "build", synthetic_run, "--out", tmp_path / "f" / "rel"), 2,
             "not a folder")
    assert (tmp_path / "f").read_text() == "mine\n"


@pytest.mark.parametrize("epoch", ["1e30", "99999999999999999999", "-99999999999999999",
                                   "garbage", "12.5", "\x1b[2J"])
def test_source_date_epoch_out_of_range(synthetic_run: Path, tmp_path: Path,
                                        epoch: str) -> None:
    result = run("release", "build", synthetic_run, "--out", tmp_path / "rel",
                 env={"SOURCE_DATE_EPOCH": epoch})
    one_line(result, 2, "SOURCE_DATE_EPOCH")
    assert not (tmp_path / "rel").exists()


def test_created_out_of_range(synthetic_run: Path, tmp_path: Path) -> None:
    one_line(run("release", "build", synthetic_run, "--out", tmp_path / "rel", "--created",
                 "0001-01-01T00:00:00+01:00"), 2, "--created")


def test_pickle_named_safetensors(synthetic_run: Path, tmp_path: Path) -> None:
    import pickle

    (synthetic_run / "checkpoints/ckpt_000/optimizer.safetensors").write_bytes(
        pickle.dumps({"exp_avg": [0.0]}, 4))
    result = run("release", "build", synthetic_run, "--out", tmp_path / "rel")
    one_line(result, 2, "optimizer.safetensors: pickle files are never released")
    assert "hint: write tensors as safetensors" in result.output


def test_deeply_nested_run_file(synthetic_run: Path, tmp_path: Path) -> None:
    (synthetic_run / "config/train.json").write_bytes(b"[" * 100_000 + b"]" * 100_000)
    one_line(run("release", "build", synthetic_run, "--out", tmp_path / "rel"), 2,
             "config/train.json: malformed JSON: nested more than 64 levels")


# --- signing-key inputs (issue 10, item 7) ----------------------------------------------------

def test_wrong_passphrase(synthetic_run: Path, tmp_path: Path) -> None:
    (tmp_path / "pw").write_text("right\n")
    (tmp_path / "bad").write_text("wrong\n")
    assert run("keygen", "--private", tmp_path / "e.pem", "--public", tmp_path / "e.pub",
               "--passphrase-file", tmp_path / "pw").exit_code == 0
    base = ("release", "build", synthetic_run, "--out", tmp_path / "rel", "--sign", "key",
            "--key", tmp_path / "e.pem")
    one_line(run(*base), 2, "the private key is encrypted")
    one_line(run(*base, "--passphrase-file", tmp_path / "bad"), 2, "wrong passphrase")
    assert not (tmp_path / "rel").exists()


def test_public_key_given_for_signing(synthetic_run: Path, keys, tmp_path: Path) -> None:
    result = run("release", "build", synthetic_run, "--out", tmp_path / "rel", "--sign", "key",
                 "--key", keys[1])
    one_line(result, 2, "is a public key; signing needs the private key")


def test_private_key_given_for_verifying(signed: Path, keys) -> None:
    one_line(run("verify", signed, "--key", keys[0]), 2, "is a private key")


def test_sigstore_without_a_token(synthetic_run: Path, tmp_path: Path, monkeypatch) -> None:
    for var in ("SIGSTORE_IDENTITY_TOKEN", "SIGSTORE_ID_TOKEN", "ACTIONS_ID_TOKEN_REQUEST_URL",
                "ACTIONS_ID_TOKEN_REQUEST_TOKEN", "GITHUB_ACTIONS", "GOOGLE_SERVICE_ACCOUNT_NAME",
                "BUILDKITE", "CIRCLECI", "GITLAB_CI"):
        monkeypatch.delenv(var, raising=False)
    result = run("release", "build", synthetic_run, "--out", tmp_path / "rel", "--sign",
                 "sigstore", "--trust-config", tmp_path / "unused.json")
    one_line(result, 2, "no identity token")
    assert not (tmp_path / "rel").exists()


def test_prompt_passphrase_without_a_terminal(tmp_path: Path) -> None:
    result = run("keygen", "--private", tmp_path / "k.pem", "--public", tmp_path / "k.pub",
                 "--prompt-passphrase", input="secret\nsecret\n")
    one_line(result, 2, "--prompt-passphrase needs a terminal")
    assert not (tmp_path / "k.pem").exists() and not (tmp_path / "k.pub").exists()


# --- verify on hostile files ------------------------------------------------------------------

def test_deeply_nested_manifest(signed: Path, keys) -> None:
    signed.write_bytes(b'{"release":' + b"[" * 100_000 + b"]" * 100_000 + b"}")
    result = run("verify", signed, "--key", keys[1])
    assert result.exit_code == 1, result.output
    assert "FAIL manifest.json was changed after it was signed" in result.output
    (signed.parent / "manifest.sigstore.json").unlink()
    one_line(run("verify", signed, "--allow-unsigned"), 2, "nested more than 64 levels")


@pytest.mark.parametrize("edit,words", [
    (lambda b: b["verificationMaterial"].__setitem__("publicKey", "PEM"), "publicKey"),
    (lambda b: b["dsseEnvelope"].__setitem__("payloadType", ["x"]), "payloadType"),
    (lambda b: b["dsseEnvelope"].__setitem__("payload", "!!!"), "invalid base64"),
], ids=["publicKey-string", "payloadType-list", "bad-base64"])
def test_hostile_bundle(signed: Path, keys, edit, words: str) -> None:
    path = signed.parent / "manifest.sigstore.json"
    bundle = json.loads(path.read_bytes())
    edit(bundle)
    path.write_text(json.dumps(bundle))
    result = run("verify", signed, "--key", keys[1])
    assert result.exit_code == 1, result.output
    fails = [line for line in result.output.splitlines() if line.startswith("FAIL ")]
    assert len(fails) == 1 and words in fails[0] and "FAILED" in result.output


# --- control characters (item 13) -------------------------------------------------------------

def test_escape_sequences_in_a_file_name_are_shown_escaped(signed: Path, keys) -> None:
    name = "ckpt_000/\x1b[2K\x1b[1A\rall good\u202e.json"
    evil = signed.parent / "checkpoints" / name
    evil.write_text("{}")
    result = run("verify", signed, "--key", keys[1])
    assert result.exit_code == 1
    assert ESC not in result.output and "\r" not in result.output
    assert "\u202e" not in result.output
    line = next(ln for ln in result.output.splitlines() if "all good" in ln)
    assert line.startswith("FAIL ")
    assert "\\x1b[2K\\x1b[1A\\x0dall good\\u202e.json" in line


def test_escape_sequences_in_an_error_line(tmp_path: Path) -> None:
    result = run("verify", tmp_path / "\x1b]0;owned\x07" / "manifest.json")
    one_line(result, 2, "\\x1b]0;owned\\x07")


def test_json_output_escapes_control_characters(signed: Path, keys) -> None:
    (signed.parent / "checkpoints" / "ckpt_000" / "\x1b[31mred.json").write_text("{}")
    result = run("verify", signed, "--key", keys[1], "--json")
    assert ESC not in result.output
    assert any("\x1b[31mred.json" in p["file"] for p in json.loads(result.output)["problems"])


# --- a disk that is really full (item 12) -----------------------------------------------------

def _can_mount_tmpfs(tmp: Path) -> bool:
    if not shutil.which("unshare"):
        return False
    probe = subprocess.run(["unshare", "--user", "--map-root-user", "--mount", "sh", "-c",
                            f"mount -t tmpfs -o size=4k tmpfs {tmp}"],
                           capture_output=True, timeout=30)
    return probe.returncode == 0


def test_release_build_on_a_full_disk(synthetic_run: Path, tmp_path: Path) -> None:
    """A 4 KiB tmpfs (a private mount namespace; no root needed outside it) as --out's parent:
    the kernel answers ENOSPC, build exits 2 with one line and leaves the disk empty."""
    disk = tmp_path / "disk"
    disk.mkdir()
    if not _can_mount_tmpfs(disk):
        pytest.skip("cannot mount a tmpfs in a user namespace here")
    script = (f"mount -t tmpfs -o size=4k tmpfs {disk} && "
              f"{sys.executable} -m llm360.cli.main release build {synthetic_run} "
              f"--out {disk}/rel --created {CREATED} --no-cache; echo \"rc=$?\"; "
              f"echo \"left=$(ls -A {disk} | wc -l)\"")
    out = subprocess.run(["unshare", "--user", "--map-root-user", "--mount", "sh", "-c", script],
                         capture_output=True, text=True, timeout=300,
                         env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert "rc=2" in out.stdout, out.stdout + out.stderr
    assert "left=0" in out.stdout, out.stdout
    errors = [line for line in out.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and "no space left on device writing" in errors[0], out.stderr
    assert "Traceback" not in out.stderr
