"""One shape for every finding: ``run check``'s, the build's consistency checks, lineage and
``verify``'s.

A ``Problem`` names what is wrong (``code``), the file it is in (run- or release-relative; empty
when it concerns no one file), the JSON path inside that file where one applies, and what
(``message``). Codes are words a program can branch on (``missing``, ``digest``, ``records``,
``lineage``, ``sha256``, ...); nothing parses a message.

A run's problems are listed with their place (``line``: file, JSON path, message). ``verify``
prints each message alone, so its messages (and lineage's, which both share) name their place
themselves: on the Hub that is a branch and a path, which no field holds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from llm360.errors import InputError, Llm360Error

__all__ = ["Problem", "RECORDS"]

#: the code of a checkpoint's missing eval or log lines (``--allow-missing-records`` accepts them)
RECORDS = "records"


@dataclass(frozen=True, kw_only=True)
class Problem:
    """One thing wrong: its code, the file and JSON path it is at, and what."""

    code: str
    file: str
    message: str
    json_path: str | None = None
    #: the error that stops a build here, where the reader raised one (its hint included)
    error: Llm360Error | None = field(default=None, compare=False, repr=False)

    @property
    def where(self) -> str:
        """``file: json_path``, ``file``, or the JSON path alone."""
        return ": ".join(p for p in (self.file, self.json_path) if p)

    def line(self) -> str:
        """The problem on one line: where, then what."""
        return f"{self.where}: {self.message}" if self.where else self.message

    def as_error(self, root: Path | None = None) -> Llm360Error:
        """The error a command stops with at this problem (its file under ``root``)."""
        if self.error is not None:
            return self.error
        file = str(root / self.file) if root is not None and self.file else self.file
        where = ": ".join(p for p in (file, self.json_path) if p)
        return InputError(f"{where}: {self.message}" if where else self.message)

    def as_data(self) -> dict[str, str | None]:
        return {"code": self.code, "file": self.file, "json_path": self.json_path,
                "message": self.message}
