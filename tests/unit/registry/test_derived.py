"""The derived-release link in a manifest: lineage's rules across the link (steps grow from
the parent's, but for a fine-tune), and parent_chain's walk (hash-linked: a parent is accepted
only with the sha256 its child records, so the chain cannot loop; iterative; bounded)."""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path

import pytest

from llm360.registry.analysis import lineage
from llm360.registry.build.release import build_manifest
from llm360.registry.manifest.models import (
    DERIVED_SCHEMA_VERSION,
    DerivedFrom,
    Manifest,
    ParentCheckpoint,
    ParentRelease,
    ParentSigner,
)
from llm360.registry.manifest.serialize import manifest_from_bytes, manifest_to_bytes
from llm360.registry.verify.parent import chain_text, parent_chain


@pytest.fixture
def manifest(synthetic_run: Path) -> Manifest:
    return build_manifest(synthetic_run, created="2026-11-27T00:00:00Z", use_cache=False)[0]


def _child(parent: Manifest, *, name: str, at: str = "ckpt_001", relation: str = "continuation",
           step: int | None = None) -> Manifest:
    """A release holding one checkpoint that continues ``parent``'s ``at``."""
    base = parent.checkpoint(at)
    raw = manifest_to_bytes(parent)
    first = dataclasses.replace(parent.checkpoints[-1], name="ckpt_100", parents=(at,),
                                step=base.step + 1 if step is None else step,
                                tokens_seen=base.tokens_seen + 1)
    return dataclasses.replace(
        parent, release=dataclasses.replace(parent.release, name=name), checkpoints=(first,),
        schema_version=DERIVED_SCHEMA_VERSION, derived_from=DerivedFrom(
            relation=relation,
            release=ParentRelease(name=parent.release.name, version=parent.release.version,
                                  manifest_sha256=hashlib.sha256(raw).hexdigest(),
                                  signer=ParentSigner(method="unsigned"),
                                  repo=f"acme/{parent.release.name}"),
            checkpoint=ParentCheckpoint(name=at, step=base.step, tokens_seen=base.tokens_seen,
                                        root_digest=base.root_digest)))


def test_the_parent_checkpoint_is_referenced_and_steps_grow_from_it(manifest):
    child = _child(manifest, name="child")
    problems = [p for p in lineage.check(child) if p.code == "lineage"]
    assert problems == []
    assert lineage.roots(child) == ["ckpt_100"]
    late = _child(manifest, name="child", step=1)
    [p] = [p for p in lineage.check(late) if "does not grow" in p.message]
    assert "from parent acme/synthetic-tiny@ckpt_001" in p.message
    assert not [p for p in lineage.check(_child(manifest, name="ft", relation="finetune",
                                                step=1)) if "does not grow" in p.message]


def test_the_manifest_round_trips_as_v1_3(manifest):
    child = _child(manifest, name="child")
    again = manifest_from_bytes(manifest_to_bytes(child))
    assert again == child and again.derived_from.label == "acme/synthetic-tiny@ckpt_001"
    with pytest.raises(Exception, match="derived_from"):
        manifest_from_bytes(manifest_to_bytes(dataclasses.replace(child, derived_from=None)))


def test_the_chain_is_hash_linked_and_bounded(manifest):
    gens = [manifest]
    for i in range(5):
        gens.append(_child(gens[-1], name=f"gen{i + 1}", at=gens[-1].checkpoints[-1].name))
    store = {hashlib.sha256(manifest_to_bytes(m)).hexdigest(): manifest_to_bytes(m)
             for m in gens}

    def fetch(link):
        raw = store.get(link.release.manifest_sha256)
        return (raw, f"hub:{link.release.repo}") if raw else None

    chain = parent_chain(gens[-1], fetch)
    assert [g.manifest.release.name for g in chain] == \
        ["gen4", "gen3", "gen2", "gen1", "synthetic-tiny"]
    assert chain_text(gens[-1], chain).startswith("acme/synthetic-tiny@ckpt_002 -> acme/gen1@")
    assert chain_text(gens[-1], chain).endswith("-> ckpt_100 (this release)")
    bounded = parent_chain(gens[-1], fetch, limit=2)
    assert len(bounded) == 3 and "more than 2 generations" in bounded[-1].note
    # a parent whose manifest is not the one its child names ends the chain
    swapped = parent_chain(gens[-1], lambda link: (manifest_to_bytes(manifest), "x"))
    assert swapped[0].manifest is None and "not the manifest" in swapped[0].note
