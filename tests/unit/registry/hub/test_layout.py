"""The one layout push, verify --hub and pull share."""

from __future__ import annotations

from llm360.registry.build.release import build_manifest
from llm360.registry.hub import DATASET, MAIN, MODEL, layout


def _manifest(synthetic_run):
    return build_manifest(synthetic_run, created="2026-11-27T00:00:00Z", use_cache=False)[0]


def test_branch_per_checkpoint_main_and_dataset(synthetic_run):
    manifest = _manifest(synthetic_run)
    own = ["manifest.json", "manifest.sigstore.json", "README.md", "DATA_CARD.md",
           "cards/ckpt_000.md", "cards/ckpt_001.md", "cards/ckpt_002.md", "plots/loss.png",
           "signatures/ckpt_000/model.sig", "signatures/ckpt_001/model.sig",
           "signatures/ckpt_002/model.sig", "publication.json"]
    plan = layout(manifest, own)
    assert set(plan) == {(MODEL, "ckpt_000"), (MODEL, "ckpt_001"), (MODEL, "ckpt_002"),
                         (MODEL, MAIN), (DATASET, MAIN)}
    b1 = plan[(MODEL, "ckpt_001")]
    assert b1["model.safetensors"] == "checkpoints/ckpt_001/model.safetensors"
    assert b1["README.md"] == "cards/ckpt_001.md"
    assert b1["model.sig"] == "signatures/ckpt_001/model.sig"
    assert b1["tokenizer.json"] == "tokenizer/tokenizer.json"
    assert not [h for h in b1 if "/" in h]  # the checkpoint's files at the root
    main = plan[(MODEL, MAIN)]
    assert main["model.safetensors"] == "checkpoints/ckpt_002/model.safetensors"
    assert main["README.md"] == "README.md" and main["cards/ckpt_000.md"] == "cards/ckpt_000.md"
    assert "config/train.json" in main and "logs/train.jsonl" in main
    assert "publication.json" not in main  # stays on the publisher's machine
    assert not [h for h in main if h.startswith(("data/", "checkpoints/"))]
    data = plan[(DATASET, MAIN)]
    assert data["README.md"] == "DATA_CARD.md"
    assert {c.path for c in manifest.data.chunks} | {"data/index.json"} <= set(data)
    # every artifact has at least one place
    placed = {rel for files in plan.values() for rel in files.values()}
    assert {a.path for a in manifest.artifacts} <= placed


def test_a_checkpoint_with_its_own_tokenizer_keeps_it(synthetic_run):
    tok = synthetic_run / "tokenizer/tokenizer.json"
    (synthetic_run / "checkpoints/ckpt_002/tokenizer.json").write_bytes(tok.read_bytes())
    plan = layout(_manifest(synthetic_run))
    assert plan[(MODEL, "ckpt_002")]["tokenizer.json"] == \
        "checkpoints/ckpt_002/tokenizer.json"
    assert plan[(MODEL, "ckpt_001")]["tokenizer.json"] == "tokenizer/tokenizer.json"
