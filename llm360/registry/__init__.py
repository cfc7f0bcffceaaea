"""The core library (no torch), one folder per concern:

* ``run/``: the run-directory contract: typed records, reading, writing, checking a run;
* ``manifest/``: the release manifest as frozen dataclasses, canonical JSON, schemas, findings;
* ``build/``: run directory -> release: hashing (started first), the pipeline run while the
  files hash, Merkle trees, assembly, the release folder;
* ``verify/``: one verifier over several sources, the trust policy, opening a release;
* ``analysis/``: lineage, the openness audit, trace, diff and exports of a release;
* ``signing/``: signing and signature verification (OpenSSF Model Signing, Sigstore);
* ``cards/``: the model and data cards, rendered from a typed view of the release;
* ``hub/``: push, pull and verify on the Hugging Face Hub;
* ``index/``: the cross-release registry (store, add, queries, web view);
* ``layout.py`` (every run and release path, named once), ``_files.py`` (safe paths, atomic
  writes), ``installed.py`` (optional extras and versions).

Nothing below this package imports torch (a test keeps it so). The public names below are
imported on first use (PEP 562): importing one submodule (``llm360.registry.build.hashing``) does
not load the rest, so the command line starts fast and the run writer does not pull numpy into a
build or a verify.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from llm360.registry.build.release import BuildOptions, BuildResult, build_release
    from llm360.registry.manifest.models import Manifest
    from llm360.registry.manifest.serialize import load_manifest
    from llm360.registry.run.check import RunCheck, check_run
    from llm360.registry.run.writer import RunWriter, WrittenCheckpoint, checkpoint_root_digest
    from llm360.registry.verify.policy import TrustPolicy
    from llm360.registry.verify.sources import ArtifactSource, LocalSource, Located
    from llm360.registry.verify.verifier import Report, verify_release

#: public name -> the module that defines it
_HOMES = {
    **dict.fromkeys(("BuildOptions", "BuildResult", "build_release"), "build.release"),
    **dict.fromkeys(("RunCheck", "check_run"), "run.check"),
    "Manifest": "manifest.models",
    "TrustPolicy": "verify.policy",
    "load_manifest": "manifest.serialize",
    **dict.fromkeys(("ArtifactSource", "LocalSource", "Located"), "verify.sources"),
    **dict.fromkeys(("Report", "verify_release"), "verify.verifier"),
    **dict.fromkeys(("RunWriter", "WrittenCheckpoint", "checkpoint_root_digest"), "run.writer"),
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
