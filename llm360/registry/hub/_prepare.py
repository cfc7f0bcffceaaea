"""What ``push`` checks before it writes anything: the release verifies as ``llm360 verify``
verifies it, each repository may take it, and the server's upload protocol.

* ``verified_release``: ``verify_release`` under the caller's ``TrustPolicy`` (the same options
  as ``llm360 verify``); a release that fails is refused (exit 1). The bytes push then reads are
  bound to what was verified: the manifest's sha256 is the verified one, ``release-files.json``
  is the signed one, and each file's expected size and sha256 come from them (push checks every
  upload against those).
* ``foreign``: a repository is taken only when it is new, empty (``.gitattributes`` alone on
  ``main``) or an llm360 release of the same name (its ``main`` card's header says
  ``llm360_release: NAME``); anything else is someone else's, refused unless the caller
  overwrites it knowingly.
* ``xet_fallback``: a server without Xet storage (its Xet write token is a 404) is written
  through Git LFS instead of failing after the Xet client's retries; ``through_lfs`` makes
  that choice for one commit, not for the process.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from llm360.errors import HubNotFoundError, InputError, Llm360Error, VerificationError
from llm360.registry import layout
from llm360.registry.build.release_dir import (
    MANIFEST_FILE,
    RELEASE_FILES,
    ReleaseFiles,
    read_release_files,
)
from llm360.registry.hub._client import HubClient
from llm360.registry.hub._layout import MAIN
from llm360.registry.manifest.models import Manifest
from llm360.registry.manifest.serialize import parse_yaml
from llm360.registry.signing import BUNDLE_FILE
from llm360.registry.verify.open import open_release
from llm360.registry.verify.parent import ParentCheck
from llm360.registry.verify.policy import TrustPolicy

if TYPE_CHECKING:
    from llm360.registry.verify.verifier import Report

__all__ = ["VerifiedRelease", "verified_release", "foreign", "xet_fallback", "through_lfs",
           "IGNORED_REMOTE"]

#: files a Hub repository holds of its own (never published, never removed by push)
IGNORED_REMOTE = frozenset({".gitattributes"})
_XET_SWITCH = threading.Lock()


@dataclass(frozen=True, kw_only=True)
class VerifiedRelease:
    """A release folder that verified: its manifest, and the size and sha256 every published
    file must have (artifacts from the manifest, the rest from the signed file list)."""

    folder: Path
    manifest: Manifest
    manifest_raw: bytes
    own: tuple[str, ...]                        # release files that are not artifacts
    expected: dict[str, tuple[int, str]]        # release path -> (size, sha256)
    unsigned: bool


def verified_release(release: Path, policy: TrustPolicy, *,
                     parent: ParentCheck | None = None) -> VerifiedRelease:
    """Verify ``release`` with ``llm360 verify``'s code under ``policy`` (a derived release's
    link to its parent as ``parent`` says); refuse what fails."""
    from llm360.registry.verify.verifier import verify_release

    if not (Path(release) / MANIFEST_FILE).is_file():
        raise InputError(f"{release}: not a release folder (no {MANIFEST_FILE})",
                         hint="build one with `llm360 release build RUN --out RELEASE`")
    opened = open_release(Path(release))
    release = Path(opened.origin)
    rf_raw = _read(release / RELEASE_FILES)
    if rf_raw is not None and read_release_files(
            rf_raw, source=str(release / RELEASE_FILES)).layout == "metadata-only":
        raise InputError(f"{release}: a metadata-only release (its artifacts are in the run "
                         "directory)", hint="push needs a full release: rebuild without "
                                            "--metadata-only")
    report = verify_release(release, policy=policy, parent=parent)
    if not report.ok:
        failures = report.failures
        raise VerificationError(
            f"{release}: does not verify ({len(failures)} problem"
            f"{'s' if len(failures) != 1 else ''}; first: {failures[0].message}); refusing "
            "to publish", hint="`llm360 verify RELEASE` with the same --key / --identity "
                               "options names every problem; rebuild the release")
    raw = opened.manifest_bytes
    if hashlib.sha256(raw).hexdigest() != report.manifest_sha256:
        raise VerificationError(f"{release / MANIFEST_FILE}: changed while it was verified; "
                                "refusing to publish")
    manifest = opened.manifest
    expected = {a.path: (a.size, a.sha256) for a in manifest.artifacts}
    expected[MANIFEST_FILE] = (len(raw), report.manifest_sha256)
    own = [MANIFEST_FILE]
    if rf_raw is not None:  # read once, before verifying; its bytes are checked against it below
        rf = _release_files(release, rf_raw, report)
        expected.update({f.path: (f.size, f.sha256) for f in rf.files})
        expected[RELEASE_FILES] = (len(rf_raw), hashlib.sha256(rf_raw).hexdigest())
        own += [RELEASE_FILES, *(f.path for f in rf.files)]
    bundle = _read(release / BUNDLE_FILE)
    if bundle is not None:
        expected[BUNDLE_FILE] = (len(bundle), hashlib.sha256(bundle).hexdigest())
        own.append(BUNDLE_FILE)
    return VerifiedRelease(folder=release, manifest=manifest, manifest_raw=raw,
                           own=tuple(sorted(set(own))), expected=expected,
                           unsigned=report.signature.unsigned)


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes() if path.is_file() else None
    except OSError:
        return None


def _release_files(release: Path, raw: bytes, report: Report) -> ReleaseFiles:
    """``release-files.json`` as verified: the signed bytes (when the signature covers them)
    naming the verified manifest."""
    signed = report.signature.release_files_sha256
    if signed is not None and hashlib.sha256(raw).hexdigest() != signed:
        raise VerificationError(f"{release / RELEASE_FILES}: changed while it was verified; "
                                "refusing to publish")
    rf = read_release_files(raw, source=str(release / RELEASE_FILES))
    if rf.manifest_sha256 != report.manifest_sha256:
        raise VerificationError(f"{release / RELEASE_FILES}: belongs to another manifest; "
                                "refusing to publish")
    return rf


def foreign(client: HubClient, repo: str, kind: str, name: str) -> str | None:
    """None when ``repo`` (``kind``: model or dataset) may take release ``name``: it does not
    exist yet, its ``main`` holds nothing but ``.gitattributes``, or its ``main`` card is an
    llm360 card of release ``name``. Otherwise what it holds, in words."""
    try:
        branches, _ = client.refs(repo, kind)
    except HubNotFoundError:
        return None
    if MAIN not in branches:
        return None
    tree = client.tree(repo, kind, MAIN)
    files = sorted(set(tree) - IGNORED_REMOTE)
    if not files:
        return None
    card = layout.MODEL_CARD
    if card in tree and _card_release(client.read_bytes(repo, kind, MAIN, card)) == name:
        return None
    shown = ", ".join(files[:3]) + (", ..." if len(files) > 3 else "")
    return (f"{len(files)} file{'s' if len(files) != 1 else ''} on main ({shown}) and no "
            f"llm360 card of release {name} (README.md with llm360_release: {name})")


def _card_release(raw: bytes | None) -> str | None:
    """``llm360_release`` of a card's YAML header, or None."""
    if raw is None or not raw.startswith(b"---\n"):
        return None
    header, sep, _ = raw[4:].partition(b"\n---")
    if not sep:
        return None
    try:
        meta = parse_yaml(header, source=layout.MODEL_CARD)
    except Llm360Error:
        return None
    value = meta.get("llm360_release") if isinstance(meta, dict) else None
    return value if isinstance(value, str) else None


def xet_fallback(client: HubClient, repo: str, kind: str) -> str | None:
    """Where huggingface_hub would upload through Xet but the server has no Xet storage (its
    Xet write token answers 404): a note saying this push uploads through Git LFS (None: the
    server has Xet, or Xet is not used anyway)."""
    # huggingface_hub.utils re-exports lazily (its __all__ is computed): mypy sees no export
    from huggingface_hub import get_session
    from huggingface_hub.utils import build_hf_headers  # type: ignore[attr-defined]
    from huggingface_hub.utils._runtime import is_xet_available

    if not client.xet or not is_xet_available():
        return None
    url = f"{client.endpoint}/api/{kind}s/{repo}/xet-write-token/main"

    def probe() -> int:
        with get_session().stream("GET", url, headers=build_hf_headers(token=client.token),
                                  follow_redirects=True) as resp:
            return resp.status_code  # the body is not read

    status = client.call(f"ask {client.endpoint} for a Xet write token", probe)
    if status not in (404, 405, 501):
        return None
    return (f"{client.endpoint} has no Xet storage (HTTP {status} on its Xet write token): "
            "uploading through Git LFS")


@contextmanager
def through_lfs(lfs: bool) -> Iterator[None]:
    """Within, huggingface_hub uploads through Git LFS (when ``lfs``). Its only switch (2.x)
    is its module constant ``HF_HUB_DISABLE_XET``, read once per commit: it is set for the
    commit and put back after, under a lock (so this push's choice outlives neither the commit
    nor another push's); the environment is never touched."""
    if not lfs:
        yield
        return
    from huggingface_hub import constants

    with _XET_SWITCH:
        before = constants.HF_HUB_DISABLE_XET
        constants.HF_HUB_DISABLE_XET = True
        try:
            yield
        finally:
            constants.HF_HUB_DISABLE_XET = before
