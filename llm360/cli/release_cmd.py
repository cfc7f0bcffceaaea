"""``llm360 release build``: package a run directory into a release."""

from __future__ import annotations

import os
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

import click

from llm360.cli._render import echo, echo_json, progress_bar
from llm360.errors import InputError
from llm360.registry.build.release import BuildOptions, build_release, format_created

if TYPE_CHECKING:
    from llm360.registry.signing import Signer

__all__ = ["release"]


@click.group()
def release() -> None:
    """Build releases from run directories."""


def _created(value: str | None) -> str:
    if value:
        try:
            when = datetime.fromisoformat(value.replace("Z", "+00:00"))
            if when.tzinfo is None:
                when = when.replace(tzinfo=timezone.utc)
            return format_created(when)
        except (ValueError, OverflowError):
            raise InputError(f"--created: {value!r} is not an ISO 8601 time",
                             hint="e.g. 2026-11-27T00:00:00Z") from None
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch:
        try:
            return format_created(datetime.fromtimestamp(int(epoch), timezone.utc))
        except (ValueError, OverflowError, OSError):
            raise InputError(f"SOURCE_DATE_EPOCH: {epoch[:40]!r} is not a Unix time in range",
                             hint="whole seconds since 1970, e.g. 1795737600") from None
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
              help="Release folder to write: new, empty, or a release llm360 wrote (then "
                   "replaced atomically). Anything else is refused.")
@click.option("--created", help="Pin the release time (ISO 8601); default SOURCE_DATE_EPOCH "
              "or now. Pinned, an unchanged run rebuilds to byte-identical output.")
@click.option("--no-cache", is_flag=True,
              help="Hash every byte and validate every record again (the hash and "
                   "validation caches in RUN/.llm360/ are not used).")
@click.option("--sign", "sign", type=click.Choice(["none", "key", "sigstore"]), default="none",
              show_default=True, help="Sign the manifest (SLSA provenance), the release's "
              "cards and plots, and every checkpoint (OMS model.sig): with a private key, or "
              "keyless with Sigstore.")
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
@click.option("--no-cards", is_flag=True,
              help="Do not render README.md, cards/, DATA_CARD.md and plots/.")
@click.option("--metadata-only", is_flag=True,
              help="Leave the artifacts in RUN (the release then verifies with --root RUN "
                   "only); by default the release holds every artifact (hard links where RUN "
                   "and the release share a file system, copies otherwise).")
@click.option("--allow-missing-records", is_flag=True,
              help="Accept checkpoints without their eval or the log lines of their steps "
                   "(absent on purpose, e.g. imported checkpoints).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def build(run_dir: Path, out_dir: Path, created: str | None, no_cache: bool, sign: str,
          key_path: Path | None, passphrase_file: Path | None, identity_token: str | None,
          staging: bool, trust_config: Path | None, no_cards: bool, metadata_only: bool,
          allow_missing_records: bool, as_json: bool) -> int:
    """Package the run directory RUN into a self-contained release at --out.

    Validates every record of RUN against its schema, hashes every file (cached in
    RUN/.llm360/ so a rebuild hashes only new bytes), checks each claim it signs against the
    bytes (chunk rows, tokens and Merkle roots, parents' root digests, an eval and log lines
    for every checkpoint), then writes RELEASE/: the run's artifacts, manifest.json, cards and
    plots, release-files.json and, when signed, the signatures. The folder is assembled beside
    --out and swapped into place; an interrupted build leaves the previous release.
    """

    def body() -> int:
        options = BuildOptions(created=_created(created), use_cache=not no_cache,
                               metadata_only=metadata_only,
                               allow_missing_records=allow_missing_records, cards=not no_cards)
        passphrase = _passphrase(passphrase_file)

        def signer() -> Signer | None:  # made once the files hash (cryptography loads meanwhile)
            from llm360.registry.signing import make_signer

            return make_signer(sign, key_path=key_path, passphrase=passphrase,
                               identity_token=identity_token if sign == "sigstore" else None,
                               trust_config=trust_config, staging=staging)

        with progress_bar("hashing", enabled=not as_json) as (advance, set_total):
            result = build_release(run_dir, out_dir, options=options, signer=signer,
                                   progress=advance, on_total=set_total)
        release_dir = result.manifest_path.parent
        if as_json:
            echo_json({"manifest": str(result.manifest_path), "sha256": result.manifest_sha256,
                       "files": result.files, "bytes": result.bytes,
                       "checkpoints": len(result.manifest.checkpoints), "signed": sign,
                       "layout": "metadata-only" if metadata_only else "full",
                       "linked": result.linked, "copied": result.copied,
                       "release_files": result.release_files})
            return 0
        echo(f"release {result.manifest.release.name} "
             f"{result.manifest.release.version}: {result.files} files, "
             f"{result.bytes} bytes, {len(result.manifest.checkpoints)} checkpoints")
        if metadata_only:
            echo(f"metadata only: the artifacts stay in {run_dir} (verify with "
                 f"--root {run_dir})")
        else:
            echo(f"artifacts in {release_dir}: {result.linked} hard-linked, "
                 f"{result.copied} copied")
        echo(f"manifest {result.manifest_path} (sha256 {result.manifest_sha256})")
        if allow_missing_records:
            echo("--allow-missing-records: checkpoints without evals or log lines were "
                 "accepted")
        if sign != "none":
            echo(f"signed ({sign}): {release_dir}/manifest.sigstore.json (manifest and "
                 f"{result.release_files} release files) and "
                 "signatures/<checkpoint>/model.sig")
        return 0

    return body()
