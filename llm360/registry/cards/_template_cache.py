"""The card templates' compiled code, kept between processes as Python keeps bytecode.

jinja2 turns each template into Python source and compiles it: about 40 ms for the three card
templates, in every build that renders a card. This cache (a ``jinja2.BytecodeCache``) keeps the
code object in ``$XDG_CACHE_HOME/llm360/templates`` (``user_cache_dir``), one file per template
source, jinja2 version, Python bytecode version and environment options.

Each file is ``seal(header + code) + code``: ``marshal`` data that only this user on this
machine can have written (sealed with its secret, ``local_key``); any other file, a changed
byte, another Python or jinja2, is a miss, and the template is compiled as if there were no
cache. Writing is best effort: where the folder cannot be written, nothing is kept.
"""

from __future__ import annotations

import hashlib
import hmac
import importlib.util
import marshal
from pathlib import Path

import jinja2

from llm360.registry._files import write_atomic
from llm360.registry.installed import installed_version
from llm360.registry.local_key import seal, user_cache_dir

__all__ = ["CompiledTemplates"]

_SEAL_LEN = 64  # hex HMAC-SHA256


class CompiledTemplates(jinja2.BytecodeCache):
    """A ``jinja2.BytecodeCache`` of sealed code objects (see the module)."""

    def __init__(self, options: str) -> None:
        self._version = (f"llm360-templates/1\0jinja2={installed_version('jinja2', 'jinja2')}\0"
                         f"{importlib.util.MAGIC_NUMBER.hex()}\0{options}\0")

    @property
    def dir(self) -> Path:
        return user_cache_dir() / "templates"

    def _header(self, bucket) -> bytes:
        return f"{self._version}{bucket.key}\0{bucket.checksum}\0".encode()

    def _path(self, header: bytes) -> Path:
        return self.dir / (hashlib.sha256(header).hexdigest()[:32] + ".code")

    def load_bytecode(self, bucket) -> None:
        header = self._header(bucket)
        try:
            data = self._path(header).read_bytes()
        except OSError:
            return
        code = data[_SEAL_LEN:]
        if not hmac.compare_digest(data[:_SEAL_LEN], seal(header + code).encode()):
            return
        try:
            bucket.code = marshal.loads(code)
        except (EOFError, ValueError, TypeError):
            bucket.reset()

    def dump_bytecode(self, bucket) -> None:
        header = self._header(bucket)
        code = marshal.dumps(bucket.code)
        try:
            self.dir.mkdir(mode=0o700, parents=True, exist_ok=True)
            write_atomic(self._path(header), seal(header + code).encode() + code, mode=0o600,
                         durable=False)
        except OSError:
            pass  # a read-only home: every build compiles, nothing else changes
