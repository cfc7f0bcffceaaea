"""The Hugging Face Hub: push a release, verify it from the Hub's metadata, pull a checkpoint.

The only code importing huggingface_hub (inside functions: ``import llm360.registry.hub`` stays
light). The library takes the endpoint and token as arguments; the CLI reads HF_ENDPOINT,
HF_TOKEN and HF_HUB_DISABLE_XET.
"""

from llm360.registry.hub._client import (
    DEFAULT_ENDPOINT,
    HubClient,
    HubTimeouts,
    RemoteFile,
    connect,
    hub_error,
)
from llm360.registry.hub._layout import DATASET, MAIN, MODEL, layout
from llm360.registry.hub._parent import (
    commit_of,
    hub_link,
    hub_manifest,
    hub_parent,
    parse_hub_checkpoint,
)
from llm360.registry.hub._pull import PullResult, pull_checkpoint
from llm360.registry.hub._push import (
    PUBLICATION_FILE,
    BranchResult,
    PushResult,
    git_blob_oid,
    push_release,
)
from llm360.registry.hub._source import HubSource
from llm360.registry.hub._verify import signed_manifest, verify_hub

__all__ = [
    "DATASET", "DEFAULT_ENDPOINT", "MAIN", "MODEL", "PUBLICATION_FILE", "BranchResult",
    "HubClient", "HubSource", "HubTimeouts", "PullResult", "PushResult", "RemoteFile",
    "signed_manifest", "connect", "git_blob_oid", "hub_error", "layout", "pull_checkpoint",
    "push_release", "verify_hub", "commit_of", "hub_link", "hub_manifest", "hub_parent",
    "parse_hub_checkpoint",
]
