"""A ``transformers`` ``TrainerCallback`` that writes an llm360 run from a ``Trainer`` run.

    from llm360.integrations.transformers import Llm360Callback

    trainer = Trainer(model=model, args=args, train_dataset=ds,
                      callbacks=[Llm360Callback("runs/my-run", metadata=META)])
    trainer.train()          # then: llm360 release build runs/my-run --out release

At each save of the Trainer it writes a checkpoint (safetensors weights, AdamW moments by
parameter name, RNG states, config, generation config, tokenizer files, trainer state with its
parent's root digest), the log lines and the evaluations at that step. Installed with the
``hf`` extra (``pip install 'llm360[hf]'``).

What is and is not reproducible:

* **Data order: recorded** (each checkpoint's data chunk holds the rows it trained on, in order)
  when the dataset is map-style with ``input_ids`` of one fixed length, training runs in one
  process, and the sampler is sequential or accelerate's seedable random sampler (the
  default): the order is recomputed from the sampler's seed and epoch, without touching the
  Trainer's own sampler. The data collator's changes (masking, padding) are not recorded.
  Otherwise ``data/index.json`` says why the order is not recorded (``missing``).
* **Weights, optimizer moments, RNG states: recorded** bit for bit at each save. The learning
  rate scheduler's state, gradient scaler and HF's own pickle checkpoint files are not copied;
  the trainer state records the schedule's type and current learning rate.
* **Resuming** from an llm360 checkpoint with ``Trainer(resume_from_checkpoint=...)`` is not
  supported (HF reads its own pickle files); the tensors are all there to load by hand.
"""

from __future__ import annotations

import json
import math
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from transformers import TrainerCallback

from llm360.registry import layout
from llm360.registry.run.hf_metrics import split_eval_log
from llm360.registry.run.records import Provenance, RunMetadata
from llm360.registry.run.writer import RunWriter

__all__ = ["Llm360Callback", "data_order"]

_DROP = ("_dir", "token", "hub_model_id", "push_to_hub")


def _precision(args) -> str:
    return "bf16" if getattr(args, "bf16", False) else "fp16" if getattr(args, "fp16", False) \
        else "fp32"


def _train_config(args) -> dict:
    data = json.loads(args.to_json_string())
    data = {k: v for k, v in data.items() if not any(d in k for d in _DROP)}
    data.update(backend="transformers.Trainer", precision=_precision(args),
                world_size=int(args.world_size), seed=int(args.seed))
    return data


def _sampler(dataloader) -> Any:
    obj = getattr(dataloader, "batch_sampler", None)
    while obj is not None and not hasattr(obj, "sampler") and hasattr(obj, "batch_sampler"):
        obj = obj.batch_sampler
    if obj is not None and getattr(obj, "sampler", None) is not None:
        return obj.sampler
    return getattr(dataloader, "sampler", None)


def data_order(dataloader, epoch: int) -> tuple[list[int] | None, str]:
    """(the dataset indices the train dataloader yields in ``epoch``, how it was known), or
    (None, why not) when the order cannot be recomputed from the sampler."""
    import torch
    from torch.utils.data import RandomSampler, SequentialSampler

    sampler = _sampler(dataloader)
    if isinstance(sampler, SequentialSampler):
        return list(range(len(sampler))), "SequentialSampler"
    if type(sampler).__name__ == "SeedableRandomSampler" and not sampler.replacement:
        seed = int(sampler.initial_seed) + epoch
        gen = torch.Generator()
        gen.manual_seed(seed)
        copy = RandomSampler(sampler.data_source, num_samples=sampler.num_samples,
                             generator=gen)
        return list(copy), (f"accelerate SeedableRandomSampler (seed {sampler.initial_seed} "
                            f"+ epoch)")
    if sampler is None:
        return None, "the dataset is iterable (no sampler): the order is not recorded"
    return None, f"the sampler {type(sampler).__name__} cannot be replayed"


class Llm360Callback(TrainerCallback):
    """Writes the llm360 run directory ``run_dir`` from the ``Trainer`` it is given to.

    ``metadata`` is the run's ``llm360.yaml`` (a mapping, a ``RunMetadata`` or YAML bytes).
    """

    def __init__(self, run_dir: str | Path, *, metadata: RunMetadata | Mapping | bytes,
                 input_key: str = "input_ids") -> None:
        self.run_dir = Path(run_dir)
        self.metadata = metadata
        self.input_key = input_key
        self.writer: RunWriter | None = None
        self._order_note = ""
        self._orders: dict[int, list[int]] = {}
        self._rows_done = 0           # rows written to data chunks so far
        self._seq_len: int | None = None
        self._evals: dict[int, dict] = {}
        self._runtime: dict[int, dict] = {}   # eval runtime and throughput, per step
        self._last_loss: float | None = None
        self._dataloader = None
        self._args = None
        self._last_step = -1

    # --- the data order -----------------------------------------------------------------

    def _epoch_order(self, epoch: int) -> list[int]:
        if epoch not in self._orders:
            order, _ = data_order(self._dataloader, epoch)
            self._orders[epoch] = order or []
        return self._orders[epoch]

    def _rows_until(self, step: int) -> list[int]:
        """Dataset indices of every row trained on up to optimizer step ``step``."""
        args = self._args
        per_batch = args.per_device_train_batch_size
        accum = args.gradient_accumulation_steps
        out: list[int] = []
        epoch, done = 0, 0
        while done < step:
            order = self._epoch_order(epoch)
            batches = [order[i:i + per_batch] for i in range(0, len(order), per_batch)]
            if args.dataloader_drop_last and batches and len(batches[-1]) < per_batch:
                batches.pop()
            if not batches:
                break
            steps = math.ceil(len(batches) / accum)
            take = min(steps, step - done)
            for b in batches[:take * accum]:
                out.extend(b)
            done += take
            epoch += 1
        return out

    def _rows(self, indices: list[int]) -> np.ndarray:
        dataset = self._dataloader.dataset
        rows = [np.asarray(dataset[i][self.input_key]) for i in indices]
        return np.stack(rows).astype(np.int64)

    # --- events -------------------------------------------------------------------------

    def on_train_begin(self, args, state, control, model=None, processing_class=None,
                       train_dataloader=None, **kwargs):
        self._args, self._dataloader = args, train_dataloader
        if not state.is_world_process_zero:
            return
        tokenizer = None
        backend = getattr(processing_class, "backend_tokenizer", None)
        if backend is not None:
            tokenizer = backend.to_str().encode("utf-8")
        config = json.loads(model.config.to_json_string())
        if not config.get("architectures"):  # save_pretrained adds it; so do we
            config["architectures"] = [type(model).__name__]
        self.writer = RunWriter.create(
            self.run_dir, metadata=self.metadata, model_config=config,
            train_config=_train_config(args), tokenizer=tokenizer,
            provenance=Provenance.of_this_machine(packages=(
                "llm360", "torch", "transformers", "accelerate", "numpy", "safetensors")))
        order, how = data_order(train_dataloader, 0) if args.world_size == 1 else (
            None, f"training runs in {args.world_size} processes")
        if order is not None:
            first = np.asarray(train_dataloader.dataset[order[0]][self.input_key]) \
                if order else None
            if first is None or first.ndim != 1 or not self._fixed_length(order, first.size):
                order, how = None, (f"the dataset's {self.input_key!r} rows are not all of "
                                    "one length")
            else:
                self._seq_len = int(first.size)
        self._order_note = how if order is not None else f"data order not recorded: {how}"
        if order is None:
            seq = getattr(model.config, "max_position_embeddings", None) or 1
            self.writer.record_no_data(seq_len=int(seq), reason=self._order_note)

    def _fixed_length(self, order: list[int], n: int) -> bool:
        dataset = self._dataloader.dataset
        sample = order[:: max(1, len(order) // 64)]
        return all(np.asarray(dataset[i][self.input_key]).shape == (n,) for i in sample)

    def on_log(self, args, state, control, logs=None, **kwargs):
        if self.writer is None or not logs or "loss" not in logs or "learning_rate" not in logs:
            return
        self._last_loss = float(logs["loss"])
        self.writer.log(step=state.global_step, loss=float(logs["loss"]),
                        lr=float(logs["learning_rate"]),
                        tokens_seen=self._tokens_seen(state, state.global_step),
                        grad_norm=float(logs["grad_norm"]) if isinstance(
                            logs.get("grad_norm"), (int, float)) else None,
                        epoch=float(logs.get("epoch", state.epoch or 0.0)))

    def on_evaluate(self, args, state, control, metrics=None, **kwargs):
        if self.writer is None or not metrics:
            return
        results, runtime = split_eval_log(metrics)  # eval_runtime, epoch, ...: not results
        self._evals.setdefault(state.global_step, {}).update(results)
        self._runtime.setdefault(state.global_step, {}).update(runtime)
        done = self.writer.latest
        if done is not None and self._last_step == state.global_step:
            self._write_eval(done, state.global_step)

    def _write_eval(self, checkpoint: str, step: int) -> None:
        runtime = self._runtime.get(step)
        self.writer.write_eval(checkpoint, metrics=self._evals[step],
                               details={"runtime": runtime} if runtime else None)

    def _tokens_seen(self, state, step: int) -> int:
        if self._seq_len is not None:
            return len(self._rows_until(step)) * self._seq_len
        return int(getattr(state, "num_input_tokens_seen", 0) or 0)

    def on_save(self, args, state, control, model=None, optimizer=None, processing_class=None,
                lr_scheduler=None, **kwargs):
        if self.writer is None:
            return
        step = state.global_step
        chunks: list[int] = []
        if self._seq_len is not None:
            indices = self._rows_until(step)
            new = indices[self._rows_done:]
            if new:
                chunks.append(self.writer.add_chunk(self._rows(new)).index)
            self._rows_done = len(indices)
        tokens = self._tokens_seen(state, step)
        if self._seq_len is None and tokens == 0:
            tokens = step  # nothing better is known: count optimizer steps
        lr = lr_scheduler.get_last_lr()[0] if lr_scheduler is not None else None
        schedule = {"type": str(args.lr_scheduler_type), "warmup_steps": args.warmup_steps,
                    "max_steps": state.max_steps}
        if lr is not None:
            schedule["lr"] = float(lr)
        self.writer.write_checkpoint(
            model=dict(model.state_dict()), optimizer=_optimizer_tensors(model, optimizer),
            rng=_rng(), step=step, tokens_seen=tokens, data_chunks=chunks, schedule=schedule,
            metrics={"train_loss": self._last_loss} if self._last_loss is not None else None,
            generation_config=_generation_config(model),
            files=_tokenizer_files(processing_class),
            state_extra={"epoch": float(state.epoch or 0.0),
                         "data_order": self._order_note,
                         "not_recorded": ["lr scheduler state", "gradient scaler state"]})
        self._last_step = step
        if step in self._evals:
            self._write_eval(self.writer.latest, step)

    def on_train_end(self, args, state, control, **kwargs):
        if self.writer is not None:
            self.writer.close()


def _optimizer_tensors(model, optimizer) -> dict[str, Any]:
    """``<param>.<state key>`` for every tensor (and number) of the optimizer's state."""
    import torch

    if optimizer is None:
        return {}
    inner = getattr(optimizer, "optimizer", optimizer)
    names = {id(p): n for n, p in model.named_parameters()}
    out: dict[str, Any] = {}
    for group in inner.param_groups:
        for p in group["params"]:
            for key, value in inner.state.get(p, {}).items():
                if not torch.is_tensor(value):
                    value = torch.tensor(value)
                out[f"{names.get(id(p), f'param_{id(p)}')}.{key}"] = value
    return out


def _rng() -> dict[str, Any]:
    from llm360.train.checkpoint import capture_rng

    return capture_rng()


def _generation_config(model) -> dict | None:
    gen = getattr(model, "generation_config", None)
    return json.loads(gen.to_json_string()) if gen is not None else None


def _tokenizer_files(processing_class) -> dict[str, bytes]:
    """The tokenizer's JSON files, so ``from_pretrained(revision=CKPT)`` finds them."""
    if processing_class is None or not hasattr(processing_class, "save_pretrained"):
        return {}
    with tempfile.TemporaryDirectory() as tmp:
        processing_class.save_pretrained(tmp)
        return {p.name: p.read_bytes() for p in sorted(Path(tmp).iterdir())
                if p.is_file() and p.suffix == ".json"
                and p.name not in (layout.CHECKPOINT_CONFIG, layout.GENERATION_CONFIG,
                                   layout.TRAINER_STATE)}
