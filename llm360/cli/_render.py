"""What the commands share: JSON output and progress bars on a terminal.

Errors are mapped to messages and exit codes once, by the command group (``llm360.cli.main``):
a command body raises ``Llm360Error`` and returns its exit code.
"""

from __future__ import annotations

import contextlib
import errno
import json
import re
import sys
from collections.abc import Callable, Iterator
from typing import Any

import click

from llm360.registry.installed import CARDS_EXTRA, require_extra

__all__ = ["echo_json", "echo", "escape", "progress_bar", "require_extra", "CARDS_EXTRA",
           "INPUT_ERRNOS"]

#: C0 controls but tab, DEL, C1 controls, and the Unicode marks that reorder or hide text
#: (bidi embeddings, overrides and isolates, zero-width marks, line and paragraph separators)
_UNSAFE = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e"
                     "\u2066-\u2069\ufeff\ud800-\udfff]")


def _escape_char(match: re.Match) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def escape(text: object) -> str:
    """``text`` safe for a terminal: control characters, bidi overrides and lone surrogates
    become visible escapes (ESC is ``\\x1b``), so a file name cannot erase or disguise a line."""
    return _UNSAFE.sub(_escape_char, str(text))


def echo(text: object = "", *, err: bool = False) -> None:
    """One line for a person, escaped (see ``escape``); every command prints through this."""
    click.echo(escape(text), err=err)


def echo_json(data: Any) -> None:
    """Machine output: sorted-key JSON on stdout."""
    click.echo(json.dumps(data, sort_keys=True, indent=2))


#: OSErrors that are the user's environment or arguments, not a bug: one line, exit 2
INPUT_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EFBIG, errno.EACCES,
                          errno.EPERM, errno.ENOTDIR, errno.EISDIR, errno.ENOENT, errno.EEXIST,
                          errno.ENAMETOOLONG, errno.ELOOP})


@contextlib.contextmanager
def progress_bar(description: str, enabled: bool = True
                 ) -> Iterator[tuple[Callable[[int], None], Callable[[int], None]]]:
    """(advance, set_total) callbacks; a rich bar on a terminal, silent when piped."""
    if not (enabled and sys.stderr.isatty()):
        yield (lambda n: None), (lambda total: None)
        return
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    with Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
                  TransferSpeedColumn(), TimeRemainingColumn(), transient=True,
                  console=None) as bar:
        task = bar.add_task(description, total=None)
        yield (lambda n: bar.advance(task, n)), (lambda total: bar.update(task, total=total))
