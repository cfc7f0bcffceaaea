"""One writer per run: an exclusive lock on ``RUN/.llm360/writer.lock`` for as long as a
process writes the run (``llm360 train``, a ``RunWriter``, ``run import-checkpoints``).

The lock is ``fcntl.flock`` on a file opened without following links: the kernel drops it
when the holder exits, however it exits, so a crash never leaves a run locked. The holder
writes its pid, host and start time into the file; a second writer is refused at once
(``RunLockedError``, exit 2) naming them. Within one process the lock is shared: a trainer
that holds it may write through ``RunWriter`` objects of its own.
"""

from __future__ import annotations

import datetime as _dt
import fcntl
import json
import os
import socket
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

from llm360.errors import RunLockedError
from llm360.registry import layout
from llm360.registry._files import resolve_inside

__all__ = ["RunLock", "Holder", "lock_run", "holder_of"]

_GUARD = threading.Lock()
#: (device, inode) of a lock file this process holds -> [file descriptor, holders]
_HELD: dict[tuple[int, int], list[int]] = {}
_MAX_INFO = 4096


@dataclass(frozen=True, kw_only=True)
class Holder:
    """Who holds a run's lock, as it wrote itself into the lock file."""

    pid: int | None
    host: str | None
    started: str | None
    command: str | None

    def describe(self) -> str:
        if self.pid is None:
            return "another process (it has not said which yet)"
        what = f"{self.command} " if self.command else ""
        return f"{what}pid {self.pid} on {self.host or 'an unknown host'}, started " \
               f"{self.started or 'at an unknown time'}"


class RunLock:
    """This process's share of a run's writer lock; ``release`` (or ``with``) gives it up."""

    def __init__(self, key: tuple[int, int], path: Path) -> None:
        self._key: tuple[int, int] | None = key
        self.path = path

    def release(self) -> None:
        key, self._key = self._key, None
        if key is None:
            return
        with _GUARD:
            held = _HELD.get(key)
            if held is None:
                return
            held[1] -= 1
            if held[1] <= 0:
                del _HELD[key]
                os.close(held[0])  # the flock goes with the last descriptor

    @property
    def held(self) -> bool:
        return self._key is not None

    def __enter__(self) -> RunLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    def __del__(self) -> None:  # a writer dropped without close() gives its share back
        try:
            self.release()
        except Exception:  # noqa: BLE001 - never raise from a finalizer
            pass


def lock_run(run_dir: Path, *, command: str | None = None) -> RunLock:
    """Take the writer lock of ``run_dir`` (its ``.llm360`` folder is made, never through a
    link), or raise ``RunLockedError`` naming the process that holds it."""
    run_dir = Path(run_dir)
    path = resolve_inside(run_dir, layout.WRITER_LOCK, where="writer lock")
    path.parent.mkdir(parents=True, exist_ok=True)
    path = resolve_inside(run_dir, layout.WRITER_LOCK, where="writer lock")  # made, not linked
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
    try:
        st = os.fstat(fd)
        key = (st.st_dev, st.st_ino)
        with _GUARD:
            held = _HELD.get(key)
            if held is not None:  # this process holds it already
                held[1] += 1
                os.close(fd)
                return RunLock(key, path)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = holder_of(fd)
                raise RunLockedError(
                    f"{run_dir}: another llm360 process is writing this run: "
                    f"{holder.describe()}",
                    hint="one writer per run: wait for it to finish (the lock goes when it "
                         "exits), or write into another run directory") from None
            _describe_self(fd, command)
            _HELD[key] = [fd, 1]
            return RunLock(key, path)
    except BaseException:
        with _GUARD:
            if not any(h[0] == fd for h in _HELD.values()):
                try:
                    os.close(fd)
                except OSError:
                    pass
        raise


def holder_of(fd: int) -> Holder:
    """What the holder wrote into the lock file open at ``fd`` (fields None when unknown)."""
    try:
        raw = os.pread(fd, _MAX_INFO, 0)
        data = json.loads(raw.decode("utf-8")) if raw.strip() else {}
    except (OSError, ValueError):
        data = {}
    if not isinstance(data, dict):
        data = {}

    def text(key: str) -> str | None:
        value = data.get(key)
        return value[:200] if isinstance(value, str) else None

    pid = data.get("pid")
    return Holder(pid=pid if isinstance(pid, int) and not isinstance(pid, bool) else None,
                  host=text("host"), started=text("started"), command=text("command"))


def _describe_self(fd: int, command: str | None) -> None:
    started = _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat()
    info = {"pid": os.getpid(), "host": socket.gethostname(), "started": started,
            "command": command or " ".join(os.path.basename(a) for a in sys.argv[:2])}
    raw = (json.dumps(info, sort_keys=True) + "\n").encode("utf-8")
    os.ftruncate(fd, 0)
    os.pwrite(fd, raw, 0)
