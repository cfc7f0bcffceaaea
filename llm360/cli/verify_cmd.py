"""``llm360 verify``: prove every byte of a release is what its manifest says."""

from __future__ import annotations

from pathlib import Path

import click

from llm360.cli._render import echo_json, progress_bar, run_command
from llm360.registry.verify import verify_release

__all__ = ["verify"]


@click.command()
@click.argument("manifest", type=click.Path(path_type=Path))
@click.option("--root", type=click.Path(path_type=Path),
              help="Folder holding the artifacts (default: the run the release was built from, "
                   "else the manifest's folder).")
@click.option("--strict", is_flag=True, help="Fail on files on disk the manifest does not list.")
@click.option("--allow-unsigned", is_flag=True,
              help="Accept a manifest with no signature (the report says it is unsigned).")
@click.option("--key", type=click.Path(path_type=Path),
              help="Verify a key-signed release with this public key (PEM).")
@click.option("--identity", help="Keyless: the signer's certificate identity (with --issuer).")
@click.option("--issuer", help="Keyless: the signer's OIDC issuer URL (with --identity).")
@click.option("--offline", is_flag=True,
              help="Keyless: use the trusted root embedded in sigstore-python (no network).")
@click.option("--trust-config", type=click.Path(path_type=Path),
              help="Keyless: a ClientTrustConfig JSON (private Sigstore instance).")
@click.option("--staging", is_flag=True, help="Keyless: Sigstore's staging instance.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def verify(manifest: Path, root: Path | None, strict: bool, allow_unsigned: bool,
           key: Path | None, identity: str | None, issuer: str | None, offline: bool,
           trust_config: Path | None, staging: bool, as_json: bool) -> None:
    """Verify MANIFEST (RELEASE/manifest.json) and every artifact it lists.

    Checks the schema, each artifact's presence, size and sha256, files the manifest does not
    list, lineage (parents exist, no cycles, steps and tokens grow) and every field against the
    run's own records. Exit 0 verified, 1 verification failed, 2 bad input.
    """

    def body() -> int:
        with progress_bar("verifying", enabled=not as_json) as (advance, set_total):
            report = verify_release(manifest, root, strict=strict, progress=advance,
                                    on_total=set_total, allow_unsigned=allow_unsigned,
                                    key=key, identity=identity, issuer=issuer,
                                    offline=offline, trust_config=trust_config,
                                    staging=staging)
        if as_json:
            echo_json(report.as_data())
        else:
            for problem in report.problems:
                fails = problem.code != "extra" or report.strict
                click.echo(f"{'FAIL' if fails else 'warn'} {problem.message}")
            for note in report.notes:
                click.echo(f"note: {note}")
            sig = report.signature or {}
            if sig.get("verified"):
                who = (f"key {sig.get('key_fingerprint', '')[:16]}..." if sig.get("method") == "key"
                       else f"{sig.get('identity')} ({sig.get('issuer')})")
                click.echo(f"signature: {sig.get('method')}, signed by {who}; "
                           f"{sig.get('checkpoints_verified', 0)} checkpoint signatures verified")
            elif sig.get("unsigned"):
                click.echo("signature: none (the manifest is unsigned)")
            verdict = "VERIFIED" if report.ok else "FAILED"
            click.echo(f"{verdict}: {report.files_checked} files, {report.bytes_checked} bytes "
                       f"checked against {report.root}; manifest sha256 {report.manifest_sha256}")
        return 0 if report.ok else 1

    run_command(body)
