"""RunWriter: a run written from numpy or torch tensors builds and verifies; digests come from
the bytes as written; nothing is overwritten; torch is imported only for torch tensors."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from llm360.errors import CheckpointExistsError, InputError
from llm360.registry import BuildOptions, TrustPolicy, build_release, layout, verify_release
from llm360.registry.run.tensorfiles import tensors_to_safetensors
from llm360.registry.run.writer import RunWriter, checkpoint_root_digest

META = {"name": "writer-test", "version": "1", "licenses": {
    "weights": "MIT", "code": "MIT", "data": "CC0-1.0", "documentation": "CC-BY-4.0"}}
MODEL = {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "vocab_size": 32,
         "hidden_size": 4, "num_hidden_layers": 1, "num_attention_heads": 1}
TRAIN = {"backend": "custom", "precision": "fp32", "world_size": 1, "seed": 3}


def _weights(k: int) -> dict:
    rng = np.random.default_rng(k)
    return {"model.embed_tokens.weight": rng.standard_normal((32, 4), dtype=np.float32),
            "lm_head.weight": rng.standard_normal((32, 4), dtype=np.float32)}


def _run(root: Path, checkpoints: int = 2) -> RunWriter:
    w = RunWriter.create(root, metadata=META, model_config=MODEL, train_config=TRAIN,
                         tokenizer=b'{"model": {}}')
    for k in range(checkpoints):
        w.add_chunk(np.arange(k, k + 24).reshape(3, 8) % 32, sources=[f"doc{k}"])
        for s in range(2):
            step = 2 * k + s + 1
            w.log(step=step, loss=3.0 - step / 10, lr=1e-3, tokens_seen=step * 12, chunk=k)
        w.write_checkpoint(model=_weights(k), optimizer={"x.exp_avg": np.zeros(2, np.float32)},
                           rng={"numpy_key": np.arange(4, dtype=np.int64)},
                           step=2 * k + 2, tokens_seen=(2 * k + 2) * 12,
                           metrics={"train_loss": 2.0})
        w.write_eval(layout.checkpoint_name(k), metrics={"heldout_loss": 2.5})
    w.close()
    return w


def test_a_written_run_builds_and_verifies(tmp_path: Path) -> None:
    _run(tmp_path / "run", 3)
    result = build_release(tmp_path / "run", tmp_path / "rel",
                           options=BuildOptions(created="2026-11-27T00:00:00Z"))
    assert [c.name for c in result.manifest.checkpoints] == ["ckpt_000", "ckpt_001", "ckpt_002"]
    assert [c.parents for c in result.manifest.checkpoints] == [(), ("ckpt_000",),
                                                                ("ckpt_001",)]
    assert [c.data_chunks for c in result.manifest.checkpoints] == [(0,), (1,), (2,)]
    assert verify_release(result.manifest_path, policy=TrustPolicy(allow_unsigned=True)).ok
    lines = (tmp_path / "run" / layout.TRAIN_LOG).read_bytes().splitlines()
    assert [json.loads(x)["step"] for x in lines] == [1, 2, 3, 4, 5, 6]


def test_digests_are_those_of_the_bytes_on_disk(tmp_path: Path) -> None:
    w = _run(tmp_path / "run", 1)
    ckpt = w.write_checkpoint(model=_weights(9), step=10, tokens_seen=500)
    assert ckpt.status == "written" and ckpt.state.parents[0].name == "ckpt_000"
    assert ckpt.state.data_chunks == () and ckpt.state.position.chunk == 1
    for name, digest in ckpt.files.items():
        assert hashlib.sha256((ckpt.path / name).read_bytes()).hexdigest() == digest
    assert ckpt.root_digest == checkpoint_root_digest(tmp_path / "run", ckpt.name)
    state = json.loads((ckpt.path / layout.TRAINER_STATE).read_bytes())
    assert state["parents"][0]["root_digest"] == checkpoint_root_digest(tmp_path / "run",
                                                                        "ckpt_000")
    assert not (tmp_path / "run" / layout.STAGING).exists() or \
        not any((tmp_path / "run" / layout.STAGING).iterdir())
    assert json.loads((ckpt.path / layout.CHECKPOINT_CONFIG).read_bytes()) == MODEL
    assert layout.checkpoint_file(ckpt.name, layout.MODEL_WEIGHTS) in w.written
    assert layout.DATA_INDEX in w.written and layout.TRAIN_LOG not in w.written
    for rel, d in w.written.items():
        raw = (tmp_path / "run" / rel).read_bytes()
        assert (len(raw), hashlib.sha256(raw).hexdigest()) == (d.size, d.sha256), rel


def test_nothing_is_overwritten(tmp_path: Path) -> None:
    w = _run(tmp_path / "run", 1)
    same = w.write_checkpoint("ckpt_000", model=_weights(0),
                              optimizer={"x.exp_avg": np.zeros(2, np.float32)},
                              rng={"numpy_key": np.arange(4, dtype=np.int64)}, step=2,
                              tokens_seen=24, metrics={"train_loss": 2.0}, parents=(),
                              data_chunks=[0])
    assert same.status == "identical"
    before = (tmp_path / "run/checkpoints/ckpt_000/model.safetensors").read_bytes()
    with pytest.raises(CheckpointExistsError):
        w.write_checkpoint("ckpt_000", model=_weights(5), step=2, tokens_seen=24)
    assert (tmp_path / "run/checkpoints/ckpt_000/model.safetensors").read_bytes() == before
    with pytest.raises(InputError, match="never overwrites"):
        RunWriter.create(tmp_path / "run", metadata=META, model_config=MODEL,
                         train_config={**TRAIN, "seed": 4})
    with pytest.raises(InputError, match="pickle"):
        w.write_checkpoint(model=_weights(1), step=9, tokens_seen=99,
                           files={"optimizer.pt": b"x"})
    with pytest.raises(InputError, match="seq_len"):
        w.add_chunk(np.zeros((2, 5), np.int32))


def test_open_continues_a_run(tmp_path: Path) -> None:
    _run(tmp_path / "run", 2)
    w = RunWriter.open(tmp_path / "run")
    assert w.latest == "ckpt_001" and len(w.chunks) == 2
    w.add_chunk(np.ones((3, 8), np.int32))
    ckpt = w.write_checkpoint(model=_weights(7), step=9, tokens_seen=200)
    assert ckpt.name == "ckpt_002" and ckpt.state.data_chunks == (2,)
    assert ckpt.state.parents[0].root_digest == checkpoint_root_digest(tmp_path / "run",
                                                                       "ckpt_001")


def test_sharded_weights(tmp_path: Path) -> None:
    w = RunWriter.create(tmp_path / "run", metadata=META, model_config=MODEL,
                         train_config=TRAIN)
    w.add_chunk(np.zeros((1, 4), np.int32))
    ckpt = w.write_checkpoint(model=_weights(0), step=1, tokens_seen=4, max_shard_bytes=600)
    shards = [layout.weights_shard(1, 2), layout.weights_shard(2, 2)]
    assert sorted(ckpt.files) == sorted([*shards, layout.WEIGHTS_INDEX, layout.TRAINER_STATE,
                                         layout.CHECKPOINT_CONFIG])
    index = json.loads((ckpt.path / layout.WEIGHTS_INDEX).read_bytes())
    assert index["weight_map"] == {"model.embed_tokens.weight": shards[0],
                                   "lm_head.weight": shards[1]}
    assert index["metadata"]["total_size"] == 2 * 32 * 4 * 4


def test_numpy_runs_never_import_torch(tmp_path: Path) -> None:
    code = (f"import sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); "
            "import test_writer as t; from pathlib import Path; "
            f"t._run(Path({str(tmp_path / 'run')!r}), 1); "
            "import llm360.registry.run.check, llm360.registry.run.importer; "
            "sys.exit(1 if 'torch' in sys.modules else 0)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_torch_tensors_give_the_bytes_safetensors_torch_gives() -> None:
    torch = pytest.importorskip("torch")
    from safetensors.torch import save

    weight = torch.randn(4, 3)
    tensors = {"a": weight, "b": torch.randn(2).to(torch.bfloat16), "c": torch.arange(3)}
    assert tensors_to_safetensors(tensors) == save(tensors, metadata={"format": "pt"})
    tied = tensors_to_safetensors({"embed": weight, "lm_head": weight, "t": weight.t()})
    from safetensors.torch import load

    back = load(tied)
    assert torch.equal(back["lm_head"], weight) and torch.equal(back["t"], weight.t())
    assert tensors_to_safetensors({"x": weight}) == tensors_to_safetensors({"x": weight.numpy()})


# --- issue 21: no write leaves the run, hostile values are named, one writer per run ---------

def _outside(tmp_path: Path) -> list[str]:
    """Every path below ``tmp_path`` outside the run folder."""
    return sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*")
                  if "run" not in p.relative_to(tmp_path).parts)


def test_a_log_outside_the_run_is_refused(tmp_path: Path) -> None:
    from llm360.errors import UnsafePathError

    with pytest.raises(UnsafePathError, match="'../escape.jsonl'"):
        w = RunWriter.create(tmp_path / "run", metadata=META, model_config=MODEL,
                             train_config=TRAIN, log="../escape.jsonl")
        w.log(step=1, loss=1.0, lr=1e-3, tokens_seen=8)
        w.close()
    assert _outside(tmp_path) == []


@pytest.mark.parametrize("linked", [".llm360", "config", "logs", "checkpoints", "evals"])
def test_a_folder_of_the_run_linked_elsewhere_is_never_written_through(tmp_path: Path,
                                                                        linked: str) -> None:
    from llm360.errors import UnsafePathError

    outside = tmp_path / "outside"
    outside.mkdir()
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / linked).symlink_to(outside)
    with pytest.raises(UnsafePathError, match=f"goes through a symbolic link .*{linked}"):
        _run(tmp_path / "run", 1)
    assert list(outside.iterdir()) == []


@pytest.mark.parametrize("write", [
    lambda w: w.write_checkpoint(model=_weights(1), step=9, tokens_seen=99,
                                 files={"..": b"x"}),
    lambda w: w.write_checkpoint(model=_weights(1), step=9, tokens_seen=99,
                                 files={"a/../../../x.json": b"x"}),
    lambda w: w.write_checkpoint("../../escape", model=_weights(1), step=9, tokens_seen=99),
    lambda w: w.write_checkpoint("a/b", model=_weights(1), step=9, tokens_seen=99),
    lambda w: w.write_eval("../../escape", metrics={"loss": 1.0}, step=1, tokens_seen=1),
    lambda w: w.write_file("../escape.json", b"{}"),
    lambda w: w.write_checkpoint_files(
        "ckpt_009", {"..": b"x", "trainer_state.json": b"{}"},
        state=w._written["ckpt_000"].state),
], ids=["file-dotdot", "file-slashes", "name-dotdot", "name-slash", "eval-dotdot",
        "write-file-dotdot", "files-dotdot"])
def test_names_that_would_leave_their_folder_are_refused(tmp_path: Path, write) -> None:
    w = _run(tmp_path / "run", 1)
    before = sorted(p for p in (tmp_path / "run").rglob("*") if ".llm360" not in p.parts)
    with pytest.raises(InputError):  # UnsafePathError, or the schema's checkpoint names
        write(w)
    assert _outside(tmp_path) == []
    assert sorted(p for p in (tmp_path / "run").rglob("*") if ".llm360" not in p.parts) \
        == before


@pytest.mark.parametrize("write,words", [
    (lambda w: w.write_eval("ckpt_000", metrics={"heldout_loss": float("nan")}),
     "evals/ckpt_000.json: nan is not a finite number at $.metrics.heldout_loss"),
    (lambda w: w.write_checkpoint(model=_weights(1), step=9, tokens_seen=99,
                                  metrics={"train_loss": float("inf")}),
     "checkpoints/ckpt_001/trainer_state.json: inf is not a finite number at "
     "$.metrics.train_loss"),
    (lambda w: w.write_checkpoint(model=_weights(1), step=2**60, tokens_seen=99),
     f"trainer_state.json: {2**60} is out of range (integers are at most {2**53 - 1}) at "
     "$.step"),
    (lambda w: (w.log(step=3, loss=float("-inf"), lr=1e-3, tokens_seen=8), w.flush_log()),
     "logs/train.jsonl: -inf is not a finite number at $.loss"),
], ids=["eval-nan", "state-inf", "state-2**60", "log-inf"])
def test_numbers_a_record_cannot_hold_are_named(tmp_path: Path, write, words: str) -> None:
    w = _run(tmp_path / "run", 1)
    with pytest.raises(InputError) as info:
        write(w)
    assert words in str(info.value)


def test_one_writer_per_run(tmp_path: Path) -> None:
    """A writer is refused while another process writes the run, naming it; the lock goes
    with the writer's close (or its process); in one process writers share it."""
    import os
    import socket

    from _runlock import lock_held_elsewhere

    from llm360.errors import RunLockedError

    _run(tmp_path / "run", 1)
    with lock_held_elsewhere(tmp_path / "run") as pid:
        with pytest.raises(RunLockedError) as info:
            RunWriter.open(tmp_path / "run")
        assert f"llm360 train pid {pid} on {socket.gethostname()}, started 20" in str(info.value)
        assert info.value.exit_code == 2
    first = RunWriter.open(tmp_path / "run")
    second = RunWriter.open(tmp_path / "run")  # this process holds the lock already
    second.close()
    lock = (tmp_path / "run" / layout.WRITER_LOCK).read_text()
    assert json.loads(lock)["pid"] == os.getpid()
    with pytest.raises(AssertionError, match="could not take the lock"):
        with lock_held_elsewhere(tmp_path / "run"):
            pass
    first.close()
    with lock_held_elsewhere(tmp_path / "run"):
        pass
