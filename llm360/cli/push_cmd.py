"""``llm360 push``: publish a release folder to the Hugging Face Hub."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from llm360.cli._hub import client_from, hub_options
from llm360.cli._render import echo, echo_json
from llm360.cli._trust import (
    parent_check_from,
    parent_options,
    policy_from,
    pop_parent,
    trust_options,
)

__all__ = ["push"]


@click.command()
@click.argument("release", type=click.Path(path_type=Path))
@click.option("--repo", metavar="ORG/NAME",
              help="Model repository to publish to (default: the one llm360.yaml's links "
                   "declare, links.hub).")
@click.option("--data-repo", metavar="ORG/NAME",
              help="Dataset repository for the data chunks (default: the declared one, else "
                   "ORG/NAME-data).")
@click.option("--private", is_flag=True, help="Create the repositories private.")
@click.option("--overwrite-foreign", is_flag=True,
              help="WEAKENS: replace the content of a repository that is not an llm360 "
                   "release of this name (printed).")
@hub_options
@trust_options(unsigned_help="WEAKENS: publish a release with no signature (only without "
                             "--key or --identity; printed).")
@parent_options
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def push(release: Path, repo: str | None, data_repo: str | None, private: bool,
         overwrite_foreign: bool, endpoint: str | None, no_xet: bool, as_json: bool,
         **trust) -> int:
    """Verify RELEASE (a folder from `llm360 release build`) and publish it to the Hub.

    \b
    First RELEASE is verified as `llm360 verify` does, with the same signer options (--key,
    or --identity and --issuer; --allow-unsigned to publish an unsigned release): what fails
    is not published (exit 1); a derived release's link to its parent is checked as verify
    checks it (--parent-key, or --parent-identity and --parent-issuer; --parent PATH;
    --allow-unverified-parent). A repository that holds something other than an llm360
    release of this name is refused (exit 2) unless --overwrite-foreign.
    \b
    A branch per checkpoint (ckpt_000, ...): its files, tokenizer, card as README.md, model.sig.
    main: the final checkpoint, manifest, bundle, cards, plots, signatures, configs, logs,
          evals, code provenance; tag v<version>.
    ORG/NAME-data (dataset): data chunks, index, held-out set, tokenizer, data card.
    Each branch changes by one commit on the head just read (a concurrent change is an
    error) to hold exactly what the release places there (other files are removed in that
    commit); what the Hub already holds is not uploaded again, so a rerun resumes and a
    rerun on a complete repository makes no commit. Writes RELEASE/publication.json.
    """
    parent_given = pop_parent(trust)
    policy = policy_from(trust)

    def body() -> int:
        from llm360.registry.hub import push_release

        client = client_from(endpoint, no_xet, quiet=as_json)
        parent = parent_check_from(parent_given, trust, hub=lambda: client)
        say = (lambda m: echo(m, err=True)) if not as_json and sys.stderr.isatty() \
            else None
        result = push_release(client, release, repo, policy=policy, data_repo=data_repo,
                              private=private, overwrite_foreign=overwrite_foreign,
                              parent=parent, progress=say)
        if as_json:
            echo_json(result.as_data())
            return 0
        for warning in result.warnings:
            echo(f"warning: {warning}")
        for b in result.branches:
            state = (f"committed {b.commit[:12]} ({b.uploaded_files} files, "
                     f"{b.uploaded_bytes} bytes uploaded)" if b.committed
                     else f"up to date at {b.commit[:12]}")
            kind = "" if b.repo_type == "model" else f" ({b.repo_type})"
            echo(f"{b.repo}{kind}@{b.branch}: {state}")
            for path in b.removed:
                echo(f"  removed {path}: on the branch, not in the release")
        for note in result.notes:
            echo(f"note: {note}")
        echo(f"pushed to {result.endpoint}: {result.commits} commits, "
             f"{result.uploaded_bytes} bytes uploaded; tag {result.tag}; record "
             f"{result.publication}")
        return 0

    return body()
