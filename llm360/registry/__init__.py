"""The core library: manifest, hashing, build, verify, lineage, signing, cards, Hub.

Nothing below this package imports torch (a test keeps it so). The public names below are
imported on first use (PEP 562): importing one submodule (``llm360.registry.hashing``) does not
load the rest, so the command line starts fast and the run writer does not pull numpy into a
build or a verify. ``verify`` is
the submodule (its function: ``llm360.registry.verify.verify``).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from llm360.registry.build import BuildOptions, BuildResult, build_release
    from llm360.registry.check import RunCheck, check_run
    from llm360.registry.models import Manifest
    from llm360.registry.policy import TrustPolicy
    from llm360.registry.serialize import load_manifest
    from llm360.registry.sources import ArtifactSource, LocalSource, Located
    from llm360.registry.verify import Report, verify_release
    from llm360.registry.writer import RunWriter, WrittenCheckpoint, checkpoint_root_digest

#: public name -> the module that defines it
_HOMES = {
    **dict.fromkeys(("BuildOptions", "BuildResult", "build_release"), "build"),
    **dict.fromkeys(("RunCheck", "check_run"), "check"),
    "Manifest": "models",
    "TrustPolicy": "policy",
    "load_manifest": "serialize",
    **dict.fromkeys(("ArtifactSource", "LocalSource", "Located"), "sources"),
    **dict.fromkeys(("Report", "verify_release"), "verify"),
    **dict.fromkeys(("RunWriter", "WrittenCheckpoint", "checkpoint_root_digest"), "writer"),
}

__all__ = ["ArtifactSource", "BuildOptions", "BuildResult", "LocalSource", "Located", "Manifest",
           "Report", "RunCheck", "RunWriter", "TrustPolicy", "WrittenCheckpoint", "build_release",
           "check_run", "checkpoint_root_digest", "load_manifest", "verify_release"]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'llm360.registry' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"llm360.registry.{home}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_HOMES})
