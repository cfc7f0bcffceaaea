"""A secret of this user on this machine, which seals the keys of the caches a build keeps in
``RUN/.llm360`` (the validation memo, the chunk facts, the rendered cards and plots).

Those caches travel with a run directory (a tarball, a copy from a colleague). Their keys are
digests of public inputs, so whoever prepares a run could write entries that match: a memo
vouching for a record that breaks its schema, chunk facts that are not the chunk's, cards whose
text the records never said, each then signed by the user who builds. Sealed with this secret
(HMAC-SHA256), an entry is only ever found by the user and machine that wrote it; anything else
is a miss, and the build does the work again.

The secret is 32 random bytes in ``$XDG_CACHE_HOME/llm360/cache.key`` (``~/.cache`` by
default), created 0600 in a 0700 folder and never replaced. Where it cannot be read or created,
or is not a private regular file of this user, each process draws its own: the caches then
miss, which costs time and nothing else. (The hash cache needs no seal: its entries are keyed
by each file's inode and ctime, which a copied run cannot carry.)
"""

from __future__ import annotations

import hashlib
import hmac
import os
import stat
from functools import cache
from pathlib import Path

from llm360.errors import StorageError
from llm360.registry._files import write_atomic

__all__ = ["seal", "local_key", "user_cache_dir", "KEY_BYTES"]

KEY_BYTES = 32


def user_cache_dir() -> Path:
    """This user's llm360 cache folder: ``$XDG_CACHE_HOME/llm360`` (``~/.cache/llm360``)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "llm360"


def _key_path() -> Path:
    return user_cache_dir() / "cache.key"


def local_key() -> bytes:
    """This user's secret (see the module); a per-process one where it is not usable."""
    return _key_at(_key_path())


@cache
def _key_at(path: Path) -> bytes:
    try:
        return _read(path)
    except FileNotFoundError:
        pass
    except OSError:
        return os.urandom(KEY_BYTES)
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        try:  # exclusive: never replaces a key another process made meanwhile
            write_atomic(path, os.urandom(KEY_BYTES), mode=0o600, exclusive=True)
        except FileExistsError:
            pass
        return _read(path)
    except (OSError, StorageError):
        return os.urandom(KEY_BYTES)


def _read(path: Path) -> bytes:
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    try:
        st = os.fstat(fd)
        getuid = getattr(os, "getuid", None)
        if (not stat.S_ISREG(st.st_mode) or st.st_size != KEY_BYTES or st.st_mode & 0o077
                or (getuid is not None and st.st_uid != getuid())):
            raise PermissionError(f"{path}: not a private key file of this user")
        data = os.read(fd, KEY_BYTES + 1)
    finally:
        os.close(fd)
    if len(data) != KEY_BYTES:
        raise PermissionError(f"{path}: not {KEY_BYTES} bytes")
    return data


def seal(data: bytes) -> str:
    """HMAC-SHA256 of ``data`` under this user's secret, as hex."""
    return hmac.new(local_key(), data, hashlib.sha256).hexdigest()
