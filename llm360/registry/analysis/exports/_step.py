"""The build's exports step: the three documents written into every release.

``release build`` calls ``write_exports`` after the checkpoint signatures (and the cards),
before ``release-files.json``: the release signature covers the exports like the cards. They
are rendered from the real manifest and the records the build has just validated and hashed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import TYPE_CHECKING

from llm360 import __version__
from llm360.registry.analysis.exports._common import release_facts
from llm360.registry.analysis.exports._export import render_all

if TYPE_CHECKING:
    from llm360.registry.manifest.models import Manifest
    from llm360.registry.run.reader import RunRecords

__all__ = ["write_exports"]


def write_exports(manifest: Manifest, manifest_bytes: bytes, records: RunRecords,
                  write: Callable[[str, bytes], None]) -> None:
    """Write ``croissant.json``, ``bom.spdx.json`` and ``bom.cdx.json`` of the release being
    built through ``write(release path, bytes)`` (a few ms of JSON: nothing to cache)."""
    facts = release_facts(manifest, hashlib.sha256(manifest_bytes).hexdigest(),
                          data_config=records.data_config, data_index=records.data_index,
                          evals=records.evals, tool_version=__version__)
    for rel, data in render_all(facts).items():
        write(rel, data)
