"""``llm360 diff``: what changed between two releases (local or on the Hub)."""

from __future__ import annotations

from pathlib import Path

import click

from llm360.registry import layout
from llm360.cli._hub import client_from, hub_options
from llm360.cli._render import echo, echo_json

__all__ = ["diff"]


def _side(spec: str, endpoint: str | None, no_xet: bool):
    from llm360.registry.diff import local_side, side_from_bytes

    if not spec.startswith("hub:"):
        return local_side(Path(spec))
    from llm360.registry.hub import HubSource

    repo, _, rev = spec[4:].partition("@")
    source = HubSource(client_from(endpoint, no_xet, quiet=True), repo, revision=rev or "main")
    return side_from_bytes(spec, source.read_bytes(layout.MANIFEST), source.read_bytes)


@click.command(short_help="Compare releases A and B: checkpoints, data chunks, files and configs.")
@click.argument("a")
@click.argument("b")
@hub_options
@click.option("--json", "as_json", is_flag=True, help="Print the differences as JSON.")
def diff(a: str, b: str, endpoint: str | None, no_xet: bool, as_json: bool) -> int:
    """Compare releases A and B: checkpoints, data chunks and files added, removed or changed,
    and the changed configs key by key.

    Each side is a manifest.json, a release folder, or hub:ORG/NAME[@REV] (a branch, tag or
    commit of a pushed release). Exit 0 whether or not they differ.
    """

    def body() -> int:
        from llm360.registry.diff import diff_releases

        result = diff_releases(_side(a, endpoint, no_xet), _side(b, endpoint, no_xet))
        if as_json:
            echo_json(result)
            return 0
        if result["identical"]:
            echo(f"identical: {a} and {b} list the same checkpoints, chunks and files")
            return 0
        for change in result["release"]:
            echo(f"release {change['path']}: {change['a']} -> {change['b']}")
        for section, label in (("checkpoints", "checkpoint"), ("data_chunks", "data chunk"),
                               ("files", "file")):
            for verb, sign in (("added", "+"), ("removed", "-"), ("changed", "~")):
                for item in result[section][verb]:
                    echo(f"{sign} {label} {item} ({verb})")
        for cfg in result["configs"]:
            for ch in cfg["changes"] or []:
                echo(f"  {cfg['path']} {ch['path']}: {ch['a']!r} -> {ch['b']!r}")
        return 0

    return body()
