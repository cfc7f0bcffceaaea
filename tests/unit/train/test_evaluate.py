"""The memorization score of Biderman et al. 2023 (k = l = 32), on a row planted in the data
that a model memorized, against a hand computation."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from llm360.train.config import ModelConfig, TrainConfig  # noqa: E402
from llm360.train.data import RunData  # noqa: E402
from llm360.train.evaluate import evaluate, memorization_rows, memorization_scores  # noqa: E402
from llm360.train.model import build_model  # noqa: E402

V = 61
CFG = ModelConfig(vocab_size=V, hidden_size=48, intermediate_size=96, num_hidden_layers=2,
                  num_attention_heads=4, num_key_value_heads=4, max_position_embeddings=64)


@pytest.fixture(scope="module")
def memorized():
    """(model, planted row): a model trained on one 64-token row until it reproduces it."""
    torch.manual_seed(0)
    planted = np.random.default_rng(11).integers(1, V, 64).astype(np.int32)
    model = build_model(CFG, seed=5)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    ids = torch.from_numpy(planted.astype(np.int64))[None]
    for _ in range(300):
        logits = model(ids[:, :-1])[0]
        if (logits.argmax(-1) == ids[0, 1:]).all():
            break  # every next token is the argmax: greedy decoding reproduces the row
        loss = torch.nn.functional.cross_entropy(logits, ids[0, 1:])
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model.eval(), planted


def _greedy_by_hand(model, row: np.ndarray, k: int, steps: int) -> list[int]:
    """Greedy continuation, one full forward pass per token (no cache)."""
    seq = [int(t) for t in row[:k]]
    with torch.no_grad():
        for _ in range(steps):
            logits = model(torch.tensor([seq]))[0, -1]
            seq.append(int(logits.argmax()))
    return seq[k:]


def test_a_memorized_row_scores_one_and_a_changed_one_the_share_that_matches(memorized):
    model, planted = memorized
    changed = planted.copy()
    changed[32 + 10:] = planted[32 + 10:] % (V - 1) + 1   # another token in 1..V-1
    assert (changed[42:] != planted[42:]).all()
    other = np.random.default_rng(3).integers(1, V, 64).astype(np.int32)
    rows = np.stack([planted, changed, other])
    scores = memorization_scores(model, rows, prefix=32, suffix=32, precision="fp32")
    assert scores[0] == 1.0                       # memorized: all 32 greedy tokens match
    assert scores[1] == 10 / 32                   # its prefix is the planted one: 10 of 32
    by_hand = _greedy_by_hand(model, other, 32, 32)
    assert scores[2] == sum(int(a == b) for a, b in zip(by_hand, other[32:])) / 32


def test_evaluate_reports_the_paper_score_and_exact_match(memorized):
    model, planted = memorized
    rng = np.random.default_rng(8)
    chunk = np.stack([rng.integers(1, V, 64).astype(np.int32) for _ in range(5)] + [planted])
    data = RunData(seq_len=64, chunks=(chunk,), heldout=chunk[:2], index={}, config={},
                   vocab_size=V, eos_token_id=0, index_digest="0" * 64)
    cfg = TrainConfig(batch_size=2)
    assert cfg.memorization_samples == 64 and cfg.memorization_prefix == 32 == \
        cfg.memorization_suffix
    rec = evaluate(model, data, cfg=cfg, name="ckpt_000", step=1, tokens_seen=128,
                   seen_chunks=[0])
    per_row = [sum(int(a == b) for a, b in zip(_greedy_by_hand(model, r, 32, 32), r[32:])) / 32
               for r in chunk]
    assert per_row[-1] == 1.0
    m = rec["metrics"]
    assert m["memorization_score"] == pytest.approx(np.mean(per_row), abs=1e-12)
    assert m["memorization_exact_match"] == np.mean([s == 1.0 for s in per_row])
    mem = rec["details"]["memorization"]
    assert (mem["k"], mem["l"], mem["rows"], mem["seed"]) == (32, 32, 6, cfg.seed)

    short = dataclasses.replace(data, seq_len=48, chunks=(chunk[:, :48],),
                                heldout=chunk[:2, :48])
    rec = evaluate(model, short, cfg=cfg, name="ckpt_000", step=1, tokens_seen=96,
                   seen_chunks=[0])
    assert "memorization_score" not in rec["metrics"]
    assert "48 tokens, fewer than the 64" in rec["details"]["memorization"]["skipped"]


def test_rows_are_sampled_per_seen_chunk_with_the_seed():
    chunks = tuple(np.zeros((100 + k, 64), dtype=np.int32) for k in range(3))
    data = RunData(seq_len=64, chunks=chunks, heldout=chunks[0][:2], index={}, config={},
                   vocab_size=V, eos_token_id=0, index_digest="0" * 64)
    pairs = memorization_rows(data, [0, 2], per_chunk=64, seed=1234)
    assert [sum(1 for c, _ in pairs if c == k) for k in (0, 1, 2)] == [64, 0, 64]
    assert pairs == memorization_rows(data, [0, 2], per_chunk=64, seed=1234)
    assert pairs != memorization_rows(data, [0, 2], per_chunk=64, seed=1)
    # a chunk scores the same rows at every checkpoint, whatever else was seen
    first = [p for p in memorization_rows(data, [0], per_chunk=64, seed=1234)]
    assert first == [p for p in pairs if p[0] == 0]
