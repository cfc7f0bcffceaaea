"""The one compressed file a release may carry: the trainer's source archive.

``code/llm360-train.tar.gz`` (``layout.CODE_ARCHIVE``) is read, never extracted, and accepted
only as what ``llm360 train`` writes: a gzip-compressed ustar archive of regular files (no
links, devices or folders), each a relative ``.py`` path with no ``..``, named once, holding
UTF-8 text, within size bounds (so a decompression bomb stops early). Anything else is an
``InputError`` naming the file and the member.
"""

from __future__ import annotations

import gzip
import io
import tarfile
import zlib
from pathlib import Path, PurePosixPath

from llm360.errors import InputError

__all__ = ["source_archive_names", "MAX_ARCHIVE_BYTES", "MAX_ARCHIVE_MEMBERS"]

#: the most an archive may hold once decompressed (llm360's own trainer is ~0.2 MB)
MAX_ARCHIVE_BYTES = 64 << 20
MAX_ARCHIVE_MEMBERS = 4096


def _bad(source: str, what: str) -> InputError:
    return InputError(f"{source}: not a source archive llm360 accepts: {what}",
                      hint="the only compressed file of a run is the code archive "
                           "`llm360 train` writes (.py files, no links)")


def _decompress(path: Path, source: str) -> bytes:
    try:
        with gzip.open(path, "rb") as fh:
            data = fh.read(MAX_ARCHIVE_BYTES + 1)
    except (OSError, EOFError, zlib.error) as exc:
        raise _bad(source, f"not gzip data ({exc})") from None
    if len(data) > MAX_ARCHIVE_BYTES:
        raise _bad(source, f"more than {MAX_ARCHIVE_BYTES:,} bytes once decompressed")
    return data


def source_archive_names(path: Path, *, source: str | None = None) -> tuple[str, ...]:
    """The member names of the source archive at ``path``, checked as the module says."""
    source = source or str(path)
    data = _decompress(Path(path), source)
    names: list[str] = []
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as tar:
            for member in tar:
                if len(names) >= MAX_ARCHIVE_MEMBERS:
                    raise _bad(source, f"more than {MAX_ARCHIVE_MEMBERS} members")
                name = member.name
                parts = PurePosixPath(name).parts
                if not member.isreg():
                    raise _bad(source, f"{name!r} is not a regular file")
                if (not name or name.startswith("/") or "\\" in name or ".." in parts
                        or not name.endswith(".py")):
                    raise _bad(source, f"{name!r} is not a relative .py path")
                if name in names:
                    raise _bad(source, f"{name!r} appears twice")
                fh = tar.extractfile(member)
                body = fh.read() if fh is not None else b""
                try:
                    body.decode("utf-8")
                except UnicodeDecodeError:
                    raise _bad(source, f"{name!r} is not UTF-8 text") from None
                names.append(name)
    except tarfile.TarError as exc:
        raise _bad(source, f"not a tar archive ({exc})") from None
    if not names:
        raise _bad(source, "it holds no file")
    return tuple(names)
