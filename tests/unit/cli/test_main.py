"""The command group: lazy commands, a light start-up, one error mapping for every command."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from llm360.cli.main import COMMANDS, Llm360Group, cli
from llm360.errors import InputError, SchemaError, VerificationError

#: what ``llm360 --help`` must never import (each costs start-up time or needs an extra)
HEAVY = ("jsonschema", "rfc3987_syntax", "jinja2", "PIL", "rich", "huggingface_hub",
         "sigstore", "cryptography", "torch", "deepspeed", "numpy", "yaml")


def _modules_after(*args: str) -> set[str]:
    code = ("import sys; from llm360.cli.main import cli\n"
            "try:\n    cli(args=sys.argv[1:], prog_name='llm360')\n"
            "except SystemExit:\n    pass\n"
            "print('\\n'.join(sys.modules), file=sys.stderr)")
    result = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True)
    assert "Commands:" in result.stdout or "Usage:" in result.stdout, result.stdout + result.stderr
    return set(result.stderr.split())


def test_help_imports_no_heavy_module() -> None:
    loaded = _modules_after("--help")
    assert not {m.split(".")[0] for m in loaded} & set(HEAVY)
    assert not [m for m in loaded if m.startswith("llm360.") and m not in
                ("llm360.cli", "llm360.cli.main", "llm360.cli._render", "llm360.errors",
                 "llm360.registry", "llm360.registry.installed")]


def test_a_command_help_imports_only_that_command() -> None:
    loaded = _modules_after("verify", "--help")
    assert "llm360.cli.verify_cmd" in loaded
    assert not {"llm360.cli.train_cmd", "llm360.cli.card_cmd", "jinja2", "torch"} & loaded


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_table_entry_is_a_command_with_that_summary(name: str) -> None:
    target, summary = COMMANDS[name]
    module, _, attr = target.partition(":")
    command = getattr(importlib.import_module(module), attr)
    assert isinstance(command, click.Command) and command.name == name
    assert summary == command.get_short_help_str(limit=90), command.get_short_help_str(limit=90)


def test_help_lists_the_table_in_order() -> None:
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    listed = [line.split()[0] for line in result.output.split("Commands:")[1].splitlines()
              if line.startswith("  ") and not line.startswith("    ")]
    assert listed == list(COMMANDS)


def _group_raising(exc: BaseException) -> click.Group:
    @click.group(cls=Llm360Group)
    @click.option("--verbose", is_flag=True)
    def root(verbose: bool) -> None:
        pass

    @root.command()
    @click.option("--json", "as_json", is_flag=True)
    @click.option("--count", type=int, default=1)
    def boom(as_json: bool, count: int) -> int:
        raise exc

    @root.command()
    @click.option("--json", "as_json", is_flag=True)
    @click.option("--code", type=int, default=0)
    def ok(as_json: bool, code: int) -> int:
        click.echo("fine")
        return code

    return root


@pytest.mark.parametrize("exc, code", [
    (InputError("run/x.json: not found", hint="prepare the run first"), 2),
    (SchemaError("'a' is not an integer", file="run/x.json", json_path="$.step"), 2),
    (VerificationError("ckpt_000/model.safetensors: sha256 differs",
                       artifact="checkpoints/ckpt_000/model.safetensors"), 1),
])
def test_llm360_errors_are_one_line_and_their_exit_code(exc: Exception, code: int) -> None:
    result = CliRunner().invoke(_group_raising(exc), ["boom"])
    assert result.exit_code == code
    errors = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert errors == [f"error: {exc}"]
    assert ("hint: prepare the run first" in result.output) == (exc.hint is not None)
    assert "Traceback" not in result.output


def test_llm360_error_as_json_on_stdout() -> None:
    exc = VerificationError("sha256 differs", artifact="data/chunk_000.safetensors",
                            hint="rebuild")
    result = CliRunner().invoke(_group_raising(exc), ["boom", "--json"])
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert data == {"ok": False, "error": {
        "type": "VerificationError", "message": "sha256 differs", "hint": "rebuild",
        "exit_code": 1, "artifact": "data/chunk_000.safetensors"}}


def test_unexpected_errors_exit_3_and_point_at_verbose() -> None:
    result = CliRunner().invoke(_group_raising(KeyError("oops")), ["boom"])
    assert result.exit_code == 3
    assert "error: unexpected KeyError: 'oops'" in result.output
    assert "rerun with --verbose" in result.output and "Traceback" not in result.output
    verbose = CliRunner().invoke(_group_raising(KeyError("oops")), ["--verbose", "boom"])
    assert verbose.exit_code == 3 and "Traceback" in verbose.output


def test_usage_errors_exit_2_also_as_json() -> None:
    group = _group_raising(RuntimeError())
    plain = CliRunner().invoke(group, ["boom", "--count", "many"])
    assert plain.exit_code == 2 and "Usage:" in plain.output
    as_json = CliRunner().invoke(group, ["boom", "--json", "--count", "many"])
    assert as_json.exit_code == 2
    error = json.loads(as_json.stdout)["error"]
    assert error["type"] == "UsageError" and "'many' is not a valid integer" in error["message"]
    assert error["exit_code"] == 2 and error["hint"].endswith("boom --help")
    unknown = CliRunner().invoke(group, ["nosuch"])
    assert unknown.exit_code == 2 and "No such command" in unknown.output


def test_a_command_returns_its_exit_code() -> None:
    group = _group_raising(RuntimeError())
    assert CliRunner().invoke(group, ["ok"]).exit_code == 0
    result = CliRunner().invoke(group, ["ok", "--code", "1"])
    assert result.exit_code == 1 and result.output == "fine\n"


def test_real_command_usage_error_as_json(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["verify", "--json"])
    assert result.exit_code == 2
    assert json.loads(result.stdout)["error"]["message"] == (
        "pass RELEASE (a release folder or its manifest.json) or --hub ORG/NAME")
    usage = CliRunner().invoke(cli, ["verify", "--no-such-flag", "--json"])
    assert usage.exit_code == 2 and "no-such-flag" in json.loads(usage.stdout)["error"]["message"]
    missing = CliRunner().invoke(cli, ["verify", str(tmp_path / "none.json"), "--json"])
    assert missing.exit_code == 2
    assert json.loads(missing.stdout)["error"]["type"] == "InputError"


def test_ctrl_c_exits_130() -> None:
    result = CliRunner().invoke(_group_raising(KeyboardInterrupt()), ["boom"])
    assert result.exit_code == 130 and "error: interrupted" in result.output


def test_main_leaves_with_the_code_after_every_exit_handler_and_all_output(tmp_path) -> None:
    """``main()`` in a fresh interpreter, with a command that registers an exit handler,
    writes unterminated output and returns 7."""
    code = ("import atexit, sys\n"
            "import llm360.cli.main as m\n"
            "marker = sys.argv[1]\n"
            "def command(**kwargs):\n"
            "    atexit.register(lambda: open(marker + '.during', 'w').write('ran'))\n"
            "    sys.stdout.write('partial output, no newline')\n"
            "    return 7\n"
            "m.cli.main = command\n"
            "m.main()\n")
    result = subprocess.run([sys.executable, "-c", code, str(tmp_path / "marker")],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 7, result.stderr
    assert result.stdout == "partial output, no newline"
    assert (tmp_path / "marker.during").read_text() == "ran"


def test_the_console_command_exits_with_its_code(tmp_path) -> None:
    ok = subprocess.run([sys.executable, "-m", "llm360.cli.main", "--version"],
                        capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0 and ok.stdout.startswith("llm360, version")
    bad = subprocess.run([sys.executable, "-m", "llm360.cli.main", "verify",
                          str(tmp_path / "none.json")], capture_output=True, text=True,
                         timeout=60)
    assert bad.returncode == 2 and bad.stderr.startswith("error: ") and bad.stdout == ""
