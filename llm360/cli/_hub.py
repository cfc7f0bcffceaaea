"""What the Hub commands share: the endpoint/token/Xet options (the environment is read here,
never in the library) and the report rendering of verify --hub."""

from __future__ import annotations

import os
import sys

import click

__all__ = ["hub_options", "client_from", "truthy", "open_ref", "verify_hub_command"]


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


def client_from(endpoint: str | None, no_xet: bool, *, quiet: bool = False):
    from llm360.registry.hub import connect

    endpoint = endpoint or os.environ.get("HF_ENDPOINT") or None
    xet = not (no_xet or truthy(os.environ.get("HF_HUB_DISABLE_XET")))
    return connect(endpoint=endpoint, token=os.environ.get("HF_TOKEN") or None, xet=xet,
                   progress_bars=not quiet and sys.stderr.isatty())


def open_ref(ref, *, root=None, endpoint: str | None = None, no_xet: bool = False):
    """Open RELEASE as the commands that read a release take it: a folder, a manifest.json, or
    hub:ORG/NAME[@REV] (a Hub client is made only for that)."""
    from llm360.registry.verify.open import is_hub_ref, open_release

    client = client_from(endpoint, no_xet, quiet=True) if is_hub_ref(str(ref)) else None
    return open_release(ref, root=root, client=client)


def verify_hub_command(repo: str, *, revision: str, data_repo: str | None, download: bool,
                       endpoint: str | None, no_xet: bool, as_json: bool, policy,
                       parent=None) -> int:
    """The body of ``llm360 verify --hub``."""
    from llm360.cli._render import echo_json, progress_bar

    def body() -> int:
        from llm360.cli.verify_cmd import render_report
        from llm360.registry.hub import verify_hub

        client = client_from(endpoint, no_xet, quiet=True)
        with progress_bar("verifying", enabled=not as_json) as (advance, set_total):
            report, source = verify_hub(client, repo, policy=policy, revision=revision,
                                        data_repo=data_repo, download=download,
                                        parent=parent, progress=advance,
                                        on_total=set_total)
        if as_json:
            echo_json({**report.as_data(), "endpoint": client.endpoint,
                       "bytes_downloaded": source.bytes_downloaded})
        else:
            render_report(report)
        return 0 if report.ok else 1

    return body()
