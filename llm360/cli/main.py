"""``llm360``: the command group; each subcommand lives in its own module."""

from __future__ import annotations

import click

from llm360 import __version__
from llm360.cli.audit_cmd import audit
from llm360.cli.card_cmd import card
from llm360.cli.data_cmd import data
from llm360.cli.diff_cmd import diff
from llm360.cli.keygen_cmd import keygen
from llm360.cli.lineage_cmd import lineage
from llm360.cli.pull_cmd import pull
from llm360.cli.push_cmd import push
from llm360.cli.release_cmd import release
from llm360.cli.trace_cmd import trace
from llm360.cli.train_cmd import train
from llm360.cli.verify_cmd import verify

__all__ = ["cli", "main"]


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="llm360")
@click.option("--verbose", is_flag=True, help="Show tracebacks for errors.")
def cli(verbose: bool) -> None:
    """Package, sign, verify and publish fully open LLM pretraining releases.

    \b
    The flow:  llm360 data prepare -> llm360 train -> llm360 release build
               -> llm360 verify / push / pull / train --resume-from
    Exit codes: 0 ok, 1 verification failed, 2 usage or bad input, 3 other errors.
    """


cli.add_command(release)
cli.add_command(verify)
cli.add_command(keygen)
cli.add_command(card)
cli.add_command(data)
cli.add_command(train)
cli.add_command(audit)
cli.add_command(lineage)
cli.add_command(trace)
cli.add_command(push)
cli.add_command(pull)
cli.add_command(diff)


def main() -> None:
    cli(prog_name="llm360")


if __name__ == "__main__":
    main()
