"""Where a release is read from: the one function that turns what a user passes to ``audit``,
``lineage`` or ``trace`` (a manifest path or a release folder) into a manifest plus a way to
read the release's files.

A ``hub:ORG/NAME`` source is one more branch of ``open_release`` returning the same object
(its ``path`` fetches the file into a local cache).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from llm360.registry import layout
from llm360.errors import InputError, VerificationError
from llm360.registry._files import resolve_inside
from llm360.registry.hashing import sha256_file
from llm360.registry.models import Artifact, Manifest
from llm360.registry.serialize import manifest_from_bytes, read_bytes
from llm360.registry.sources import MAX_RELEASE_FILE

__all__ = ["ReleaseSource", "open_release"]


@dataclass(frozen=True, kw_only=True)
class ReleaseSource:
    """A release's manifest, and where its files are.

    ``root`` holds the artifacts (the run the release was built from, else the release folder);
    ``release_dir`` holds what the build wrote beside the manifest (cards, signatures).
    """

    location: str
    manifest: Manifest
    manifest_bytes: bytes
    manifest_path: Path
    root: Path
    release_dir: Path

    @property
    def manifest_sha256(self) -> str:
        return hashlib.sha256(self.manifest_bytes).hexdigest()

    def artifact(self, rel: str) -> Artifact:
        art = self.manifest.artifact(rel)
        if art is None:
            raise InputError(f"{self.manifest_path}: {rel} is not an artifact of the release")
        return art

    def has(self, rel: str) -> bool:
        """Whether the artifact ``rel`` is on hand (listed and present)."""
        if self.manifest.artifact(rel) is None:
            return False
        try:
            return resolve_inside(self.root, rel).is_file()
        except InputError:
            return False

    def path(self, rel: str) -> Path:
        """A local path of the artifact ``rel`` (not checked: see ``check``)."""
        self.artifact(rel)
        full = resolve_inside(self.root, rel, where=str(self.manifest_path))
        if not full.is_file():
            raise InputError(f"{full}: missing (the manifest lists {rel})",
                             hint="pass --root with the run directory the release was built "
                                  "from, or pull the file")
        return full

    def read(self, rel: str) -> bytes:
        """The bytes of artifact ``rel``, checked against the manifest's sha256."""
        raw = self.path(rel).read_bytes()
        self.compare_digest(rel, hashlib.sha256(raw).hexdigest(), len(raw))
        return raw

    def check(self, rel: str) -> Path:
        """The local path of artifact ``rel`` after checking its sha256 (streamed)."""
        full = self.path(rel)
        size, digest = sha256_file(full)
        self.compare_digest(rel, digest, size)
        return full

    def compare_digest(self, rel: str, digest: str, size: int) -> None:
        """Raise ``VerificationError`` unless (digest, size) are what the manifest lists."""
        art = self.artifact(rel)
        if digest != art.sha256 or size != art.size:
            raise VerificationError(f"{rel}: sha256 {digest[:16]}... differs from the "
                                    f"manifest's {art.sha256[:16]}...", artifact=rel,
                                    hint="run `llm360 verify` on the release")

    def release_file(self, name: str) -> Path | None:
        """A file the build wrote beside the manifest (README.md, DATA_CARD.md), if present."""
        try:
            full = resolve_inside(self.release_dir, name)
        except InputError:
            return None
        return full if full.is_file() else None


def open_release(spec: str | Path, *, root: Path | None = None) -> ReleaseSource:
    """Open ``spec``: a ``manifest.json`` path, or a release folder holding one.

    ``root`` overrides where the artifacts are read from (default: the release folder, which
    holds them; a metadata-only release needs its run directory).
    """
    text = str(spec)
    if text.startswith("hub:"):
        raise InputError(f"{text}: reading a release from the Hub is not supported yet",
                         hint="pull the release and pass its folder")
    path = Path(spec)
    manifest_path = path / layout.MANIFEST if path.is_dir() else path
    if not manifest_path.exists():
        what = "no manifest.json in the folder" if path.is_dir() else "manifest not found"
        raise InputError(f"{manifest_path}: {what}",
                         hint="pass RELEASE/manifest.json or a release folder")
    raw = read_bytes(manifest_path, str(manifest_path), limit=MAX_RELEASE_FILE)
    manifest = manifest_from_bytes(raw, source=str(manifest_path))
    root = Path(root) if root is not None else manifest_path.parent
    if not root.is_dir():
        raise InputError(f"{root}: root directory not found",
                         hint="pass --root with the run directory the release was built from")
    return ReleaseSource(location=text, manifest=manifest, manifest_bytes=raw,
                         manifest_path=manifest_path, root=root,
                         release_dir=manifest_path.parent)
