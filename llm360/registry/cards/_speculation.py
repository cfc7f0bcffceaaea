"""Cards rendered while the build still hashes, with placeholders for the digests.

A card shows digests (each file's sha256, each checkpoint's root digest, the manifest's sha256)
but never reads them: ``build_view`` copies them into the view and the templates print them
whole, so a card rendered from the build's draft manifest, whose digests are random
placeholders, becomes the card of the real manifest by putting each real digest where its
placeholder stands. ``speculate`` renders from the draft (in ``CardsStep.prepare``, on the
main thread while other threads hash); ``realize`` (in ``run``) returns the real cards only
when the real manifest is the draft with its placeholders replaced, byte for byte, and the
signature and the signed checkpoints are the ones foreseen; otherwise None, and the step
renders as usual.

A placeholder and a real digest are both 64 lowercase hex digits; a YAML header writes either
unquoted unless it is all decimal digits, so such a digest (about one in 10^13) renders anew.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from llm360.registry._run import RunRecords
    from llm360.registry.build import BuildContext, DraftContext
    from llm360.registry.cards._inputs import RunInputs
    from llm360.registry.models import Manifest
    from llm360.registry.signing import SignatureInfo

__all__ = ["Speculation", "speculate", "realize"]

#: a whole run of 64 hex digits: a sha256 as the manifest and the cards write it
_DIGEST = re.compile(rb"(?<![0-9a-f])[0-9a-f]{64}(?![0-9a-f])")


@dataclass(frozen=True, kw_only=True)
class Speculation:
    """The cards of a draft manifest, and what they were rendered from."""

    draft: Manifest
    draft_bytes: bytes            # the draft's canonical JSON, placeholders in it
    manifest_sha256: str          # the placeholder for the manifest's own sha256
    records: RunRecords
    signature: SignatureInfo
    signed: frozenset[str]
    cards: dict[str, bytes]


def speculate(draft: DraftContext, inputs: RunInputs) -> Speculation | None:
    """The cards of ``draft`` (``inputs``: from its records; None when its signature is not
    known before signing)."""
    if draft.signature is None:
        return None
    from llm360.registry.build import placeholder_digest
    from llm360.registry.cards._assemble import build_view
    from llm360.registry.cards._render import render_markdown
    from llm360.registry.serialize import canonical_json, to_data

    manifest_sha = placeholder_digest()
    view, _ = build_view(draft.draft, manifest_sha, inputs, draft.signature,
                         signed_checkpoints=draft.signed)
    return Speculation(draft=draft.draft, draft_bytes=canonical_json(to_data(draft.draft)),
                       manifest_sha256=manifest_sha, records=draft.records,
                       signature=draft.signature, signed=draft.signed,
                       cards=render_markdown(view))


def realize(spec: Speculation, ctx: BuildContext) -> dict[str, bytes] | None:
    """The cards of ``ctx`` from ``spec``, or None where they may differ from a render."""
    if (ctx.records is not spec.records or ctx.signature != spec.signature
            or ctx.signed != spec.signed):
        return None
    real = {a.path: a.sha256 for a in ctx.manifest.artifacts}
    roots = {c.name: c.root_digest for c in ctx.manifest.checkpoints}
    pairs = [(a.sha256, real.get(a.path)) for a in spec.draft.artifacts]
    pairs += [(c.root_digest, roots.get(c.name)) for c in spec.draft.checkpoints]
    pairs.append((spec.manifest_sha256, hashlib.sha256(ctx.manifest_bytes).hexdigest()))
    if any(value is None or value.isdigit() for _, value in pairs):
        return None
    mapping = {p.encode("ascii"): v.encode("ascii") for p, v in pairs if v is not None}
    if _replace(spec.draft_bytes, mapping) != ctx.manifest_bytes:
        return None  # the manifest differs beyond its digests: render from it
    return {rel: _replace(data, mapping) for rel, data in spec.cards.items()}


def _replace(data: bytes, mapping: Mapping[bytes, bytes]) -> bytes:
    return _DIGEST.sub(lambda m: mapping.get(m.group(), m.group()), data)
