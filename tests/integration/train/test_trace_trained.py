"""trace and audit on a release of a really trained tiny run: text through its BPE tokenizer,
text that spans two rows, text never trained on, and the data order of each checkpoint."""

from __future__ import annotations

import pytest
from safetensors.numpy import load_file

from llm360.registry.analysis import lineage
from llm360.registry.analysis.audit import audit_release
from llm360.registry.analysis.trace import build_proofs, check_proofs, load_tokenizer, trace_text
from llm360.registry.build.release import BuildOptions, build_release
from llm360.registry.verify.open import open_release

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def release(trained_run, tmp_path_factory: pytest.TempPathFactory):
    run, _ = trained_run
    out = tmp_path_factory.mktemp("trace") / "release"
    build_release(run, out, options=BuildOptions(created="2026-11-27T00:00:00Z", use_cache=False))
    return open_release(out)


def _text(release, chunk: int, row: int, start: int, stop: int) -> str:
    rows = load_file(str(release.root / f"data/chunk_{chunk:03d}.safetensors"))["tokens"]
    flat = rows.reshape(-1)
    seq = rows.shape[1]
    return load_tokenizer(release).decode(flat[row * seq + start:row * seq + stop].tolist())


def test_text_of_a_trained_row(release) -> None:
    text = _text(release, 1, 10, 20, 60)
    result = trace_text(release, text)
    assert result.trained
    hit = next(m for m in result.matches if m.chunk == 1 and 10 in m.rows)
    [t] = hit.trained
    state = release.manifest.checkpoint("ckpt_001")
    parent = release.manifest.checkpoint("ckpt_000")
    assert t.checkpoint == "ckpt_001" and parent.step < t.first_step <= state.step
    assert t.after == ("ckpt_001", "ckpt_002")


def test_text_spanning_two_rows(release) -> None:
    seq = release.manifest.data.seq_len
    text = _text(release, 2, 4, seq - 25, seq + 25)
    result = trace_text(release, text)
    hit = next(m for m in result.matches if m.chunk == 2 and m.rows[:2] == (4, 5))
    assert hit.trained[0].checkpoint == "ckpt_002"
    doc = build_proofs(release, result)
    assert {(p["chunk"], p["row"]) for p in doc["proofs"]} >= {(2, 4), (2, 5)}
    assert check_proofs(release.manifest, release.manifest_sha256, doc) == []


def test_text_never_trained_on(release) -> None:
    result = trace_text(release, "Zebra quartz vexing jumpy wizard 0x7f3a9c 2026 qqq")
    assert result.matches == () and not result.trained


def test_data_order_and_audit_of_the_trained_release(release) -> None:
    order = lineage.data_order(release.manifest, "ckpt_002")
    assert [(s.checkpoint, s.chunk) for s in order] == [("ckpt_000", 0), ("ckpt_001", 1),
                                                        ("ckpt_002", 2)]
    assert order[-1].last_step == release.manifest.checkpoint("ckpt_002").step
    result = audit_release(release)
    # the stdlib corpus is PSF-2.0, which the MOF does not count as an open data license
    assert not result.component("datasets").license_open
    assert result.component("evaluation_data").present  # data/heldout.safetensors
    assert result.component("model_parameters_intermediate").present
