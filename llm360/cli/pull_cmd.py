"""``llm360 pull``: one checkpoint of a published release, ready to resume training."""

from __future__ import annotations

from pathlib import Path

import click

from llm360.cli._hub import client_from, hub_options
from llm360.cli._render import echo, echo_json, progress_bar
from llm360.cli._trust import policy_from, trust_options

__all__ = ["pull"]


@click.command()
@click.argument("repo", metavar="ORG/NAME")
@click.option("--checkpoint", required=True, metavar="ckpt_XXX", help="Checkpoint to pull.")
@click.option("--out", required=True, type=click.Path(path_type=Path),
              help="Run directory to write (created; files already there with the right "
                   "bytes are kept).")
@click.option("--data", is_flag=True,
              help="Also pull data/ (chunks, index, held-out set) from the dataset repo.")
@click.option("--data-repo", metavar="ORG/NAME", help="Dataset repo (default ORG/NAME-data).")
@click.option("--revision", default="main", show_default=True,
              help="Where the manifest is read (a branch, tag such as v0.1.0, or commit).")
@trust_options(unsigned_help="WEAKENS: accept a manifest with no signature (only without "
                              "--key or --identity).")
@hub_options
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def pull(repo: str, checkpoint: str, out: Path, data: bool, data_repo: str | None,
         revision: str, endpoint: str | None, no_xet: bool, as_json: bool, **trust) -> int:
    """Download CHECKPOINT of the release at ORG/NAME into a run directory.

    The manifest's signature is checked first (--key, or --identity/--issuer, or
    --allow-unsigned), then every downloaded byte against the signed manifest. Afterwards
    `llm360 train --run OUT --resume-from OUT/checkpoints/CKPT` (with --data) continues the
    run and writes the same next checkpoint as the published run.
    """

    def body() -> int:
        from llm360.registry.hub import pull_checkpoint

        client = client_from(endpoint, no_xet, quiet=True)
        with progress_bar("downloading", enabled=not as_json) as (advance, set_total):
            result = pull_checkpoint(client, repo, checkpoint, out, data=data,
                                     data_repo=data_repo, revision=revision, progress=advance,
                                     on_total=set_total, policy=policy_from(trust))
        if as_json:
            echo_json(result.as_data())
            return 0
        echo(f"pulled {result.checkpoint} (step {result.step}, {result.tokens_seen} "
                   f"tokens seen) into {result.run}: {result.files} files, "
                   f"{result.downloaded_files} downloaded ({result.downloaded_bytes} bytes), "
                   "every byte verified against the signed manifest")
        echo(f"resume: {result.as_data()['resume']}")
        return 0

    return body()
