"""What a derived release's cards say of its parent: the checkpoint of another release it
continues (manifest v1.3 ``derived_from``), linked on the Hub by branch, and the Hub's model
tree metadata (``base_model``, ``base_model_relation``).

The Hub's model tree knows four relations (``adapter``, ``merge``, ``quantized``,
``finetune``); ``finetune`` is written for a fine-tune. Continued pretraining, a fork and a new
stage have no Hub relation of their own: ``base_model_relation`` is left out there (the Hub
then infers it from the files, which for full weights is a fine-tune) and the card says what
the relation is.
"""

from __future__ import annotations

from collections.abc import Callable

from llm360.registry.cards._view import DerivedView, HubLinks
from llm360.registry.manifest.models import Manifest, ParentSigner

__all__ = ["derived_view", "HUB_RELATIONS"]

#: llm360's relation -> the card metadata's base_model_relation (absent: left out)
HUB_RELATIONS = {"finetune": "finetune"}

_TEXT = {
    "continuation": "continues training from",
    "fork": "forks (other data or hyperparameters) from",
    "finetune": "is a fine-tune of",
    "new-stage": "trains a new stage from",
}


def _signer(signer: ParentSigner) -> str:
    if signer.method == "key":
        return f"key `{signer.key_fingerprint}`" if signer.key_fingerprint else "a key"
    if signer.method == "sigstore":
        return f"`{signer.identity}` (issuer `{signer.issuer}`)"
    return "nobody (unsigned)"


def derived_view(manifest: Manifest, num: Callable[[object], str]) -> DerivedView | None:
    """The view of ``manifest``'s ``derived_from`` (None for a release that continues none);
    ``num`` formats numbers as the cards do."""
    link = manifest.derived_from
    if link is None:
        return None
    ckpt, rel = link.checkpoint, link.release
    hub = HubLinks(repo=rel.repo, data_repo=None, base_model=None)
    return DerivedView(
        relation=link.relation, relation_text=_TEXT.get(link.relation, link.relation),
        label=link.label, repo=rel.repo, revision=rel.revision,
        release=f"{rel.name} {rel.version}", checkpoint=ckpt.name, step=num(ckpt.step),
        tokens_seen=num(ckpt.tokens_seen), root_digest=ckpt.root_digest,
        manifest_sha256=rel.manifest_sha256, signer=_signer(rel.signer),
        branch_url=hub.branch_url(ckpt.name),
        hub_relation=HUB_RELATIONS.get(link.relation),
        continued_by=tuple(c.name for c in manifest.checkpoints if ckpt.name in c.parents))
