"""What the Hub commands share: the endpoint/token/Xet options (the environment is read here,
never in the library), the trust options of verify, and the report rendering of verify --hub."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

__all__ = ["hub_options", "trust_options", "client_from", "policy_from", "truthy"]


def truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


def hub_options(fn):
    """--endpoint (HF_ENDPOINT), --no-xet (HF_HUB_DISABLE_XET); the token is HF_TOKEN or the
    huggingface_hub login."""
    fn = click.option("--no-xet", is_flag=True,
                      help="Upload through Git LFS instead of Xet (also HF_HUB_DISABLE_XET=1); "
                           "needed by Hub servers without Xet.")(fn)
    fn = click.option("--endpoint", metavar="URL",
                      help="Hub endpoint (default: HF_ENDPOINT, else https://huggingface.co). "
                           "The token is HF_TOKEN, else the `hf auth login` token.")(fn)
    return fn


def trust_options(fn):
    """The signature options of ``llm360 verify``."""
    for opt in reversed([
        click.option("--key", type=click.Path(path_type=Path),
                     help="Verify a key-signed release with this public key (PEM)."),
        click.option("--identity", help="Keyless: the signer's certificate identity."),
        click.option("--issuer", help="Keyless: the signer's OIDC issuer URL."),
        click.option("--offline", is_flag=True,
                     help="Keyless: the trusted root embedded in sigstore-python."),
        click.option("--trust-config", type=click.Path(path_type=Path),
                     help="Keyless: a ClientTrustConfig JSON (private Sigstore instance)."),
        click.option("--staging", is_flag=True, help="Keyless: Sigstore's staging instance."),
        click.option("--allow-unsigned", is_flag=True,
                     help="Accept a manifest with no signature (the report says so)."),
    ]):
        fn = opt(fn)
    return fn


def policy_from(params: dict) -> dict:
    return {k: params[k] for k in ("key", "identity", "issuer", "offline", "trust_config",
                                   "staging", "allow_unsigned")}


def client_from(endpoint: str | None, no_xet: bool, *, quiet: bool = False):
    from llm360.registry.hub import connect

    endpoint = endpoint or os.environ.get("HF_ENDPOINT") or None
    xet = not (no_xet or truthy(os.environ.get("HF_HUB_DISABLE_XET")))
    return connect(endpoint=endpoint, token=os.environ.get("HF_TOKEN") or None, xet=xet,
                   progress_bars=not quiet and sys.stderr.isatty())


def verify_hub_command(repo: str, *, revision: str, data_repo: str | None, download: bool,
                       endpoint: str | None, no_xet: bool, as_json: bool, policy: dict) -> None:
    """The body of ``llm360 verify --hub``."""
    from llm360.cli._render import echo_json, progress_bar, run_command

    def body() -> int:
        from llm360.registry.hub import verify_hub

        client = client_from(endpoint, no_xet, quiet=True)
        with progress_bar("verifying", enabled=not as_json) as (advance, _total):
            report, source = verify_hub(client, repo, revision=revision, data_repo=data_repo,
                                        download=download, progress=advance, **policy)
        data = report.as_data()
        data["endpoint"] = client.endpoint
        data["bytes_downloaded"] = source.bytes_downloaded
        if as_json:
            echo_json(data)
            return 0 if report.ok else 1
        for problem in report.problems:
            click.echo(f"FAIL {problem.message}")
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
                   f"checked on {client.endpoint} ({report.root}); manifest sha256 "
                   f"{report.manifest_sha256}")
        return 0 if report.ok else 1

    run_command(body)
