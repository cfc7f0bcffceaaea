"""Issue 21, the local side: writes stay inside the folder the user named (item 7: no link is
imported; item 8: no write follows a link or a '..'), hostile input is bounded before it is
walked (item 11), a hostile file is exit 1 or 2 with one line, never 3 (item 12), and one
process writes a run at a time (item 13). Cases that hung run in a subprocess with a timeout;
the 1 GiB manifests run under a memory limit smaller than the file."""

from __future__ import annotations

import json
import os
import resource
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from _runlock import lock_held_elsewhere
from click.testing import CliRunner

from llm360.cli.main import cli
from llm360.registry.run.tensorfiles import tensors_to_safetensors

CREATED = "2026-11-27T00:00:00Z"
ESC = "\x1b"


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def one_line(output: str, code: int, exit_code: int, words: str) -> None:
    """Exit ``code``; one ``error:`` line naming ``words`` (and maybe a hint); no traceback."""
    lines = [line for line in output.splitlines() if line.strip()]
    assert exit_code == code, output
    assert lines and lines[0].startswith("error: ") and words in lines[0], output
    assert len(lines) <= 2 and all(x.startswith(("error: ", "hint: ")) for x in lines), output
    assert "Traceback" not in output and ESC not in output


def cli_process(*args, timeout: float = 120, memory: int | None = None
                ) -> subprocess.CompletedProcess:
    """``llm360 ARGS`` in a process of its own: a hang is a timeout, not a stuck suite;
    ``memory`` caps its address space (bytes)."""
    def limit() -> None:
        if memory is not None:
            resource.setrlimit(resource.RLIMIT_AS, (memory, memory))

    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=os.pathsep.join(sys.path))
    return subprocess.run([sys.executable, "-m", "llm360.cli.main", *map(str, args)],
                          capture_output=True, text=True, timeout=timeout, env=env,
                          preexec_fn=limit)


def hf_folder(root: Path, step: int, *, state: object = None, config: object = None) -> Path:
    """A Hugging Face Trainer checkpoint folder (safetensors weights, config, tokenizer
    config, trainer state), as `save_pretrained` and the Trainer write it."""
    folder = root / f"checkpoint-{step}"
    folder.mkdir(parents=True)
    (folder / "model.safetensors").write_bytes(
        tensors_to_safetensors({"w": np.full(4, step, np.float32)}))
    (folder / "config.json").write_text(json.dumps(
        {"model_type": "llama", "max_position_embeddings": 8} if config is None else config))
    (folder / "tokenizer_config.json").write_text('{"model_max_length": 8}')
    (folder / "trainer_state.json").write_text(json.dumps(
        {"global_step": step, "num_input_tokens_seen": step * 32,
         "log_history": [{"step": step, "loss": 1.5, "learning_rate": 0.001}]}
        if state is None else state))
    return folder


def files_below(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*")) \
        if folder.exists() else []


# --- item 7: import-checkpoints imports no link ---------------------------------------------

def test_import_refuses_a_file_linked_to_outside(tmp_path: Path) -> None:
    secret = tmp_path / "credentials.json"
    secret.write_text('{"token": "hf_not_for_release"}')
    folder = hf_folder(tmp_path / "hf", 10)
    (folder / "tokenizer_config.json").unlink()
    (folder / "tokenizer_config.json").symlink_to(secret)
    result = run("run", "import-checkpoints", folder, "--run", tmp_path / "run")
    one_line(result.output, 2, result.exit_code,
             f"{folder / 'tokenizer_config.json'}: is a symbolic link")
    assert not any("hf_not_for_release" in p.read_text(errors="replace")
                   for p in (tmp_path / "run").rglob("*") if p.is_file())


# --- item 8: no write follows a link out of the run -----------------------------------------

def test_import_into_a_run_whose_tool_folder_is_a_link(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / ".llm360").symlink_to(outside)
    folder = hf_folder(tmp_path / "hf", 10)
    result = run("run", "import-checkpoints", folder, "--run", run_dir)
    one_line(result.output, 2, result.exit_code, "goes through a symbolic link")
    assert files_below(outside) == []
    assert not (run_dir / "checkpoints").exists()


def test_import_writes_the_run_it_was_given(tmp_path: Path) -> None:
    """The refusals above leave the ordinary import working."""
    folders = [hf_folder(tmp_path / "hf", 10), hf_folder(tmp_path / "hf", 20)]
    result = run("run", "import-checkpoints", *folders, "--run", tmp_path / "run", "--json")
    assert result.exit_code == 0, result.output
    assert [c["step"] for c in json.loads(result.output)["checkpoints"]] == [10, 20]


# --- item 11: bounded before walked --------------------------------------------------------

BOMB = "lol0: &a0 [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"lol{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]\n" for i in range(1, 10))


def test_yaml_alias_bomb_is_refused_not_walked(synthetic_run: Path) -> None:
    meta = synthetic_run / "llm360.yaml"
    meta.write_text(meta.read_text() + BOMB)
    out = cli_process("run", "check", synthetic_run)
    assert out.returncode == 1, out.stdout + out.stderr
    assert "llm360.yaml" in out.stdout and "YAML alias *a0" in out.stdout, out.stdout
    out = cli_process("release", "build", synthetic_run, "--out", synthetic_run.parent / "rel",
                      "--no-cards")
    one_line(out.stderr, 2, out.returncode, "llm360.yaml: YAML alias *a0 at line ")


def _set_step(run_dir: Path, checkpoint: str, text: str) -> Path:
    path = run_dir / "checkpoints" / checkpoint / "trainer_state.json"
    state = path.read_text()
    path.write_text(state.replace(f'"step":{json.loads(state)["step"]}', f'"step":{text}', 1))
    assert text in path.read_text()
    return path


@pytest.mark.parametrize("step", [str(2**63), str(10**400)], ids=["2**63", "10**400"])
def test_a_step_beyond_int64_is_refused(synthetic_run: Path, step: str) -> None:
    path = _set_step(synthetic_run, "ckpt_002", step)
    out = cli_process("release", "build", synthetic_run, "--out", synthetic_run.parent / "rel",
                      "--no-cards")
    one_line(out.stderr, 2, out.returncode, f"{path}: malformed JSON: ")
    assert "is out of range (integers are int64" in out.stderr and "at $.step" in out.stderr


def test_a_huge_step_within_int64_is_counted_not_walked(synthetic_run: Path) -> None:
    _set_step(synthetic_run, "ckpt_002", str(2**62))
    out = cli_process("run", "check", synthetic_run)
    assert out.returncode == 1, out.stdout + out.stderr
    assert f"{2**62 - 8 - 4} of its steps have no log line (first: step 13)" in out.stdout


# --- item 12: exit 1 or 2, never 3 ----------------------------------------------------------

@pytest.fixture
def release(synthetic_run: Path, tmp_path: Path) -> Path:
    result = run("release", "build", synthetic_run, "--out", tmp_path / "rel", "--created",
                 CREATED, "--no-cards")
    assert result.exit_code == 0, result.output
    return tmp_path / "rel"


def _long_chain(release: Path, n: int) -> Path:
    """The release's manifest with its checkpoints replaced by a chain of ``n`` (each the
    parent of the next), as a long run releases it."""
    data = json.loads((release / "manifest.json").read_bytes())
    first = data["checkpoints"][0]
    chain = []
    for k in range(n):
        chain.append({**first, "name": f"ckpt_{k:05d}", "step": 4 * (k + 1),
                      "tokens_seen": 128 * (k + 1),
                      "parents": [f"ckpt_{k - 1:05d}"] if k else []})
    data["checkpoints"] = chain
    out = release.parent / "chain"
    out.mkdir()
    (out / "manifest.json").write_text(json.dumps(data))
    return out / "manifest.json"


def test_lineage_of_a_chain_of_thousands(release: Path) -> None:
    manifest = _long_chain(release, 3000)
    tree = run("lineage", manifest)
    assert tree.exit_code == 0, tree.output[-2000:]
    lines = tree.output.splitlines()
    assert len(lines) == 3000 and max(map(len, lines)) < 120  # drawn flat, not indented
    assert lines[0].startswith("ckpt_00000  step 4") and lines[-1].startswith("ckpt_02999")
    graph = run("lineage", manifest, "--json")
    assert graph.exit_code == 0
    nodes = json.loads(graph.output)["checkpoints"]
    assert nodes[5]["children"] == ["ckpt_00006"] and nodes[-1]["children"] == []
    last = run("lineage", manifest, "--checkpoint", "ckpt_02999", "--json")
    assert last.exit_code == 0
    assert json.loads(last.output)["ancestry"][:2] == ["ckpt_00000", "ckpt_00001"]
    assert len(json.loads(last.output)["ancestry"]) == 2999


@pytest.mark.parametrize("name,content,words", [
    ("trainer_state.json", "[]", "trainer_state.json: $: expected a JSON object"),
    ("trainer_state.json", '{"global_step": "7"}', "trainer_state.json: $.global_step: "),
    ("trainer_state.json", '{"global_step": 7, "num_input_tokens_seen": [1]}',
     "trainer_state.json: $.num_input_tokens_seen: "),
    ("trainer_state.json", '{"global_step": 7, "log_history": 5}',
     "trainer_state.json: $.log_history: is not a list"),
    ("trainer_state.json", '{"global_step": 7, "log_history": [1]}',
     "trainer_state.json: $.log_history[0]: expected a JSON object"),
    ("trainer_state.json", '{"global_step": 7, "log_history": [{"step": 7, "loss": NaN}]}',
     "trainer_state.json: malformed JSON: NaN is not valid JSON (not a finite number) at "
     "$.log_history[0].loss"),
    ("config.json", "[1, 2]", "config.json: $: expected a JSON object"),
    ("config.json", '{"a": ' + "[" * 5000 + "]" * 5000 + "}", "config.json: malformed JSON"),
], ids=["state-list", "step-text", "tokens-list", "history-number", "history-entry-number",
        "history-nan", "config-list", "config-deep"])
def test_import_of_malformed_trainer_files(tmp_path: Path, name: str, content: str,
                                           words: str) -> None:
    folder = hf_folder(tmp_path / "hf", 7)
    (folder / name).write_text(content)
    result = run("run", "import-checkpoints", folder, "--run", tmp_path / "run",
                 "--tokens-per-step", "32")
    one_line(result.output, 2, result.exit_code, words)


@pytest.mark.parametrize("content,words", [
    (b"[" * 100_000 + b"1" + b"]" * 100_000, "nested more than 64 levels"),
    (b"[1, 2, 99999999999999999999999]", "is out of range"),
    (None, "larger than 16,777,216 bytes"),
], ids=["deep", "huge-int", "dev-zero"])
def test_trace_tokens_of_a_hostile_file(release: Path, tmp_path: Path, content: bytes | None,
                                        words: str) -> None:
    tokens = Path("/dev/zero")
    if content is not None:
        tokens = tmp_path / "tokens.json"
        tokens.write_bytes(content)
    result = run("trace", release, "--tokens", tokens)
    one_line(result.output, 2, result.exit_code, words)


GIB = 1 << 30


@pytest.mark.parametrize("command", ["audit", "lineage", "trace-check-proof", "diff",
                                     "proof-file"])
def test_a_1gib_manifest_is_refused_before_it_is_read(release: Path, tmp_path: Path,
                                                      command: str) -> None:
    big = tmp_path / "big"
    big.mkdir()
    with open(big / "manifest.json", "wb") as fh:
        fh.truncate(GIB)  # sparse: no disk, 1 GiB to read
    args = {"audit": ("audit", big / "manifest.json"),
            "lineage": ("lineage", big),
            "trace-check-proof": ("trace", big / "manifest.json", "--check-proof",
                                  release / "manifest.json"),
            "diff": ("diff", big, release),
            "proof-file": ("trace", release, "--check-proof", big / "manifest.json")}[command]
    out = cli_process(*args, memory=768 << 20)  # less than the file: reading it whole fails
    one_line(out.stderr, 2, out.returncode, "manifest.json")
    assert "larger than" in out.stderr or "too large" in out.stderr


@pytest.mark.parametrize("where,value", [
    ("evals/ckpt_001.json", "NaN"), ("evals/ckpt_001.json", "-Infinity"),
    ("evals/ckpt_001.json", "1e400"),
    ("checkpoints/ckpt_001/trainer_state.json", "Infinity"),
    ("checkpoints/ckpt_001/trainer_state.json", "1e400"),
])
def test_non_finite_metrics_name_the_file_and_key(synthetic_run: Path, where: str,
                                                  value: str) -> None:
    path = synthetic_run / where
    data = json.loads(path.read_bytes())
    key = "heldout_loss" if where.startswith("evals") else "train_loss"
    text = json.dumps(data).replace(f'"{key}": {data["metrics"][key]}', f'"{key}": {value}')
    assert value in text
    path.write_text(text)
    result = run("release", "build", synthetic_run, "--out", synthetic_run.parent / "rel",
                 "--no-cards")
    one_line(result.output, 2, result.exit_code, f"{path}: malformed JSON: {value}")
    assert f"at $.metrics.{key}" in result.output
    check = run("run", "check", synthetic_run)
    assert check.exit_code == 1 and f"at $.metrics.{key}" in check.output


# --- item 13: one writer per run -----------------------------------------------------------

def test_import_into_a_run_another_process_writes(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    folder = hf_folder(tmp_path / "hf", 10)
    with lock_held_elsewhere(run_dir) as pid:
        result = run("run", "import-checkpoints", folder, "--run", run_dir)
        one_line(result.output, 2, result.exit_code,
                 f"another llm360 process is writing this run: llm360 train pid {pid} on "
                 f"{socket.gethostname()}, started ")
        assert not (run_dir / "checkpoints").exists()
    result = run("run", "import-checkpoints", folder, "--run", run_dir)  # the holder is gone
    assert result.exit_code == 0, result.output
