"""The OpenSSF ``model-signing`` package verifies llm360's per-checkpoint ``model.sig`` with the
public key, and rejects it after one byte of a weight file changes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

verifying = pytest.importorskip("model_signing.verifying",
                                reason="the test extra installs model-signing (+ pyOpenSSL)")


def _verify(ckpt_dir: Path, sig: Path, public: Path) -> None:
    verifying.Config().use_elliptic_key_verifier(public_key=public).verify(ckpt_dir, sig)


def test_every_checkpoint_verifies(key_release: Path, key_pair, synthetic_run: Path) -> None:
    for ckpt in ("ckpt_000", "ckpt_001", "ckpt_002"):
        _verify(synthetic_run / "checkpoints" / ckpt,
                key_release.parent / "signatures" / ckpt / "model.sig", key_pair[1])


def test_one_changed_byte_is_rejected(key_release: Path, key_pair, synthetic_run: Path) -> None:
    ckpt = synthetic_run / "checkpoints" / "ckpt_002"
    weights = ckpt / "model.safetensors"
    raw = bytearray(weights.read_bytes())
    raw[len(raw) // 2] ^= 0x01
    weights.write_bytes(bytes(raw))
    with pytest.raises(ValueError, match="Hash mismatch for 'model.safetensors'"):
        _verify(ckpt, key_release.parent / "signatures" / "ckpt_002" / "model.sig", key_pair[1])


def test_wrong_public_key_is_rejected(key_release: Path, synthetic_run: Path,
                                      tmp_path: Path) -> None:
    from llm360.registry.signing import write_key_pair

    write_key_pair(tmp_path / "o.pem", tmp_path / "o.pub")
    with pytest.raises(ValueError, match="Key mismatch"):
        _verify(synthetic_run / "checkpoints" / "ckpt_000",
                key_release.parent / "signatures" / "ckpt_000" / "model.sig", tmp_path / "o.pub")


@pytest.mark.slow
def test_model_signing_cli(key_release: Path, key_pair, synthetic_run: Path) -> None:
    """The command a user runs after downloading one checkpoint branch."""
    cmd = [sys.executable, "-m", "model_signing", "verify", "key",
           str(synthetic_run / "checkpoints" / "ckpt_001"),
           "--signature", str(key_release.parent / "signatures" / "ckpt_001" / "model.sig"),
           "--public_key", str(key_pair[1])]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Verification succeeded" in done.stdout + done.stderr


def test_downloaded_branch_with_card_and_signature(key_release: Path, key_pair,
                                                   synthetic_run: Path, tmp_path: Path) -> None:
    """A checkpoint branch as the Hub serves it: the files plus README.md and model.sig."""
    import shutil

    branch = tmp_path / "ckpt_001"
    shutil.copytree(synthetic_run / "checkpoints" / "ckpt_001", branch)
    (branch / "README.md").write_text("# ckpt_001\n")
    shutil.copy(key_release.parent / "signatures" / "ckpt_001" / "model.sig", branch)
    _verify(branch, branch / "model.sig", key_pair[1])
