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

__all__ = ["run_command", "echo_json", "progress_bar"]


def echo_json(data: Any) -> None:
    """Machine output: sorted-key JSON on stdout."""
    click.echo(json.dumps(data, sort_keys=True, indent=2))


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
