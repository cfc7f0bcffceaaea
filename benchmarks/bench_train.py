"""Training figures: throughput and model FLOPs utilization, the cost of recording, bit-exact
resume, and DeepSpeed with NCCL. Needs nothing but the project (and deepspeed for the last part).

    python benchmarks/bench_train.py                      # CPU: the tiny preset, quick
    python benchmarks/bench_train.py --device cuda        # GPU: a 100 M model and `small`,
                                                          # bf16, resume and DeepSpeed checks
    python benchmarks/bench_train.py --device cuda --compile --parts throughput

Prints, per model: steady-state tokens/s (steps after the first --warmup excluded), MFU
(6 x parameters x tokens/s against the GPU's dense bf16 peak), peak GPU memory; then the share
of time that recording (a checkpoint, an evaluation and log lines per data chunk) adds; then
whether resuming from ckpt_001 in a fresh process writes a byte-identical ckpt_002 (deterministic
mode); then a one-GPU DeepSpeed (ZeRO 2, NCCL) run.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

from llm360.train import TrainOptions, prepare_data, train
from llm360.train.device import parameter_count

#: dense bf16 peak FLOP/s by GPU name (vendor data sheets; sparsity not counted)
PEAK_BF16 = {"H200": 989e12, "H100 SXM": 989e12, "H100 80GB HBM3": 989e12, "H100 NVL": 835e12,
             "H100 PCIe": 756e12, "H100": 756e12, "A100": 312e12, "L40S": 362e12,
             "A10G": 70e12, "L4": 121e12, "RTX 4090": 165e12}

#: about 100 M parameters (GPT-2 small shape, LLaMA blocks), trained in bf16
M100 = {"model": {"hidden_size": 768, "intermediate_size": 2048, "num_hidden_layers": 12,
                  "num_attention_heads": 12, "num_key_value_heads": 12},
        "train": {"batch_size": 32, "lr": 6e-4, "min_lr": 6e-5, "warmup_steps": 20,
                  "memorization_samples": 16, "eval_sequences": 16}}


def peak_flops(device: str, override_tflops: float | None) -> float | None:
    if override_tflops:
        return override_tflops * 1e12
    if device != "cuda":
        return None
    name = torch.cuda.get_device_name()
    for key, value in PEAK_BF16.items():
        if key in name:
            return value
    return None


def _prepare(root: Path, *, chunks: int, seq_len: int, vocab: int, corpus_bytes: int) -> Path:
    run = root / f"prepared-{seq_len}-{vocab}-{chunks}"
    if not run.exists():
        t0 = time.perf_counter()
        prepare_data(run, chunks=chunks, seq_len=seq_len, vocab_size=vocab,
                     max_corpus_bytes=corpus_bytes)
        print(f"  data prepare: {chunks} chunks x seq {seq_len}, vocab {vocab} "
              f"({time.perf_counter() - t0:.1f} s)")
    return run


def _fresh(prepared: Path, root: Path, name: str) -> Path:
    run = root / name
    shutil.rmtree(run, ignore_errors=True)
    run.mkdir()
    for rel in ("data", "tokenizer", "config"):
        shutil.copytree(prepared / rel, run / rel)
    for rel in ("config/model.json", "config/train.json"):
        (run / rel).unlink(missing_ok=True)
    return run


def _timed_train(run: Path, opts: TrainOptions, warmup: int) -> dict:
    stamps: list[float] = []
    result = train(run, opts, progress=lambda done, total, loss: stamps.append(
        time.perf_counter()))
    steps = len(stamps)
    tokens_per_step = result.tokens / max(result.steps, 1)
    w = min(warmup, max(steps - 2, 0))
    span = stamps[-1] - stamps[w] if steps > w + 1 else result.seconds
    steady = tokens_per_step * (steps - 1 - w) / span if steps > w + 1 else result.tokens_per_s
    return {"steps": steps, "seconds": result.seconds, "tokens_per_s": result.tokens_per_s,
            "steady_tokens_per_s": steady, "result": result}


def throughput(args, root: Path, models: list[tuple[str, str | None, Path]]) -> None:
    print("== throughput and MFU")
    peak = peak_flops(args.device, args.peak_tflops)
    for label, preset, prepared in models:
        cfg_file = None
        if preset is None:
            cfg_file = root / "m100.json"
            cfg_file.write_text(json.dumps(M100))
        run = _fresh(prepared, root, f"tp-{label}")
        opts = TrainOptions(preset=preset or "small", config_file=cfg_file, record=False,
                            device=args.device, precision=args.precision,
                            compile=args.compile, max_checkpoints=args.max_chunks)
        if args.device == "cuda":
            torch.cuda.reset_peak_memory_stats()
        r = _timed_train(run, opts, args.warmup)
        from llm360.train.config import resolve_config
        from llm360.train.data import load_run_data

        data = load_run_data(run)
        m, _ = resolve_config(preset or "small", config_file=cfg_file,
                              vocab_size=data.vocab_size, seq_len=data.seq_len)
        params = parameter_count(m)
        line = (f"  {label}: {params / 1e6:.1f} M parameters, {r['steps']} steps, "
                f"{r['steady_tokens_per_s']:,.0f} tokens/s steady "
                f"({r['tokens_per_s']:,.0f} over the whole run)")
        if peak:
            mfu = 6 * params * r["steady_tokens_per_s"] / peak
            line += f", MFU {mfu * 100:.1f} % of {peak / 1e12:.0f} TFLOP/s bf16"
        if args.device == "cuda":
            line += f", peak memory {torch.cuda.max_memory_allocated() / 2**30:.2f} GiB"
        print(line)


def recording(args, root: Path, prepared: Path, preset: str | None) -> None:
    print("== cost of recording (checkpoint + eval + log lines per chunk)")
    cfg_file = None
    if preset is None:
        cfg_file = root / "m100.json"
        cfg_file.write_text(json.dumps(M100))
    best = {}
    for record in (False, True):
        run = _fresh(prepared, root, f"rec-{record}")
        opts = TrainOptions(preset=preset or "small", config_file=cfg_file, record=record,
                            device=args.device, precision=args.precision,
                            compile=args.compile)
        r = train(run, opts)
        best[record] = r.seconds
        print(f"  record={'on ' if record else 'off'}: {r.steps} steps in {r.seconds:.2f} s, "
              f"{r.tokens_per_s:,.0f} tokens/s")
    print(f"  recording adds {(best[True] / best[False] - 1) * 100:.1f} % of training time "
          "(target <= 10 %)")


def _cli(args: list[str], env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "llm360.cli.main", *args],
                          capture_output=True, text=True, env=env or dict(os.environ))


def resume(args, root: Path, prepared: Path) -> None:
    print("== bit-exact resume (deterministic mode, fresh process)")
    run = _fresh(prepared, root, "resume-full")
    flags = ["--preset", "small", "--device", args.device, "--deterministic"]
    out = _cli(["train", "--run", str(run), *flags, "--json"])
    if out.returncode:
        print(f"  full run failed: {out.stderr[-2000:]}")
        return
    copy = root / "resume-copy"
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(run, copy)
    shutil.rmtree(copy / "checkpoints/ckpt_002")
    (copy / "evals/ckpt_002.json").unlink()
    out = _cli(["train", "--run", str(copy), "--resume-from",
                str(copy / "checkpoints/ckpt_001"), "--json"])
    if out.returncode:
        print(f"  resume failed: {out.stderr[-2000:]}")
        return
    names = sorted(p.name for p in (run / "checkpoints/ckpt_002").iterdir())
    same = [n for n in names if (run / "checkpoints/ckpt_002" / n).read_bytes()
            == (copy / "checkpoints/ckpt_002" / n).read_bytes()]
    print(f"  ckpt_002 after resuming from ckpt_001: {len(same)} of {len(names)} files "
          f"byte-identical{'' if len(same) == len(names) else ' (differ: '}"
          f"{'' if len(same) == len(names) else ', '.join(sorted(set(names) - set(same))) + ')'}")
    st = json.loads((copy / "checkpoints/ckpt_002/trainer_state.json").read_bytes())
    print(f"  determinism recorded: {json.dumps(st['determinism'], sort_keys=True)}")


def deepspeed_check(args, root: Path, prepared: Path) -> None:
    print("== DeepSpeed, one process, ZeRO 2")
    try:
        import deepspeed  # noqa: F401
    except ImportError:
        print("  skipped: deepspeed is not installed")
        return
    run = _fresh(prepared, root, "deepspeed")
    ds = root / "ds.json"
    ds.write_text(json.dumps({"zero_optimization": {"stage": 2}}))
    env = dict(os.environ)
    if args.device == "cpu":
        env.update(DS_ACCELERATOR="cpu", LLM360_DS_SKIP_SHM_OP="1")
    out = _cli(["train", "--run", str(run), "--preset", "small", "--backend", "deepspeed",
                "--deepspeed-config", str(ds), "--device", args.device, "--max-checkpoints",
                "1", "--json"], env)
    if out.returncode:
        print(f"  failed: {out.stderr[-2000:]}")
        return
    doc = json.loads(out.stdout)
    print(f"  ok on {doc['device']}: {doc['steps']} steps, {doc['tokens_per_s']:,.0f} tokens/s, "
          f"checkpoint {doc['checkpoints'][0]['name']}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    ap.add_argument("--parts", default="throughput,recording,resume,deepspeed",
                    help="comma-separated: throughput, recording, resume, deepspeed")
    ap.add_argument("--precision", choices=["fp32", "bf16"], default=None,
                    help="default: bf16 on CUDA, the preset's on the CPU")
    ap.add_argument("--compile", action="store_true", help="torch.compile the forward pass")
    ap.add_argument("--corpus-bytes", type=int, default=None,
                    help="default corpus size (default: 30 MB on CUDA, 400 kB on the CPU)")
    ap.add_argument("--warmup", type=int, default=5, help="steps left out of steady tokens/s")
    ap.add_argument("--max-chunks", type=int, default=None, help="chunks per throughput run")
    ap.add_argument("--peak-tflops", type=float, default=None,
                    help="the accelerator's dense peak, when the table does not know it")
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    ap.add_argument("--keep", type=Path, default=None, help="work here and keep the runs")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.device == "cuda" and not torch.cuda.is_available():
        sys.exit("--device cuda: torch sees no CUDA GPU")
    parts = set(args.parts.split(","))
    gpu = args.device == "cuda"
    where = torch.cuda.get_device_name() if gpu else f"{os.cpu_count()} CPU cores"
    print(f"bench_train on {args.device} ({where}), torch {torch.__version__}")
    with tempfile.TemporaryDirectory() as tmp:
        root = args.keep or Path(tmp)
        root.mkdir(parents=True, exist_ok=True)
        big = args.corpus_bytes or (30_000_000 if gpu else 400_000)
        small_data = _prepare(root, chunks=3, seq_len=512, vocab=4096,
                              corpus_bytes=min(big, 3_000_000)) if gpu else \
            _prepare(root, chunks=3, seq_len=128, vocab=512, corpus_bytes=min(big, 200_000))
        if gpu:
            m100_data = _prepare(root, chunks=2, seq_len=1024, vocab=8192, corpus_bytes=big)
            models = [("100M", None, m100_data), ("small", "small", small_data)]
        else:
            models = [("tiny", "tiny", small_data)]
        if "throughput" in parts:
            throughput(args, root, models)
        if "recording" in parts:
            recording(args, root, models[0][2], models[0][1])
        if "resume" in parts:
            resume(args, root, small_data)
        if "deepspeed" in parts:
            deepspeed_check(args, root, small_data)


if __name__ == "__main__":
    main()
