"""``llm360 card``: render the model card, checkpoint cards, data card and plots of a release."""

from __future__ import annotations

from pathlib import Path

import click

from llm360.cli._render import echo_json, run_command

__all__ = ["card"]


@click.command()
@click.argument("manifest", type=click.Path(path_type=Path))
@click.option("--out", "out_dir", required=True, type=click.Path(path_type=Path),
              help="Folder to write README.md, DATA_CARD.md, cards/ and plots/ into.")
@click.option("--root", type=click.Path(path_type=Path),
              help="Run directory holding the configs and logs the manifest lists (default: the "
                   "run the release was built from).")
@click.option("--json", "as_json", is_flag=True, help="Print the files written as JSON.")
def card(manifest: Path, out_dir: Path, root: Path | None, as_json: bool) -> None:
    """Render the cards and plots of MANIFEST (RELEASE/manifest.json) into --out.

    Everything comes from the manifest and the run files it lists, each checked against its
    sha256; what the release does not record is left out.
    """
    from llm360.registry.cards import render_cards

    def body() -> int:
        result = render_cards(manifest, out_dir, root=root)
        if as_json:
            echo_json({"out": str(result.out_dir), "files": list(result.files)})
        else:
            for rel in result.files:
                click.echo(str(result.out_dir / rel))
        return 0

    run_command(body)
