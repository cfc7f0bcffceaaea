"""The core library: manifest, hashing, build, verify, lineage, signing, cards, Hub.

Nothing below this package imports torch (a test keeps it so).
"""

from llm360.registry.build import BuildResult, build_release
from llm360.registry.models import Manifest
from llm360.registry.serialize import load_manifest
from llm360.registry.verify import Report, verify_release

__all__ = ["BuildResult", "Manifest", "Report", "build_release", "load_manifest", "verify_release"]
