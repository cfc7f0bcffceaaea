import dataclasses
from pathlib import Path

import pytest

from llm360.registry.analysis import lineage
from llm360.registry.build.release import build_manifest
from llm360.registry.manifest.models import Manifest


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
    assert (p.file, p.json_path) == ("checkpoints/ckpt_001/trainer_state.json", "$.parents[0].name")
    assert "parent ckpt_999 is not in the release" in p.message


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
    assert (p.code, p.file, p.json_path) == ("reference", "manifest.json", "$.logs[0]")
    assert "logs/missing.jsonl" in p.message


def test_edited_root_digest(manifest: Manifest) -> None:
    [p] = lineage.check(_with(manifest, "ckpt_001", root_digest="0" * 64))
    assert (p.file, p.json_path) == ("manifest.json", "$.checkpoints[1].root_digest")
    assert "ckpt_001" in p.message


def test_graph_queries_with_a_fork(manifest: Manifest) -> None:
    fork = dataclasses.replace(manifest.checkpoints[2], name="ckpt_002-fork1",
                               data_chunks=(2,))
    m = dataclasses.replace(manifest, checkpoints=manifest.checkpoints + (fork,))
    assert lineage.children(m, "ckpt_001") == ["ckpt_002", "ckpt_002-fork1"]
    assert lineage.ancestors(m, "ckpt_002-fork1") == ["ckpt_001", "ckpt_000"]
    assert lineage.data_seen(m, "ckpt_002-fork1") == [0, 1, 2]
    assert lineage.roots(m) == ["ckpt_000"]


def _forked(manifest: Manifest) -> Manifest:
    """ckpt_001-fork1 restarts from ckpt_000 on chunk 1 with a batch of 1 row: 8 steps."""
    c1 = manifest.checkpoint("ckpt_001")
    fork = dataclasses.replace(c1, name="ckpt_001-fork1", step=c1.step + 4, parents=("ckpt_000",))
    return dataclasses.replace(manifest, checkpoints=manifest.checkpoints + (fork,))


def test_spans_pin_rows_to_steps(manifest: Manifest) -> None:
    # synthetic: 8 rows of 16 tokens per chunk, 4 steps per checkpoint, so 2 rows a step
    spans = {(s.checkpoint, s.chunk): s for s in lineage.spans(manifest)}
    s = spans[("ckpt_001", 1)]
    assert (s.rows, s.tokens, s.first_step, s.last_step) == (8, 128, 5, 8)
    assert [s.step_of(r) for r in range(8)] == [5, 5, 6, 6, 7, 7, 8, 8]
    assert s.step_of(8) is None


def test_data_order_follows_each_line_of_a_fork(manifest: Manifest) -> None:
    m = _forked(manifest)
    main = [(s.checkpoint, s.chunk) for s in lineage.data_order(m, "ckpt_002")]
    assert main == [("ckpt_000", 0), ("ckpt_001", 1), ("ckpt_002", 2)]
    fork = lineage.data_order(m, "ckpt_001-fork1")
    assert [(s.checkpoint, s.chunk) for s in fork] == [("ckpt_000", 0), ("ckpt_001-fork1", 1)]
    assert (fork[1].first_step, fork[1].last_step, fork[1].rows_per_step) == (5, 12, 1)
    assert lineage.descendants(m, "ckpt_000") == ["ckpt_001", "ckpt_002", "ckpt_001-fork1"]
    assert lineage.descendants(m, "ckpt_001") == ["ckpt_002"]


def test_a_merge_counts_from_its_latest_parent(manifest: Manifest) -> None:
    m = _forked(manifest)
    merge = dataclasses.replace(m.checkpoint("ckpt_002"), name="avg", step=20, tokens_seen=640,
                                parents=("ckpt_002", "ckpt_001-fork1"), data_chunks=(2,))
    m = dataclasses.replace(m, checkpoints=m.checkpoints + (merge,))
    [span] = [s for s in lineage.spans(m) if s.checkpoint == "avg"]
    # from ckpt_002 (step 12, 384 tokens): 16 rows in 8 steps; the 8 rows of chunk 2 in 4
    assert (span.start_step, span.first_step, span.last_step) == (12, 13, 16)
    assert {s.checkpoint for s in lineage.data_order(m, "avg")} == \
        {"ckpt_000", "ckpt_001", "ckpt_002", "ckpt_001-fork1", "avg"}
