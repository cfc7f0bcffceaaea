"""``llm360``: the command group.

Adding a command is one line in ``COMMANDS`` below: its name, where its click command lives
(``module:object``) and the summary ``llm360 --help`` shows, which is what click itself would
show, ``command.get_short_help_str(limit=90)`` (a test keeps every entry importable and its
summary equal to that)::

    "push": ("llm360.cli.push_cmd:push", "Publish a release to the Hugging Face Hub."),

Commands load lazily: ``llm360 --help`` lists the table without importing any command module,
and a command's module (with what it imports) is loaded only when that command runs or shows its
help, so start-up stays at click's own cost (a test keeps jinja2, Pillow, rich,
huggingface_hub, sigstore, cryptography and torch out of ``llm360 --help``).

Errors are mapped to exit codes here, once, for every command (``Llm360Group.main``): a command
returns its exit code (or None for 0) and raises ``Llm360Error`` for what went wrong:

* ``Llm360Error`` -> ``error: <message>`` and ``hint: <hint>`` on stderr, its ``exit_code``
  (1 verification failed, 2 bad input, 3 other);
* click usage errors -> click's usage message, exit 2;
* anything else -> one line naming the exception and "rerun with --verbose", exit 3;
* with ``--json`` on the command line the error is a JSON object on stdout instead:
  ``{"ok": false, "error": {"type", "message", "hint", "exit_code", ...}}``;
* ``--verbose`` (before the command) adds the traceback on stderr.
"""

from __future__ import annotations

import importlib
import sys
import traceback
from collections.abc import Mapping, Sequence
from typing import Any, NoReturn

import click

from llm360 import __version__
from llm360.cli._render import INPUT_ERRNOS, echo, echo_json
from llm360.errors import InputError, Llm360Error

__all__ = ["COMMANDS", "Llm360Group", "cli", "main", "error_data"]

#: name -> ("module:object", summary shown by ``llm360 --help``), in the order of the flow
COMMANDS: dict[str, tuple[str, str]] = {
    "data": ("llm360.cli.data_cmd:data", "Prepare the training data of a run directory."),
    "train": ("llm360.cli.train_cmd:train", "Train a LLaMA on the run's data chunks, "
              "writing checkpoints/, evals/, logs/, config/."),
    "eval": ("llm360.cli.eval_cmd:eval_group",
             "Benchmarks per checkpoint: run lm-evaluation-harness on RUN, or import results."),
    "keygen": ("llm360.cli.keygen_cmd:keygen",
               "Create an ECDSA P-256 key pair for air-gapped signing (release build --sign key)."),
    "release": ("llm360.cli.release_cmd:release", "Build releases from run directories."),
    "verify": ("llm360.cli.verify_cmd:verify",
               "Verify RELEASE (a release folder or its manifest.json) and every file in it."),
    "card": ("llm360.cli.card_cmd:card",
             "Render the cards and plots of RELEASE (folder, manifest.json or hub:ORG/NAME) into "
             "--out."),
    "audit": ("llm360.cli.audit_cmd:audit",
              "Grade RELEASE against the Model Openness Framework (Class III, II and I)."),
    "lineage": ("llm360.cli.lineage_cmd:lineage",
                "Show the checkpoint graph of RELEASE as a tree, forks and merges marked."),
    "trace": ("llm360.cli.trace_cmd:trace",
              "Find the data rows of RELEASE holding a text or tokens, and when they were "
              "trained."),
    "push": ("llm360.cli.push_cmd:push",
             "Verify RELEASE (a folder from `llm360 release build`) and publish it to the Hub."),
    "pull": ("llm360.cli.pull_cmd:pull",
             "Download CHECKPOINT of the release at ORG/NAME into a run directory."),
    "diff": ("llm360.cli.diff_cmd:diff",
             "Compare releases A and B: checkpoints, data chunks, files, configs and benchmarks."),
    "export": ("llm360.cli.export_cmd:export",
               "Write RELEASE as Croissant 1.1, SPDX 3.0.1 or CycloneDX 1.6 JSON."),
    "run": ("llm360.cli.run_cmd:run", "Check a run directory written by any trainer; import "
            "Hugging Face checkpoints."),
    "registry": ("llm360.cli.registry_cmd:registry",
                 "The provenance registry: an index of verified releases and their lineage."),
}

USAGE_EXIT = 2
UNEXPECTED_EXIT = 3


def error_data(exc: BaseException, *, exit_code: int) -> dict[str, Any]:
    """The JSON error object printed for ``--json`` commands."""
    if isinstance(exc, Llm360Error):
        error: dict[str, Any] = {"type": type(exc).__name__, "message": exc.message,
                                 "hint": exc.hint, "exit_code": exit_code}
        for name in ("file", "json_path", "artifact"):
            if getattr(exc, name, None) is not None:
                error[name] = getattr(exc, name)
    elif isinstance(exc, click.UsageError):
        command = exc.ctx.command_path if exc.ctx is not None else "llm360"
        error = {"type": "UsageError", "message": exc.format_message(),
                 "hint": f"{command} --help", "exit_code": exit_code}
    else:
        error = {"type": type(exc).__name__, "message": f"unexpected {type(exc).__name__}: {exc}",
                 "hint": "rerun with --verbose for the traceback and report it",
                 "exit_code": exit_code}
    return {"ok": False, "error": error}


class Llm360Group(click.Group):
    """A click group whose commands load on first use and whose errors map to exit codes once.

    ``lazy`` maps a command name to ``("module:object", summary)``; see ``COMMANDS``.
    """

    def __init__(self, *args: Any, lazy: Mapping[str, tuple[str, str]] | None = None,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy: dict[str, tuple[str, str]] = dict(lazy or {})

    # -- lazy commands -------------------------------------------------------------------
    def list_commands(self, ctx: click.Context) -> list[str]:
        eager = [name for name in super().list_commands(ctx) if name not in self.lazy]
        return [*self.lazy, *eager]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy and cmd_name not in self.commands:
            target = self.lazy[cmd_name][0]
            module_name, _, attr = target.partition(":")
            command = getattr(importlib.import_module(module_name), attr)
            if not isinstance(command, click.Command):
                raise TypeError(f"{target} is not a click command")
            self.commands[cmd_name] = command
        return super().get_command(ctx, cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The command list from the table (no import) plus any command added eagerly."""
        rows = []
        for name in self.list_commands(ctx):
            if name in self.lazy:
                rows.append((name, self.lazy[name][1]))
            else:
                command = self.commands[name]
                if not command.hidden:
                    rows.append((name, command.get_short_help_str(formatter.width - 6 - len(name))))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)

    # -- one error mapping for every command ---------------------------------------------
    def main(self, args: Sequence[str] | None = None, prog_name: str | None = None,
             complete_var: str | None = None, standalone_mode: bool = True,
             **extra: Any) -> Any:
        argv = list(sys.argv[1:] if args is None else args)
        words = argv[:argv.index("--")] if "--" in argv else argv
        as_json, verbose = "--json" in words, "--verbose" in words
        try:
            code = super().main(argv, prog_name, complete_var, standalone_mode=False, **extra)
        except click.exceptions.Abort as exc:  # click turns Ctrl-C (and EOF at a prompt) into it
            interrupted = isinstance(exc.__cause__, KeyboardInterrupt)
            echo("error: interrupted" if interrupted else "Aborted!", err=True)
            code = 130 if interrupted else 1
        except click.ClickException as exc:  # usage errors (and click's own file errors)
            code = USAGE_EXIT
            if as_json:
                echo_json(error_data(exc, exit_code=code))
            else:
                exc.show()
        except Llm360Error as exc:
            code = exc.exit_code
            self._report(exc, code, as_json=as_json, verbose=verbose,
                         lines=[f"error: {exc.message}"] + ([f"hint: {exc.hint}"] if exc.hint
                                                            else []))
        except KeyboardInterrupt:  # outside click's own handling (e.g. while resolving a command)
            echo("error: interrupted", err=True)
            code = 130
        except OSError as exc:  # the user's disk, permissions or paths: one line, exit 2
            if exc.errno in INPUT_ERRNOS:
                code = USAGE_EXIT
                where = f"{exc.filename}: " if exc.filename else ""
                self._report(InputError(f"{where}{exc.strerror or exc}"), code,
                             as_json=as_json, verbose=verbose,
                             lines=[f"error: {where}{exc.strerror or exc}"])
            else:
                code = UNEXPECTED_EXIT
                self._report(exc, code, as_json=as_json, verbose=verbose,
                             lines=[f"error: unexpected {type(exc).__name__}: {exc}",
                                    "hint: rerun with --verbose for the traceback and report "
                                    "it"])
        except Exception as exc:  # noqa: BLE001 - the last line of defence for users
            code = UNEXPECTED_EXIT
            self._report(exc, code, as_json=as_json, verbose=verbose,
                         lines=[f"error: unexpected {type(exc).__name__}: {exc}",
                                "hint: rerun with --verbose for the traceback and report it"])
        code = code if isinstance(code, int) else 0
        if not standalone_mode:
            return code
        sys.exit(code)

    @staticmethod
    def _report(exc: BaseException, code: int, *, as_json: bool, verbose: bool,
                lines: list[str]) -> None:
        if verbose:
            traceback.print_exception(exc)
        if as_json:
            echo_json(error_data(exc, exit_code=code))
        else:
            for line in lines:
                echo(line, err=True)


@click.group(cls=Llm360Group, lazy=COMMANDS,
             context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="llm360")
@click.option("--verbose", is_flag=True, help="Show tracebacks for errors.")
def cli(verbose: bool) -> None:
    """Package, sign, verify and publish fully open LLM pretraining releases.

    \b
    The flow:  llm360 data prepare -> llm360 train -> llm360 release build
               -> llm360 verify / push / pull / train --resume-from
    Exit codes: 0 ok, 1 verification failed, 2 usage or bad input, 3 other errors.
    """


def main() -> NoReturn:
    """The ``llm360`` command (console script and ``python -m llm360.cli.main``)."""
    sys.exit(cli.main(prog_name="llm360", standalone_mode=False))


if __name__ == "__main__":
    main()
