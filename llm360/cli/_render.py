"""What the commands share: JSON output and progress bars on a terminal.

Errors are mapped to messages and exit codes once, by the command group (``llm360.cli.main``):
a command body raises ``Llm360Error`` and returns its exit code.
"""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Callable, Iterator
from typing import Any

import click

from llm360.errors import InputError

__all__ = ["run_command", "echo_json", "progress_bar", "require_extra", "CARDS_EXTRA"]

#: what the ``[cards]`` extra installs (cards and plots); ``pip install llm360`` verifies without
CARDS_EXTRA = ("jinja2", "matplotlib")


def echo_json(data: Any) -> None:
    """Machine output: sorted-key JSON on stdout."""
    click.echo(json.dumps(data, sort_keys=True, indent=2))


def require_extra(extra: str, modules: tuple[str, ...], *, needed_for: str,
                  alternative: str | None = None) -> None:
    """``InputError`` (exit 2) naming the pip extra to install when one of ``modules`` is
    missing; nothing is imported (a module spec lookup only)."""
    from importlib.util import find_spec

    missing = [m for m in modules if find_spec(m) is None]
    if missing:
        hint = f"pip install 'llm360[{extra}]'" + (f", or {alternative}" if alternative else "")
        raise InputError(f"{needed_for} needs {', '.join(missing)}, which this installation of "
                         f"llm360 lacks (the [{extra}] extra)", hint=hint)


def run_command(fn: Callable[[], int | None]) -> None:
    """Deprecated: write ``return body()`` instead. Runs ``fn`` and exits with its code; its
    errors reach the group's mapping. Kept only so commands written before it still work."""
    sys.exit(fn() or 0)


@contextlib.contextmanager
def progress_bar(description: str, enabled: bool = True
                 ) -> Iterator[tuple[Callable[[int], None], Callable[[int], None]]]:
    """(advance, set_total) callbacks; a rich bar on a terminal, silent when piped."""
    if not (enabled and sys.stderr.isatty()):
        yield (lambda n: None), (lambda total: None)
        return
    from rich.progress import (BarColumn, DownloadColumn, Progress, TextColumn,
                               TimeRemainingColumn, TransferSpeedColumn)

    with Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
                  TransferSpeedColumn(), TimeRemainingColumn(), transient=True,
                  console=None) as bar:
        task = bar.add_task(description, total=None)
        yield (lambda n: bar.advance(task, n)), (lambda total: bar.update(task, total=total))
