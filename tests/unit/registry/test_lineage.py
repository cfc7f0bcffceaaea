import dataclasses
from pathlib import Path

import pytest

from llm360.registry import lineage
from llm360.registry.build import build_manifest
from llm360.registry.models import Manifest


@pytest.fixture
def manifest(synthetic_run: Path) -> Manifest:
    return build_manifest(synthetic_run, created="2026-11-27T00:00:00Z", use_cache=False)[0]


def _with(manifest: Manifest, name: str, **changes) -> Manifest:
    ckpts = tuple(dataclasses.replace(c, **changes) if c.name == name else c
                  for c in manifest.checkpoints)
    return dataclasses.replace(manifest, checkpoints=ckpts)


def test_consistent_release_has_no_problems(manifest: Manifest) -> None:
    assert lineage.check(manifest) == []


def test_missing_parent(manifest: Manifest) -> None:
    [p] = lineage.check(_with(manifest, "ckpt_001", parents=("ckpt_999",)))
    assert p.path == "ckpt_001" and "parent ckpt_999 is not in the release" in p.message


def test_cycle(manifest: Manifest) -> None:
    problems = lineage.check(_with(manifest, "ckpt_000", parents=("ckpt_002",)))
    assert any("cycle" in p.message for p in problems)


def test_step_and_tokens_must_grow(manifest: Manifest) -> None:
    messages = [p.message for p in lineage.check(_with(manifest, "ckpt_002", step=1,
                                                       tokens_seen=1))]
    assert any("step 1 does not grow" in m for m in messages)
    assert any("tokens_seen 1 does not grow" in m for m in messages)


def test_unknown_data_chunk(manifest: Manifest) -> None:
    [p] = lineage.check(_with(manifest, "ckpt_000", data_chunks=(7,)))
    assert "data chunk 7 is not in the release" in p.message


def test_reference_to_a_non_artifact(manifest: Manifest) -> None:
    bad = dataclasses.replace(manifest, logs=("logs/missing.jsonl",))
    [p] = lineage.check(bad)
    assert p.code == "reference" and p.path == "logs/missing.jsonl"


def test_edited_root_digest(manifest: Manifest) -> None:
    [p] = lineage.check(_with(manifest, "ckpt_001", root_digest="0" * 64))
    assert p.path == "ckpt_001" and "root_digest" in p.message


def test_graph_queries_with_a_fork(manifest: Manifest) -> None:
    fork = dataclasses.replace(manifest.checkpoints[2], name="ckpt_002-fork1",
                               data_chunks=(2,))
    m = dataclasses.replace(manifest, checkpoints=manifest.checkpoints + (fork,))
    assert lineage.children(m, "ckpt_001") == ["ckpt_002", "ckpt_002-fork1"]
    assert lineage.ancestors(m, "ckpt_002-fork1") == ["ckpt_001", "ckpt_000"]
    assert lineage.data_seen(m, "ckpt_002-fork1") == [0, 1, 2]
    assert lineage.roots(m) == ["ckpt_000"]
