"""``llm360 diff``: what changed between two releases (local or on the Hub)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from llm360.cli._hub import hub_options, open_ref
from llm360.cli._render import echo, echo_json, progress_bar

if TYPE_CHECKING:
    from llm360.registry.analysis.diff import BenchmarkChange

__all__ = ["diff"]


def _side(spec: str, endpoint: str | None, no_xet: bool, progress):
    from llm360.registry.analysis.diff import side

    return side(open_ref(spec, endpoint=endpoint, no_xet=no_xet), progress=progress)


def _value(field: str, value) -> str:
    if value is None:
        return "unknown" if field == "sha256" else "absent"
    return f"{value[:16]}..." if field == "sha256" else str(value)


def _benchmark_line(c: BenchmarkChange) -> str:
    shots = "n-shot unknown" if c.n_shot is None else f"{c.n_shot}-shot"
    limit = "" if c.limit is None else f", LIMITED --limit {c.limit:g}"
    what = f"benchmark {c.checkpoint} {c.task} {c.metric} (filter {c.filter}, {shots}{limit})"
    if c.a is None:
        return f"+ {what}: {c.b:.6g} (added)"
    if c.b is None:
        return f"- {what}: {c.a:.6g} (removed)"
    return f"~ {what}: {c.a:.6g} -> {c.b:.6g} ({c.delta:+.6g})"


@click.command(short_help="Compare releases A and B: checkpoints, data chunks, files, configs "
                          "and benchmarks.")
@click.argument("a")
@click.argument("b")
@hub_options
@click.option("--json", "as_json", is_flag=True, help="Print the differences as JSON.")
def diff(a: str, b: str, endpoint: str | None, no_xet: bool, as_json: bool) -> int:
    """Compare releases A and B: checkpoints, data chunks and files added, removed or changed,
    the changed configs key by key, and benchmark rows added, removed or changed in value (per
    checkpoint, task, metric, filter, n-shot and limit: old -> new and the delta).

    Each side is a manifest.json, a release folder, or hub:ORG/NAME[@REV] (a branch, tag or
    commit of a pushed release). Files are compared by what they are: a folder's files are
    hashed, a Hub side's sizes and sha256 come from the Hub's metadata (small files are read).
    Each line names the field that changed (path, size or sha256); a file whose bytes are not
    what its own side's manifest lists is named too (`!`). Exit 0 whether or not they differ.
    """

    def body() -> int:
        from llm360.registry.analysis.diff import diff_releases

        with progress_bar("hashing", enabled=not as_json) as (advance, _total):
            result = diff_releases(_side(a, endpoint, no_xet, advance),
                                   _side(b, endpoint, no_xet, advance))
        if as_json:
            echo_json(result.as_data())
            return 0
        labels = {"a": "A", "b": "B"}
        for note in result.notes:
            echo(f"note: {note}")
        if result.identical:
            echo(f"identical: {a} and {b} hold the same checkpoints, chunks and files (each "
                 "file's size and sha256)")
            return 0
        echo(f"--- A {a}")
        echo(f"+++ B {b}")
        for change in result.release:
            echo(f"release {change.path}: {change.a} -> {change.b}")
        for keyed, label in ((result.checkpoints, "checkpoint"),
                             (result.data_chunks, "data chunk")):
            for verb, sign in (("added", "+"), ("removed", "-"), ("changed", "~")):
                for item in getattr(keyed, verb):
                    echo(f"{sign} {label} {item} ({verb})")
        for f in result.files:
            if f.field == "path":
                sign, side = ("+", "B") if f.a is None else ("-", "A")
                echo(f"{sign} file {f.path}: path only in {side}")
            else:
                where = f" ({f.where})" if f.where != f.path else ""
                echo(f"~ file {f.path}: {f.field} {_value(f.field, f.a)} -> "
                     f"{_value(f.field, f.b)}{where}")
        for m in result.mismatches:
            side = labels[m.side]
            if m.field == "missing":
                echo(f"! {side} {m.where}: missing, listed by {side}'s manifest")
            else:
                echo(f"! {side} {m.where}: {m.field} {_value(m.field, m.found)} is not what "
                     f"{side}'s manifest lists ({_value(m.field, m.listed)})")
        for cfg in result.configs:
            for ch in cfg.changes or ():
                echo(f"  {cfg.path} {ch.path}: {ch.a!r} -> {ch.b!r}")
        for bench in result.benchmarks:
            echo(_benchmark_line(bench))
        return 0

    return body()
