"""Opening a release: the one function that turns what a user passes to a command that reads a
release (``verify``, ``diff``, ``audit``, ``lineage``, ``trace``, ``card``, ``export``, ``push``)
into its manifest, the source of its files and where it came from.

A reference is a release folder, its ``manifest.json`` (any manifest file), or
``hub:ORG/NAME[@REV]`` (a branch, tag or commit of a pushed release; it needs a ``HubClient``).
``verify`` and ``diff`` read the files through ``OpenedRelease.source`` (an ``ArtifactSource``);
the other commands read single files through the opened release, each checked against the
manifest's sha256 (on the Hub, a file is downloaded into a folder of this process first).
Nothing here checks the signature: ``verify`` does, and ``card`` and ``export`` verify first.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
import weakref
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from llm360.errors import InputError, VerificationError
from llm360.registry import layout
from llm360.registry._files import resolve_inside
from llm360.registry.build.hashing import sha256_file
from llm360.registry.manifest.models import Artifact, Manifest
from llm360.registry.manifest.serialize import manifest_from_bytes, read_bytes
from llm360.registry.verify.sources import MAX_RELEASE_FILE, ArtifactSource, LocalSource

if TYPE_CHECKING:
    from llm360.registry.hub import HubClient, HubSource

__all__ = ["OpenedRelease", "open_release", "is_hub_ref", "HUB_PREFIX"]

HUB_PREFIX = "hub:"


def is_hub_ref(ref: str | Path) -> bool:
    """Whether ``ref`` names a release on the Hub (``hub:ORG/NAME[@REV]``)."""
    return isinstance(ref, str) and ref.startswith(HUB_PREFIX)


@dataclass(frozen=True, kw_only=True)
class OpenedRelease:
    """A release as opened: its manifest (parsed when first read), the source of its files,
    and where it came from.

    ``origin`` is the release folder, or ``hub:ORG/NAME@REV``; ``source`` is what ``verify``
    and ``diff`` read (a ``LocalSource``, or a ``HubSource``); ``root`` holds the artifacts
    read one by one (the folder, the run given with ``--root``, or for the Hub a folder they
    are downloaded into); ``release_dir`` is the folder beside the manifest (None on the Hub).
    """

    ref: str
    origin: str
    manifest_name: str
    manifest_bytes: bytes
    source: ArtifactSource
    root: Path
    release_dir: Path | None

    @property
    def on_hub(self) -> bool:
        return self.release_dir is None

    @property
    def manifest_path(self) -> str:
        """The manifest as messages name it."""
        return f"{self.origin}/{self.manifest_name}"

    @cached_property
    def manifest(self) -> Manifest:
        return manifest_from_bytes(self.manifest_bytes, source=self.manifest_path)

    @property
    def manifest_sha256(self) -> str:
        return hashlib.sha256(self.manifest_bytes).hexdigest()

    def artifact(self, rel: str) -> Artifact:
        art = self.manifest.artifact(rel)
        if art is None:
            raise InputError(f"{self.manifest_path}: {rel} is not an artifact of the release")
        return art

    def has(self, rel: str) -> bool:
        """Whether the artifact ``rel`` is listed and on hand (on the Hub: listed)."""
        if self.manifest.artifact(rel) is None:
            return False
        if self.on_hub:
            return True
        try:
            return resolve_inside(self.root, rel).is_file()
        except InputError:
            return False

    def path(self, rel: str) -> Path:
        """A local path of the artifact ``rel``: on the Hub downloaded (and checked) first;
        a local file is not checked here (see ``check``)."""
        art = self.artifact(rel)
        full = resolve_inside(self.root, rel, where=self.manifest_path)
        if self.on_hub and not full.is_file():
            self._download(rel, art, full)
        if not full.is_file():
            raise InputError(f"{full}: missing (the manifest lists {rel})",
                             hint="pass --root with the run directory the release was built "
                                  "from, or pull the file")
        return full

    def read(self, rel: str) -> bytes:
        """The bytes of artifact ``rel``, checked against the manifest's sha256."""
        with open(self.path(rel), "rb") as fh:  # a longer file fails unread beyond its size
            raw = fh.read(self.artifact(rel).size + 1)
        self.compare_digest(rel, hashlib.sha256(raw).hexdigest(), len(raw))
        return raw

    def read_listed(self, rel: str | None) -> bytes | None:
        """The checked bytes of ``rel`` when the manifest lists it and it is on hand, else
        None."""
        if rel is None or not self.has(rel):
            return None
        return self.read(rel)

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

    def release_file(self, name: str) -> bytes | None:
        """A file the build wrote beside the manifest (README.md, the signature bundle, a
        checkpoint's model.sig), as the release holds it (not checked here), or None."""
        return self.source.read_bytes(name)

    def _download(self, rel: str, art: Artifact, dest: Path) -> None:
        hub: HubSource = self.source  # type: ignore[assignment]
        dest.parent.mkdir(parents=True, exist_ok=True)
        part = dest.with_name(dest.name + ".part")
        size, digest = hub.fetch(self.manifest, rel, part, limit=art.size)
        self.compare_digest(rel, digest, size)
        part.replace(dest)


def open_release(ref: str | Path, *, root: Path | None = None,
                 client: HubClient | None = None) -> OpenedRelease:
    """Open ``ref``: a release folder, a manifest file, or ``hub:ORG/NAME[@REV]`` (read
    through ``client``). ``root`` holds the artifacts of a local release when they are not
    beside the manifest (a metadata-only release's run directory)."""
    text = str(ref)
    if is_hub_ref(text):
        return _open_hub(text, root=root, client=client)
    path = Path(ref)
    manifest_path = path / layout.MANIFEST if path.is_dir() else path
    if not manifest_path.is_file():
        raise InputError(f"{manifest_path}: manifest not found",
                         hint="pass a release folder, its manifest.json or hub:ORG/NAME")
    if root is not None and not Path(root).is_dir():
        raise InputError(f"{root}: root directory not found",
                         hint="pass --root with the run directory the release was built from")
    raw = read_bytes(manifest_path, str(manifest_path), limit=MAX_RELEASE_FILE)
    release_dir = manifest_path.parent
    return OpenedRelease(ref=text, origin=str(release_dir), manifest_name=manifest_path.name,
                         manifest_bytes=raw, source=LocalSource(release_dir, root),
                         root=Path(root) if root is not None else release_dir,
                         release_dir=release_dir)


def _open_hub(ref: str, *, root: Path | None, client: HubClient | None) -> OpenedRelease:
    from llm360.registry.hub import MAIN, HubSource

    if client is None:
        raise InputError(f"{ref}: reading a release from the Hub needs a Hub client")
    if root is not None:
        raise InputError(f"--root {root}: a release on the Hub holds its own files",
                         hint="leave --root out, or pull the release and pass its folder")
    repo, _, revision = ref[len(HUB_PREFIX):].partition("@")
    source = HubSource(client, repo, revision=revision or MAIN)
    raw = source.read_bytes(layout.MANIFEST)
    if raw is None:
        raise InputError(f"{source.description}: no {layout.MANIFEST}",
                         hint="is this a repository pushed by `llm360 push`? pass @REV if the "
                              "release is on another branch or tag")
    folder = Path(tempfile.mkdtemp(prefix="llm360-hub-"))
    opened = OpenedRelease(ref=ref, origin=source.description, manifest_name=layout.MANIFEST,
                           manifest_bytes=raw, source=source, root=folder, release_dir=None)
    weakref.finalize(opened, shutil.rmtree, folder, ignore_errors=True)
    return opened
