"""The core library: manifest, hashing, build, verify, lineage, signing, cards, Hub.

Nothing below this package imports torch (a test keeps it so).
"""

from llm360.registry.build import BuildContext, BuildOptions, BuildResult, BuildStep, build_release
from llm360.registry.check import RunCheck, check_run
from llm360.registry.models import Manifest
from llm360.registry.policy import TrustPolicy
from llm360.registry.serialize import load_manifest
from llm360.registry.sources import ArtifactSource, LocalSource, Located
from llm360.registry.verify import Report, verify, verify_release
from llm360.registry.writer import RunWriter, WrittenCheckpoint, checkpoint_root_digest

__all__ = ["ArtifactSource", "BuildContext", "BuildOptions", "BuildResult", "BuildStep",
           "LocalSource", "Located", "Manifest", "Report", "RunCheck", "RunWriter",
           "TrustPolicy", "WrittenCheckpoint", "build_release", "check_run",
           "checkpoint_root_digest", "load_manifest", "verify", "verify_release"]
