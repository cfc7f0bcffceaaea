"""A two-stage mixture end to end: prepared, trained stage after stage, built, verified.

Realised ratios within one sequence of every target; a resume from the last checkpoint of
stage 1 writes the first checkpoint of stage 2 byte for byte; a chunk whose per-source counts
or source column were doctored fails the build naming the chunk; trace names a row's source;
audit counts each source's license and finds the trainer's code in the release."""

from __future__ import annotations

import gzip
import io
import json
import shutil
import tarfile
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("tokenizers")

from safetensors.numpy import load_file  # noqa: E402

from llm360.errors import InputError  # noqa: E402
from llm360.registry import BuildOptions, TrustPolicy, build_release, verify_release  # noqa: E402
from llm360.registry.analysis.audit import grade  # noqa: E402
from llm360.registry.analysis.trace import find_tokens  # noqa: E402
from llm360.registry.manifest.serialize import canonical_json, load_manifest  # noqa: E402
from llm360.registry.verify.open import open_release  # noqa: E402

pytestmark = pytest.mark.slow

SEQ = 32
MIXTURE = """\
sequences_per_chunk: 16
sources:
  - {source_name: prose, category: english, license: CC0-1.0, reader: jsonl, paths: [prose.jsonl]}
  - {source_name: code, category: code, license: MIT, reader: lines, paths: [code.txt]}
  - {source_name: tests, category: code, license: PSF-2.0, reader: text, paths: ["tests/*.txt"]}
stages:
  - name: stage1
    chunks: 1
    sources: [{source_name: prose, target_ratio: 0.7}, {source_name: code, target_ratio: 0.3}]
  - name: stage2
    tokens: 1100
    schedule: {lr: 0.001, min_lr: 0.0001, warmup_steps: 1}
    sources:
      - {source_name: prose, target_ratio: 0.2}
      - {source_name: code, target_ratio: 0.3}
      - {source_name: tests, target_ratio: 0.5, max_repetition_ratio: 3}
"""
CKPT_FILES = ("model.safetensors", "optimizer.safetensors", "rng.safetensors",
              "trainer_state.json")


def _corpus(folder: Path) -> Path:
    words = "the quick brown fox jumps over a lazy dog while cats sleep and birds sing".split()
    with open(folder / "prose.jsonl", "w") as fh:
        for i in range(150):
            fh.write(json.dumps({"text": " ".join(words[(i * 7 + j * 3) % len(words)]
                                                  for j in range(25))}) + "\n")
    (folder / "code.txt").write_text("".join(f"def f{i}(x):    return x * {i} + {i % 7}\n"
                                             for i in range(300)))
    (folder / "tests").mkdir()
    for k in range(2):
        (folder / "tests" / f"t{k}.txt").write_text("".join(
            f"assert f{i}({k}) == {k * i + i % 7}\n" for i in range(12)))
    (folder / "mix.yaml").write_text(MIXTURE)
    return folder / "mix.yaml"


@pytest.fixture(scope="module")
def mixed(tmp_path_factory):
    """(run, release) of the tiny preset trained on a two-stage mixture of three chunks."""
    from llm360.train import TrainOptions, prepare_data, train

    folder = tmp_path_factory.mktemp("mixture")
    run = folder / "run"
    prepare_data(run, mixture=_corpus(folder), seq_len=SEQ, vocab_size=300, seed=3)
    (folder / "config.json").write_text(json.dumps(
        {"train": {"batch_size": 4, "eval_sequences": 4, "warmup_steps": 2}}))
    train(run, TrainOptions(preset="tiny", config_file=folder / "config.json"))
    release = folder / "release"
    build_release(run, release, options=BuildOptions(created="2026-01-01T00:00:00Z"))
    return run, release


def test_stages_are_trained_in_order_and_recorded(mixed) -> None:
    run, release = mixed
    manifest = load_manifest(release / "manifest.json")
    assert manifest.schema_version == "llm360.manifest/v1.2"
    assert [(c.name, c.stage) for c in manifest.checkpoints] == [
        ("ckpt_000", "stage1"), ("ckpt_001", "stage2"), ("ckpt_002", "stage2")]
    stage2 = manifest.data.mixture.stages[1]
    assert stage2.chunks == (1, 2) and stage2.requested_tokens == 1100   # 2 chunks of 512
    state = json.loads((run / "checkpoints/ckpt_001/trainer_state.json").read_text())
    assert state["stage"] == "stage2" and state["schedule"]["stage"]["lr"] == 0.001
    lrs = [json.loads(x)["lr"] for x in (run / "logs/train.jsonl").read_text().splitlines()]
    assert lrs[4] == 0.001 and max(lrs[4:]) == 0.001 < max(lrs[:4])   # stage 2's own warmup
    assert verify_release(release, policy=TrustPolicy(allow_unsigned=True)).ok


def test_realised_ratios_are_within_one_sequence_of_the_targets(mixed) -> None:
    _, release = mixed
    manifest = load_manifest(release / "manifest.json")
    chunks = {c.index: c for c in manifest.data.chunks}
    for stage in manifest.data.mixture.stages:
        for s in stage.sources:
            assert abs(s.tokens - s.target_ratio * stage.tokens) <= SEQ, (stage.name, s)
            assert s.tokens == sum(chunks[k].sources[s.name].tokens for k in stage.chunks
                                   if s.name in chunks[k].sources)
        assert {c.name: c.target_ratio for c in stage.categories}["code"] == pytest.approx(
            sum(s.target_ratio for s in stage.sources if s.category == "code"))
    tests = manifest.data.mixture.stages[1].sources[2]
    assert tests.repeated_sequences > 0 and tests.epochs > 1   # a small source, repeated
    card = (release / "DATA_CARD.md").read_text()
    assert "### Stage `stage2`: chunks 1-2" in card and "(plots/data_mixture.png)" in card
    assert (release / "plots/data_mixture.png").read_bytes()[:4] == b"\x89PNG"


def test_resume_from_the_end_of_stage_1_writes_stage_2_byte_for_byte(mixed, tmp_path) -> None:
    from llm360.train import TrainOptions, train

    run, _ = mixed
    copy = tmp_path / "resumed"
    shutil.copytree(run, copy, ignore=shutil.ignore_patterns(".llm360"))
    for name in ("ckpt_001", "ckpt_002"):
        shutil.rmtree(copy / "checkpoints" / name)
        (copy / "evals" / f"{name}.json").unlink()
    result = train(copy, TrainOptions(resume_from=copy / "checkpoints/ckpt_000"))
    assert [c["name"] for c in result.checkpoints] == ["ckpt_001", "ckpt_002"]
    for name in ("ckpt_001", "ckpt_002"):
        for f in CKPT_FILES:
            rel = f"checkpoints/{name}/{f}"
            assert (copy / rel).read_bytes() == (run / rel).read_bytes(), rel


def _build_fails(run: Path, out: Path) -> str:
    with pytest.raises(InputError) as exc:
        build_release(run, out, options=BuildOptions(cards=False, use_cache=False))
    return exc.value.message


def test_doctored_per_source_counts_fail_the_build_naming_the_chunk(mixed, tmp_path) -> None:
    run = tmp_path / "run"
    shutil.copytree(mixed[0], run, ignore=shutil.ignore_patterns(".llm360"))
    index = json.loads((run / "data/index.json").read_text())
    counts = index["chunks"][1]["counts"]["sources"]["code"]
    counts["sequences"] += 1
    (run / "data/index.json").write_bytes(canonical_json(index))
    message = _build_fails(run, tmp_path / "out")
    assert "data/chunk_001.safetensors" in message and "code" in message, message


def test_a_doctored_source_column_fails_the_build_naming_the_chunk(mixed, tmp_path) -> None:
    import hashlib

    from llm360.train.data import chunk_bytes

    run = tmp_path / "run"
    shutil.copytree(mixed[0], run, ignore=shutil.ignore_patterns(".llm360"))
    tensors = load_file(str(run / "data/chunk_002.safetensors"))
    sources = tensors["sources"].copy()
    row = int(np.flatnonzero(sources[:, 0] == 0)[0])
    sources[row, 0] = 1          # a prose row now claims to be code
    raw = chunk_bytes(tensors["tokens"], sources)
    (run / "data/chunk_002.safetensors").write_bytes(raw)
    index = json.loads((run / "data/index.json").read_text())
    index["chunks"][2]["sha256"] = hashlib.sha256(raw).hexdigest()   # the index follows
    (run / "data/index.json").write_bytes(canonical_json(index))
    message = _build_fails(run, tmp_path / "out")
    assert "data/chunk_002.safetensors" in message and "sources column" in message, message


def test_trace_names_the_source_and_category_of_a_row(mixed) -> None:
    _, release = mixed
    tensors = load_file(str(release / "data/chunk_000.safetensors"))
    index = json.loads((release / "data/index.json").read_text())
    names = [s["source_name"] for s in index["mixture"]["sources"]]
    row = int(np.flatnonzero(tensors["sources"][:, 0] == 1)[0])   # a code row
    source = open_release(str(release))
    result = find_tokens(source, tensors["tokens"][row].tolist())
    first = next(m for m in result.matches if m.chunk == 0 and m.row == row)
    assert (first.source, first.category, first.epoch) == (names[1], "code", 0)


def test_audit_counts_source_licenses_and_finds_the_code_in_the_release(mixed) -> None:
    _, release = mixed
    result = grade(load_manifest(release / "manifest.json"),
                   release_files={"README.md", "DATA_CARD.md"})
    by_license = {s.license: s for s in result.source_licenses}
    assert set(by_license) == {"CC0-1.0", "MIT", "PSF-2.0"}
    assert by_license["PSF-2.0"].sources == ("tests",) and not by_license["PSF-2.0"].open
    assert sum(s.tokens for s in by_license.values()) == 3 * 16 * SEQ
    datasets = result.component("datasets")
    assert datasets.license == "CC0-1.0 AND MIT AND PSF-2.0" and not datasets.counts
    for key in ("training_code", "evaluation_code", "data_preprocessing_code",
                "model_architecture", "inference_code"):
        comp = result.component(key)
        assert comp.counts and comp.location == "code/llm360-train.tar.gz", comp


def test_the_code_archive_is_reproducible_and_checked(mixed, tmp_path) -> None:
    from llm360.train.code_archive import source_archive

    run, _ = mixed
    raw = (run / "code/llm360-train.tar.gz").read_bytes()
    assert source_archive()[0] == raw          # the same code gives the same bytes
    assert raw[4:8] == b"\0\0\0\0"             # gzip mtime 0
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(raw))) as tar:
        members = tar.getmembers()
    assert [m.name for m in members] == sorted(m.name for m in members)
    assert {(m.mtime, m.uid, m.gid, m.uname, m.mode) for m in members} == {(0, 0, 0, "", 0o644)}
    assert "llm360/train/loop.py" in {m.name for m in members}
    prov = json.loads((run / "code/provenance.json").read_text())
    assert prov["code"]["archive"]["components"]["training_code"] == "llm360/train/loop.py"
    bad = tmp_path / "run"    # an archive with a link in it is refused, naming it
    shutil.copytree(run, bad, ignore=shutil.ignore_patterns(".llm360"))
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        link = tarfile.TarInfo("llm360/train/loop.py")
        link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
        tar.addfile(link)
    (bad / "code/llm360-train.tar.gz").write_bytes(gzip.compress(buf.getvalue(), mtime=0))
    message = _build_fails(bad, tmp_path / "out")
    assert "llm360-train.tar.gz" in message and "not a regular file" in message, message


def test_read_run_reads_each_record_whole_into_its_typed_record(mixed) -> None:
    """The reader's records are the writer's types, and each holds its whole file: the
    mixture, each chunk's counts and stage, the trainer's source archive, the line and
    configuration of each checkpoint, the eval's details (issue 22)."""
    import yaml

    from llm360.registry.run.reader import read_run

    run, _ = mixed
    records = read_run(run)

    def data(rel):
        return json.loads((run / rel).read_text())

    assert records.data_index.to_data() == data("data/index.json")
    assert records.data_config.to_data() == data("config/data.json")
    assert records.train_config.to_data() == data("config/train.json")
    assert records.model_config.to_data() == data("config/model.json")
    assert records.provenance.to_data() == data("code/provenance.json")
    assert records.metadata.to_data() == yaml.safe_load((run / "llm360.yaml").read_text())
    for name, state in records.trainer_states.items():
        assert state.to_data() == data(f"checkpoints/{name}/trainer_state.json")
    for rel, record in records.evals.items():
        assert record.to_data() == data(rel)
    mix = records.data_index.mixture
    assert [s.name for s in mix.stages] == ["stage1", "stage2"] and mix.sources
    chunk = records.data_index.chunks[1]
    assert chunk.stage == "stage2" and sum(c.sequences for c in chunk.counts.sources.values())
    assert records.provenance.code.archive.path == "code/llm360-train.tar.gz"
    state = records.trainer_states["ckpt_001"]
    assert (state.stage, state.lineage) == ("stage2", "main") and state.train_config
    details = records.eval_of("ckpt_001").details
    assert details.heldout_sequences == 4 and details.memorization is not None
    assert records.data_config.heldout.path == "data/heldout.safetensors"
