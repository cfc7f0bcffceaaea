"""Trainer.evaluate logs its results with its runtime, throughput and epoch: only the results
are an eval record's metrics (the HF callback and `run import-checkpoints` both split them)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from llm360.registry import layout
from llm360.registry.run.hf_metrics import split_eval_log
from llm360.registry.run.importer import import_checkpoints
from llm360.registry.run.tensorfiles import tensors_to_safetensors

#: what Trainer.evaluate logs (transformers' speed and memory metrics included)
LOGGED = {"eval_loss": 3.9, "eval_accuracy": 0.4, "eval_runtime": 0.0029,
          "eval_samples_per_second": 1370.0, "eval_steps_per_second": 342.4,
          "eval_mem_cpu_alloc_delta": 4096, "epoch": 1.2, "step": 3}


def test_split_eval_log():
    results, runtime = split_eval_log(LOGGED)
    assert results == {"eval_loss": 3.9, "eval_accuracy": 0.4}
    assert set(runtime) == {"eval_runtime", "eval_samples_per_second", "eval_steps_per_second",
                            "eval_mem_cpu_alloc_delta", "epoch", "step"}


def test_import_checkpoints_records_runtime_as_such(tmp_path: Path):
    folder = tmp_path / "checkpoint-3"
    folder.mkdir()
    (folder / "model.safetensors").write_bytes(
        tensors_to_safetensors({"w": np.zeros(4, np.float32)}))
    (folder / "config.json").write_text(json.dumps({"model_type": "llama",
                                                    "max_position_embeddings": 8}))
    (folder / "trainer_state.json").write_text(json.dumps(
        {"global_step": 3, "num_input_tokens_seen": 96, "log_history": [
            {"step": 3, "loss": 1.5, "learning_rate": 0.001, "epoch": 1.2}, LOGGED]}))
    import_checkpoints(tmp_path / "run", [folder])
    record = json.loads((tmp_path / "run" / layout.eval_path("ckpt_000")).read_bytes())
    assert record["metrics"] == {"eval_loss": 3.9, "eval_accuracy": 0.4}
    assert record["details"]["runtime"]["eval_runtime"] == 0.0029
    assert record["details"]["runtime"]["epoch"] == 1.2
