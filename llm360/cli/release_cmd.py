"""``llm360 release build``: package a run directory into a release."""

from __future__ import annotations

import os
from datetime import datetime, timezone
from pathlib import Path

import click

from llm360.cli._render import echo_json, progress_bar, run_command
from llm360.errors import InputError
from llm360.registry.build import build_release, format_created

__all__ = ["release"]


@click.group()
def release() -> None:
    """Build releases from run directories."""


def _created(value: str | None) -> str:
    if value:
        try:
            when = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise InputError(f"--created: {value!r} is not an ISO 8601 time",
                             hint="e.g. 2026-11-27T00:00:00Z") from None
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        return format_created(when)
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch:
        try:
            return format_created(datetime.fromtimestamp(int(epoch), timezone.utc))
        except ValueError:
            raise InputError(f"SOURCE_DATE_EPOCH: {epoch!r} is not a Unix time") from None
    return format_created()


def _passphrase(path: Path | None) -> bytes | None:
    if path is None:
        return None
    try:
        text = Path(path).read_bytes().splitlines()
    except OSError as exc:
        raise InputError(f"{path}: cannot read the passphrase file ({exc.strerror})") from None
    return text[0] if text and text[0] else None


@release.command("build")
@click.argument("run_dir", metavar="RUN", type=click.Path(path_type=Path))
@click.option("--out", "out_dir", required=True, type=click.Path(path_type=Path),
              help="Release folder to write (replaced atomically if it holds a release).")
@click.option("--created", help="Pin the release time (ISO 8601); default SOURCE_DATE_EPOCH "
              "or now. Pinned, an unchanged run rebuilds to byte-identical output.")
@click.option("--no-cache", is_flag=True, help="Hash every byte again, ignoring RUN/.llm360/.")
@click.option("--sign", "sign", type=click.Choice(["none", "key", "sigstore"]), default="none",
              show_default=True, help="Sign the manifest (SLSA provenance) and every checkpoint "
              "(OMS model.sig): with a private key, or keyless with Sigstore.")
@click.option("--key", "key_path", type=click.Path(path_type=Path),
              help="--sign key: the ECDSA private key (PEM, from llm360 keygen).")
@click.option("--passphrase-file", type=click.Path(path_type=Path),
              help="--sign key: file whose first line is the private key's passphrase.")
@click.option("--identity-token", envvar="SIGSTORE_IDENTITY_TOKEN", show_envvar=True,
              help="--sign sigstore: the OIDC identity token (default: the ambient CI "
                   "credential, e.g. GitHub Actions with id-token: write).")
@click.option("--staging", is_flag=True, help="--sign sigstore: use Sigstore's staging instance.")
@click.option("--trust-config", type=click.Path(path_type=Path),
              help="--sign sigstore: a ClientTrustConfig JSON for a private Sigstore instance.")
@click.option("--no-cards", is_flag=True,  # cards (issue 5)
              help="Do not render README.md, cards/, DATA_CARD.md and plots/.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def build(run_dir: Path, out_dir: Path, created: str | None, no_cache: bool, sign: str,
          key_path: Path | None, passphrase_file: Path | None, identity_token: str | None,
          staging: bool, trust_config: Path | None, as_json: bool,
          no_cards: bool = False) -> None:
    """Package the run directory RUN into a release at --out.

    Validates every record of RUN against its schema, hashes every file (cached in
    RUN/.llm360/ so a rebuild hashes only new bytes), and writes RELEASE/manifest.json.
    """

    def body() -> int:
        from llm360.registry.signing import signing_step

        step = signing_step(sign, key_path=key_path,
                            passphrase=_passphrase(passphrase_file),
                            identity_token=identity_token if sign == "sigstore" else None,
                            trust_config=trust_config, staging=staging)
        steps = (step,) if step is not None else ()
        # cards (issue 5): rendered last, after signing, so they describe the signature
        if not no_cards:
            from llm360.registry.cards import cards_step

            steps += (cards_step(),)
        with progress_bar("hashing", enabled=not as_json) as (advance, set_total):
            result = build_release(run_dir, out_dir, created=_created(created), progress=advance,
                                   on_total=set_total, use_cache=not no_cache,
                                   extra_steps=steps)
        if as_json:
            echo_json({"manifest": str(result.manifest_path), "sha256": result.manifest_sha256,
                       "files": result.files, "bytes": result.bytes,
                       "checkpoints": len(result.manifest.checkpoints), "signed": sign})
        else:
            click.echo(f"release {result.manifest.release.name} "
                       f"{result.manifest.release.version}: {result.files} files, "
                       f"{result.bytes} bytes, {len(result.manifest.checkpoints)} checkpoints")
            click.echo(f"manifest {result.manifest_path} (sha256 {result.manifest_sha256})")
            if sign != "none":
                click.echo(f"signed ({sign}): {result.manifest_path.parent}/"
                           "manifest.sigstore.json and signatures/<checkpoint>/model.sig")
        return 0

    run_command(body)
