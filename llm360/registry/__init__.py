"""The core library: manifest, hashing, build, verify, lineage, signing, cards, Hub.

Nothing below this package imports torch (a test keeps it so). The run writer's names are
imported on first use (PEP 562): they pull in numpy, which building and verifying need not load.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from llm360.registry.build import (BuildContext, BuildOptions, BuildResult, BuildStep,
                                   DraftContext, build_release)
from llm360.registry.check import RunCheck, check_run
from llm360.registry.models import Manifest
from llm360.registry.policy import TrustPolicy
from llm360.registry.serialize import load_manifest
from llm360.registry.sources import ArtifactSource, LocalSource, Located
from llm360.registry.verify import Report, verify, verify_release

if TYPE_CHECKING:
    from llm360.registry.writer import RunWriter, WrittenCheckpoint, checkpoint_root_digest

_LAZY = ("RunWriter", "WrittenCheckpoint", "checkpoint_root_digest")

__all__ = ["ArtifactSource", "BuildContext", "BuildOptions", "BuildResult", "BuildStep",
           "DraftContext", "LocalSource", "Located", "Manifest", "Report", "RunCheck",
           "RunWriter", "TrustPolicy", "WrittenCheckpoint", "build_release", "check_run",
           "checkpoint_root_digest", "load_manifest", "verify", "verify_release"]


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'llm360.registry' has no attribute {name!r}")
    from llm360.registry import writer

    value = getattr(writer, name)
    globals()[name] = value
    return value
