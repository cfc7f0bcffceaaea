"""The Hugging Face Trainer callback and the checkpoint import, on a tiny LlamaForCausalLM
trained for a few steps on CPU: each run checks clean, builds and verifies."""

from __future__ import annotations

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
pytest.importorskip("accelerate")

from click.testing import CliRunner  # noqa: E402

from llm360.cli.main import cli  # noqa: E402
from llm360.registry import (  # noqa: E402
    BuildOptions,
    TrustPolicy,
    build_release,
    layout,
    verify_release,
)
from llm360.registry.run.check import check_run  # noqa: E402

pytestmark = pytest.mark.slow
CREATED = "2026-11-27T00:00:00Z"
META = {"name": "hf-tiny", "version": "0.1.0", "description": "A tiny Trainer run.",
        "licenses": {"weights": "Apache-2.0", "code": "Apache-2.0", "data": "CC0-1.0",
                     "documentation": "CC-BY-4.0"}}
VOCAB, SEQ, ROWS = 64, 8, 20


def _tokenizer():
    from tokenizers import Tokenizer, models, pre_tokenizers

    vocab = {f"t{i}": i for i in range(VOCAB - 1)} | {"<unk>": VOCAB - 1}
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    return transformers.PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="<unk>")


class _Rows(torch.utils.data.Dataset):
    def __init__(self, data):
        self.data = data

    def __len__(self):
        return len(self.data)

    def __getitem__(self, i):
        return {"input_ids": self.data[i], "labels": self.data[i]}


def assert_runtime_is_not_a_result(evals: dict) -> None:
    """Trainer.evaluate's runtime, throughput and epoch are recorded as such, not as results."""
    runtime = {"eval_runtime", "eval_samples_per_second", "eval_steps_per_second", "epoch"}
    assert not runtime & set(evals["metrics"]), evals["metrics"]
    assert runtime <= set(evals["details"]["runtime"]), evals.get("details")


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """(run written by the callback, HF output dir, rows the Trainer actually trained on)."""
    from transformers import (
        LlamaConfig,
        LlamaForCausalLM,
        Trainer,
        TrainingArguments,
        default_data_collator,
    )

    from llm360.integrations.transformers import Llm360Callback

    tmp = tmp_path_factory.mktemp("hf")
    torch.manual_seed(0)
    data = torch.randint(0, VOCAB, (ROWS, SEQ), generator=torch.Generator().manual_seed(1))
    model = LlamaForCausalLM(LlamaConfig(
        vocab_size=VOCAB, hidden_size=16, intermediate_size=32, num_hidden_layers=1,
        num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=SEQ))
    seen: list = []

    def record(module, args, kwargs):  # the rows each training forward pass gets
        if module.training:
            seen.append(kwargs["input_ids"].detach().clone())

    model.register_forward_pre_hook(record, with_kwargs=True)

    args = TrainingArguments(
        output_dir=str(tmp / "hf-out"), per_device_train_batch_size=4, max_steps=7,
        save_steps=3, logging_steps=1, eval_strategy="steps", eval_steps=3, report_to=[],
        use_cpu=True, seed=7, learning_rate=1e-2, dataloader_num_workers=0,
        disable_tqdm=True)
    trainer = Trainer(model=model, args=args, train_dataset=_Rows(data),
                      eval_dataset=_Rows(data[:4]), data_collator=default_data_collator,
                      processing_class=_tokenizer(),
                      callbacks=[Llm360Callback(tmp / "run", metadata=META)])
    trainer.train()
    return tmp / "run", tmp / "hf-out", torch.cat(seen).numpy()


def test_callback_run_records_the_exact_data_order_and_releases(trained, tmp_path):
    run, _, seen = trained
    check = check_run(run)
    assert check.ok, [p.as_data() for p in check.problems]
    index = json.loads((run / layout.DATA_INDEX).read_bytes())
    from safetensors.numpy import load_file

    rows = np.concatenate([load_file(run / c["path"])["tokens"] for c in index["chunks"]])
    # 7 steps of 4 rows over 20 rows: the order crosses an epoch boundary (epoch 2 reshuffles)
    assert rows.shape == (28, SEQ)
    np.testing.assert_array_equal(rows, seen)
    names = sorted(p.name for p in (run / layout.CHECKPOINTS_DIR).iterdir())
    assert names == ["ckpt_000", "ckpt_001", "ckpt_002"]
    state = json.loads((run / layout.checkpoint_file("ckpt_001", layout.TRAINER_STATE))
                       .read_bytes())
    assert state["step"] == 6 and state["parents"][0]["name"] == "ckpt_000"
    assert state["tokens_seen"] == 6 * 4 * SEQ and state["data_chunks"] == [1]
    assert "SeedableRandomSampler" in state["data_order"]
    opt = load_file(run / layout.checkpoint_file("ckpt_002", layout.OPTIMIZER))
    assert "model.embed_tokens.weight.exp_avg_sq" in opt
    evals = json.loads((run / layout.eval_path("ckpt_000")).read_bytes())
    assert "eval_loss" in evals["metrics"]
    assert_runtime_is_not_a_result(evals)
    lines = (run / layout.TRAIN_LOG).read_bytes().splitlines()
    assert [json.loads(x)["step"] for x in lines] == list(range(1, 8))
    # the final checkpoint (step 7) loads with transformers, tokenizer included
    final = run / layout.checkpoint_dir("ckpt_002")
    model = transformers.AutoModelForCausalLM.from_pretrained(final)
    assert transformers.AutoTokenizer.from_pretrained(final).convert_ids_to_tokens(3) == "t3"
    assert model.config.vocab_size == VOCAB

    result = build_release(run, tmp_path / "release", options=BuildOptions(created=CREATED))
    assert [c.name for c in result.manifest.checkpoints] == names
    report = verify_release(result.manifest_path, policy=TrustPolicy(allow_unsigned=True))
    assert report.ok, report.problems


def test_import_checkpoints_of_a_trainer_output(trained, tmp_path):
    _, hf_out, _ = trained
    folders = sorted(hf_out.glob("checkpoint-*"), key=lambda p: int(p.name.split("-")[1]))
    assert [f.name for f in folders] == ["checkpoint-3", "checkpoint-6", "checkpoint-7"]
    run = tmp_path / "imported"
    res = CliRunner().invoke(cli, ["run", "import-checkpoints", *map(str, folders), "--run",
                                   str(run), "--tokens-per-step", str(4 * SEQ), "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert [c["imported_from"] for c in out["checkpoints"]] == [f.name for f in folders]
    assert "optimizer.pt" in out["checkpoints"][0]["not_imported"]
    assert out["still_needed"] == [layout.RUN_METADATA, layout.TRAIN_CONFIG]
    state = json.loads((run / layout.checkpoint_file("ckpt_002", layout.TRAINER_STATE))
                       .read_bytes())
    assert state["parents"][0]["name"] == "ckpt_001" and state["step"] == 7
    assert "optimizer state" in state["missing"] and state["tokens_seen"] == 7 * 4 * SEQ
    assert not (run / layout.checkpoint_file("ckpt_000", layout.OPTIMIZER)).exists()
    assert "data order" in json.loads((run / layout.DATA_INDEX).read_bytes())["missing"]
    evals = json.loads((run / layout.eval_path("ckpt_000")).read_bytes())
    assert "eval_loss" in evals["metrics"]
    assert_runtime_is_not_a_result(evals)

    res = CliRunner().invoke(cli, ["run", "check", str(run), "--json"])
    assert res.exit_code == 1
    assert {p["file"] for p in json.loads(res.output)["problems"]} == set(out["still_needed"])
    import yaml

    (run / layout.RUN_METADATA).write_text(yaml.safe_dump(META))
    (run / layout.TRAIN_CONFIG).write_text(json.dumps(
        {"backend": "transformers.Trainer", "precision": "fp32", "world_size": 1, "seed": 7}))
    res = CliRunner().invoke(cli, ["run", "check", str(run)])
    assert res.exit_code == 0, res.output
    result = build_release(run, tmp_path / "release", options=BuildOptions(created=CREATED))
    assert verify_release(result.manifest_path, policy=TrustPolicy(allow_unsigned=True)).ok
    assert not result.manifest.data.chunks


def test_import_refuses_pickle_weights_with_the_way_to_convert(tmp_path):
    folder = tmp_path / "checkpoint-10"
    folder.mkdir()
    (folder / "pytorch_model.bin").write_bytes(b"\x80\x04pickle")
    (folder / "config.json").write_text("{}")
    res = CliRunner().invoke(cli, ["run", "import-checkpoints", str(folder), "--run",
                                   str(tmp_path / "run")])
    assert res.exit_code == 2
    assert "pickle" in res.output and "save_pretrained" in res.output
    assert "safe_serialization=True" in res.output
    assert not (tmp_path / "run").exists()
