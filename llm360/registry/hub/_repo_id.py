"""Hub repository ids (``ORG/NAME``), checked before any request is made with one."""

from __future__ import annotations

import re

from llm360.errors import InputError

__all__ = ["validate_repo_id"]

#: one part of an id: letters, digits, '-', '_', '.'; starting and ending with a letter or digit
_PART = r"[A-Za-z0-9](?:[A-Za-z0-9._-]{0,94}[A-Za-z0-9])?"
_REPO_ID = re.compile(rf"{_PART}/{_PART}")


def validate_repo_id(text: str, *, what: str = "repository id") -> str:
    """``text`` if it is a Hub repository id ``ORG/NAME`` (each part 1-96 letters, digits, '-',
    '_' or '.', starting and ending with a letter or digit, no '--' or '..'); otherwise an
    ``InputError`` (exit 2) naming it. ``what`` names where it came from (``--repo``)."""
    if not isinstance(text, str) or not _REPO_ID.fullmatch(text) or "--" in text \
            or ".." in text:
        shown = repr(text)[:120]
        raise InputError(f"{what} {shown}: not a Hub repository id",
                         hint="write ORG/NAME: letters, digits, '-', '_' and '.', e.g. "
                              "acme/amber-tiny")
    return text
