"""Another process holding a run's writer lock, as a running ``llm360 train`` holds it: a test
helper (tests import it as ``_runlock``)."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

__all__ = ["lock_held_elsewhere"]

_HOLD = ("import sys; from llm360.registry.run.lock import lock_run; "
         "held = lock_run(sys.argv[1], command='llm360 train'); "
         "print('held', flush=True); sys.stdin.read()")


@contextlib.contextmanager
def lock_held_elsewhere(run_dir: Path) -> Iterator[int]:
    """A process holding ``run_dir``'s writer lock until the block ends; yields its pid."""
    proc = subprocess.Popen([sys.executable, "-c", _HOLD, str(run_dir)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True,
                            env=dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path)))
    try:
        assert proc.stdout.readline().strip() == "held", "the holder could not take the lock"
        yield proc.pid
    finally:
        proc.stdin.close()
        proc.wait(timeout=60)
