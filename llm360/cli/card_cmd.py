"""``llm360 card``: render the model card, checkpoint cards, data card and plots of a release."""

from __future__ import annotations

from pathlib import Path

import click

from llm360.cli._hub import hub_options, open_ref
from llm360.cli._render import CARDS_EXTRA, echo, echo_json, require_extra
from llm360.cli._trust import policy_from, trust_options

__all__ = ["card"]


@click.command(short_help="Render the cards and plots of RELEASE (folder, manifest.json or "
                          "hub:ORG/NAME) into --out.")
@click.argument("release")
@click.option("--out", "out_dir", required=True, type=click.Path(path_type=Path),
              help="Folder to write README.md, DATA_CARD.md, cards/ and plots/ into.")
@click.option("--root", type=click.Path(path_type=Path),
              help="Run directory holding the configs and logs of a --metadata-only release "
                   "(default: the release folder, which holds them).")
@trust_options(unsigned_help="Render the cards of a manifest with no signature (they say it is "
                             "unsigned).")
@hub_options
@click.option("--json", "as_json", is_flag=True, help="Print the files written as JSON.")
def card(release: str, out_dir: Path, root: Path | None, endpoint: str | None, no_xet: bool,
         as_json: bool, **trust) -> int:
    """Render the cards and plots of RELEASE (the release folder, its manifest.json, or
    hub:ORG/NAME[@REV]) into --out.

    The manifest's signature is verified first, as `llm360 verify` does (--key, or --identity
    and --issuer): a signature that fails is refused (exit 1), and an unsigned manifest is
    refused unless --allow-unsigned (exit 2). Everything comes from the manifest and the run
    files it lists, each checked against its sha256; what the release does not record is left
    out.
    """
    def body() -> int:
        require_extra("cards", CARDS_EXTRA, needed_for="llm360 card")
        from llm360.registry.cards import render_cards

        policy = policy_from(trust)
        opened = open_ref(release, root=root, endpoint=endpoint, no_xet=no_xet)
        result = render_cards(opened, out_dir, policy=policy)
        sig = result.signature
        if as_json:
            echo_json({"out": str(result.out_dir), "files": list(result.files),
                       "signature": sig.as_data()})
            return 0
        if sig.method == "unsigned":
            echo("signature: none; the manifest is unsigned (rendered because of "
                 "--allow-unsigned, and the cards say so)")
        else:
            who = (f"key {(sig.key_fingerprint or '')[:16]}..." if sig.method == "key"
                   else f"{sig.identity} ({sig.issuer})")
            echo(f"signature: {sig.method}, verified, signed by {who}")
        for rel in result.files:
            echo(str(result.out_dir / rel))
        return 0

    return body()
