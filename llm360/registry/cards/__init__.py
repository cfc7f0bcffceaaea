"""Manifest -> model card (README.md), checkpoint cards, data card and plots.

Everything is rendered from the manifest plus the run files it lists (configs, data index,
trainer states, evals, logs): inside ``release build`` from the records the build has just
validated and hashed, otherwise read from the run and checked against the manifest's sha256.
The facts go into a typed, frozen ``ReleaseView`` that the templates (``llm360/templates``,
jinja2 with ``StrictUndefined``) read; a fact that is not recorded is left out, never filled in.
Hub-specific pieces (license ids, model-index, card validation) are in ``_hub_meta``.

A build remembers what it rendered in ``RUN/.llm360/cards``: a rebuild whose inputs (the cards'
by their manifest digests, the plots' by their planned content) and renderer are unchanged
renders nothing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from llm360.errors import InputError, VerificationError
from llm360.registry import layout
from llm360.registry._files import resolve_inside, write_atomic
from llm360.registry.cards._assemble import build_view as _build_view
from llm360.registry.cards._assemble import plot_specs, signed_checkpoints
from llm360.registry.cards._cache import RenderCache, link_into
from llm360.registry.cards._draw import drawn_here, load_fonts
from llm360.registry.cards._inputs import (
    RunInputs,
    canonical_key,
    input_paths,
    inputs_from_records,
    read_inputs,
)
from llm360.registry.cards._lines import MAIN, Line, lines
from llm360.registry.cards._plots import PlotSpec, render_plots
from llm360.registry.cards._render import (
    card_templates,
    environment,
    render_markdown,
    renderer_version,
)
from llm360.registry.cards._view import ReleaseView
from llm360.registry.manifest.models import Manifest
from llm360.registry.signing import (
    BUNDLE_FILE,
    SignatureInfo,
    check_manifest_signature,
    describe_bundle,
    describe_signature,
)
from llm360.registry.verify.open import OpenedRelease, open_release
from llm360.registry.verify.policy import TrustPolicy

if TYPE_CHECKING:
    from llm360.registry.build.release import BuildContext
    from llm360.registry.hub import HubClient

__all__ = ["CardResult", "CardSignature", "CardsStep", "ReleaseView", "RunInputs", "SignatureInfo",
           "MAIN", "Line", "build_view", "describe_signature", "lines",
           "render_cards", "render_files", "write_cards"]

@dataclass(frozen=True, kw_only=True)
class CardSignature:
    """What the signature check of ``render_cards`` found: ``method`` (key, sigstore or
    unsigned), whether it ``verified``, and the signer where the check named one."""

    method: str
    verified: bool
    identity: str | None = None
    issuer: str | None = None
    key_fingerprint: str | None = None

    def as_data(self) -> dict[str, str | bool]:
        """The JSON form (``llm360 card --json``): the signer's facts only where known."""
        data: dict[str, str | bool] = {"method": self.method, "verified": self.verified}
        data.update((k, v) for k, v in (("identity", self.identity), ("issuer", self.issuer),
                                        ("key_fingerprint", self.key_fingerprint))
                    if v is not None)
        return data


@dataclass(frozen=True, kw_only=True)
class CardResult:
    """What ``render_cards`` wrote: the folder, the relative paths of its files, and what the
    signature check found."""

    out_dir: Path
    files: tuple[str, ...]
    signature: CardSignature


def build_view(manifest: Manifest, manifest_bytes: bytes, inputs: RunInputs, *,
               signature_dir: Path | None = None) -> ReleaseView:
    """The typed view of a release that the templates read."""
    signature = describe_signature(Path(signature_dir) / layout.BUNDLE
                                   if signature_dir else None)
    return _build_view(manifest, hashlib.sha256(manifest_bytes).hexdigest(), inputs, signature,
                  signed_checkpoints=signed_checkpoints(signature_dir, manifest))[0]


def _cards_key(manifest: Manifest, manifest_sha: str, signature: SignatureInfo,
               signed: frozenset[str], present: list[str]) -> str:
    """What the Markdown cards are a function of, by digest."""
    arts = {a.path: a.sha256 for a in manifest.artifacts}
    return canonical_key({"renderer": renderer_version(), "manifest": manifest_sha,
                          "inputs": {p: arts[p] for p in present},
                          "signature": asdict(signature), "signed": sorted(signed)})


def _plots_key(specs: Sequence[PlotSpec]) -> str:
    """What the plots are a function of: their planned content, whole."""
    return canonical_key({"renderer": renderer_version(),
                          "plots": [spec.as_data() for spec in specs]})


def _render_all(manifest: Manifest, manifest_bytes: bytes, inputs: RunInputs,
                signature: SignatureInfo, signed: frozenset[str]) -> dict[str, bytes]:
    view, specs = _build_view(manifest, hashlib.sha256(manifest_bytes).hexdigest(), inputs,
                              signature, signed_checkpoints=signed)
    return {**render_markdown(view), **render_plots(specs)}


def render_files(manifest: Manifest, manifest_bytes: bytes, root: Path | None, *,
                 signature_dir: Path | None = None,
                 inputs: RunInputs | None = None) -> dict[str, bytes]:
    """Relative path -> bytes of README.md, DATA_CARD.md, cards/*.md and plots/*.png.

    ``inputs`` are the run's records when the caller already holds them verified; otherwise
    they are read from ``root`` and checked against the manifest's digests."""
    inputs = inputs if inputs is not None else read_inputs(manifest, root)
    signature = describe_signature(Path(signature_dir) / layout.BUNDLE
                                   if signature_dir else None)
    return _render_all(manifest, manifest_bytes, inputs, signature,
                       signed_checkpoints(signature_dir, manifest))


def write_cards(manifest: Manifest, manifest_bytes: bytes, root: Path | None, out_dir: Path, *,
                signature_dir: Path | None = None, inputs: RunInputs | None = None) -> list[str]:
    """Render and write (atomically, file by file) the cards; returns the relative paths.

    A plot this tool wrote earlier into ``out_dir`` whose data is gone is removed."""
    return _write(render_files(manifest, manifest_bytes, root, signature_dir=signature_dir,
                               inputs=inputs), Path(out_dir))


def _write(files: dict[str, bytes], out_dir: Path) -> list[str]:
    """Write ``files`` into ``out_dir`` (atomically, file by file, never through a link out of
    the folder named) and remove the plots an earlier render left there that are gone now.
    Nothing this tool did not render is overwritten or removed: a file in the way is
    refused before anything is written."""
    targets = {rel: resolve_inside(out_dir, rel, where="--out") for rel in files}
    for path in targets.values():
        if (path.exists() or path.is_symlink()) and not _rendered_here(path):
            raise InputError(f"{path}: exists and is not a card or plot llm360 rendered; "
                             "it is not overwritten",
                             hint="render into a new or empty folder (--out), or move it")
    for rel, data in files.items():
        write_atomic(targets[rel], data)
    plots = out_dir / layout.PLOTS_DIR
    if plots.is_dir() and not plots.is_symlink():
        for path in plots.glob("*.png"):
            if layout.plot_path(path.stem) not in files and _rendered_here(path):
                path.unlink()
    return sorted(files)


def _rendered_here(path: Path) -> bool:
    """Whether ``path`` is a plain file llm360 rendered: a card whose Hub header names its
    release (``llm360_release``), or a plot whose PNG says it was drawn here."""
    if path.is_symlink() or not path.is_file():
        return False
    with open(path, "rb") as fh:
        head = fh.read(64 << 10)
    if path.suffix == ".png":
        return drawn_here(head)
    header = head.split(b"\n---\n", 1)[0]
    return (path.suffix == ".md" and head.startswith(b"---\n")
            and b"\nllm360_release: " in b"\n" + header[4:])


def render_cards(release: str | Path | OpenedRelease, out_dir: Path, *,
                 root: Path | None = None, policy: TrustPolicy = TrustPolicy(),
                 client: HubClient | None = None) -> CardResult:
    """Verify the signature of ``release`` (a release folder, its ``manifest.json``,
    ``hub:ORG/NAME[@REV]`` read through ``client``, or a release already opened) under
    ``policy`` and render its cards and plots into ``out_dir``.

    A signature that fails is a ``VerificationError``; an unsigned manifest is refused unless
    ``policy.allow_unsigned`` (the cards then say it is unsigned). ``root`` holds the run
    files of a metadata-only release (default: the release folder, which holds them).
    """
    opened = (release if isinstance(release, OpenedRelease)
              else open_release(release, root=root, client=client))
    where = opened.manifest_path
    raw = opened.manifest_bytes
    bundle = opened.release_file(BUNDLE_FILE)
    check = check_manifest_signature(raw, bundle, policy)
    info = check.info
    if check.problems:
        problem = check.problems[0]
        if info.unsigned and not policy.names_signer:
            raise InputError(f"{where}: {problem.message}",
                             hint="render the cards of an unsigned release with --allow-unsigned")
        raise VerificationError(f"{where}: signature check failed: {problem.message}",
                                artifact=problem.file,
                                hint="cards are rendered only for a release whose signature "
                                     "verifies")
    manifest = opened.manifest
    unsigned = info.unsigned or bundle is None
    signature = (SignatureInfo(method="unsigned") if info.unsigned or bundle is None
                 else describe_bundle(bundle, name=layout.BUNDLE, source=f"{opened.origin}/"
                                      f"{layout.BUNDLE}"))
    signed = frozenset() if unsigned else frozenset(
        c.name for c in manifest.checkpoints
        if opened.release_file(layout.signature_path(c.name)) is not None)
    files = _write(_render_all(manifest, raw, read_inputs(manifest, opened), signature, signed),
                   Path(out_dir))
    return CardResult(out_dir=Path(out_dir), files=tuple(files), signature=CardSignature(
        method="unsigned" if info.unsigned else info.method, verified=info.verified,
        identity=info.identity, issuer=info.issuer, key_fingerprint=info.key_fingerprint))


class CardsStep:
    """Renders the cards and plots into the release being built (``build_release``).

    ``run`` runs after the checkpoint signatures and before the release signature, which
    covers what it writes. Nothing is rendered again when its inputs and the renderer are
    unchanged since the last build of the same run (``RUN/.llm360/cards``): the cards are
    keyed by their inputs' manifest digests, the plots by their planned content. ``close``
    waits for the render cache's writes (the release has its own copies)."""

    def __init__(self, run_dir: Path) -> None:
        self._cache = RenderCache(run_dir)

    def prepare(self) -> None:
        """Import and compile what rendering needs, rendering nothing: the templates,
        Pillow's fonts and huggingface_hub's card classes (``build_release`` calls it while
        the files are hashed: ~0.1 s of CPU on a 2-CPU machine). Skipped when an earlier
        build of the run left its cards in the render cache (most likely used again)."""
        if self._cache.has("cards"):
            return
        from huggingface_hub import DatasetCardData, ModelCardData  # noqa: F401
        from packaging.licenses import canonicalize_license_expression  # noqa: F401

        for name in card_templates():  # the pages and what they include
            environment().get_template(name)
        load_fonts()

    def run(self, ctx: BuildContext) -> None:
        manifest, records, release_dir = ctx.manifest, ctx.records, Path(ctx.release_dir)
        manifest_sha = hashlib.sha256(ctx.manifest_bytes).hexdigest()
        on_disk = set(records.files)
        present = [p for p in input_paths(manifest) if p in on_disk]
        cache = self._cache
        inputs = inputs_from_records(records)
        cards_key = _cards_key(manifest, manifest_sha, ctx.signature, ctx.signed, present)
        cards = cache.get("cards", cards_key)
        if cards is None:
            view, specs = _build_view(manifest, manifest_sha, inputs, ctx.signature,
                                      signed_checkpoints=ctx.signed)
            cards = render_markdown(view)
            cache.put("cards", cards_key, cards)
        else:
            specs = plot_specs(manifest, inputs)
        plots = _plots_of(cache, specs)
        for group, files in (("plots", plots), ("cards", cards)):
            for rel, data in files.items():
                source = cache.source(group, rel)
                if source is None or not link_into(source, release_dir / rel):
                    ctx.write(rel, data)

    def close(self) -> None:
        self._cache.flush()


def _plots_of(cache: RenderCache, specs: Sequence[PlotSpec]) -> dict[str, bytes]:
    """The plots of ``specs``: found in the cache, else drawn and kept."""
    key = _plots_key(specs)
    files = cache.get("plots", key)
    if files is None:
        files = render_plots(specs)
        cache.put("plots", key, files)
    return files
