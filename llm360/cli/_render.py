"""What the commands share: error mapping, JSON output, progress bars on a terminal."""

from __future__ import annotations

import contextlib
import json
import sys
import traceback
from collections.abc import Callable, Iterator
from typing import Any

import click

from llm360.errors import Llm360Error

__all__ = ["run_command", "echo_json", "progress_bar", "fail"]


def echo_json(data: Any) -> None:
    """Machine output: sorted-key JSON on stdout."""
    click.echo(json.dumps(data, sort_keys=True, indent=2))


def fail(message: str, *, hint: str | None = None, code: int = 2) -> None:
    click.echo(f"error: {message}", err=True)
    if hint:
        click.echo(f"hint: {hint}", err=True)
    sys.exit(code)


def run_command(fn: Callable[[], int | None]) -> None:
    """Run a command body; map ``Llm360Error`` to one line + hint and its exit code."""
    ctx = click.get_current_context()
    verbose = bool(ctx.find_root().params.get("verbose"))
    try:
        code = fn()
    except Llm360Error as exc:
        if verbose:
            traceback.print_exc()
        fail(exc.message, hint=exc.hint, code=exc.exit_code)
    except KeyboardInterrupt:
        fail("interrupted", code=130)
    except (click.exceptions.Exit, click.ClickException, SystemExit):
        raise
    except Exception as exc:  # noqa: BLE001 - the last line of defence for users
        if verbose:
            traceback.print_exc()
        fail(f"unexpected {type(exc).__name__}: {exc}",
             hint="rerun with --verbose for the traceback and report it", code=3)
    sys.exit(code or 0)


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
