"""``llm360 run``: check a run directory written by any trainer; import HF checkpoints."""

from __future__ import annotations

from pathlib import Path

import click

from llm360.cli._render import echo, echo_json, progress_bar
from llm360.errors import InputError
from llm360.registry.manifest.models import RELATIONS, DerivedFrom

__all__ = ["run"]


@click.group()
def run() -> None:
    """Check a run directory written by any trainer; import Hugging Face checkpoints."""


@run.command("check")
@click.argument("run_dir", metavar="RUN", type=click.Path(path_type=Path))
@click.option("--no-cache", is_flag=True, help="Hash every byte again, ignoring RUN/.llm360/.")
@click.option("--allow-missing-records", is_flag=True,
              help="Accept a checkpoint without its eval or the log lines of its steps (as "
                   "`release build --allow-missing-records`).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def check(run_dir: Path, no_cache: bool, allow_missing_records: bool, as_json: bool) -> int:
    """Validate the run directory RUN with the rules of `release build`, listing every problem.

    \b
    Checks: the required records, each JSON/YAML record and log line against its schema, no
    pickle files, no symbolic links, data chunk sha256, rows and Merkle roots against
    data/index.json, each parent's root digest against the parent on disk, an eval and log
    lines for every checkpoint, and the lineage and references of the manifest the run would
    build. Each problem names the file and the
    JSON path. Exit 0: `release build` accepts the run; 1: problems found; 2: RUN is not a
    directory, or is a release folder (check that with `llm360 verify`).
    """

    def body() -> int:
        from llm360.registry.run.check import check_run

        with progress_bar("hashing", enabled=not as_json) as (advance, _total):
            result = check_run(run_dir, use_cache=not no_cache, progress=advance,
                               allow_missing_records=allow_missing_records)
        if as_json:
            echo_json(result.as_data())
        else:
            for p in result.problems:
                where = f"{p.file}: {p.json_path}" if p.json_path else p.file
                echo(f"{p.code:9} {where}: {p.message}" if where else
                           f"{p.code:9} {p.message}")
            verdict = "ok" if result.ok else f"{len(result.problems)} problem(s)"
            echo(f"{result.root}: {verdict} ({result.files} files, "
                       f"{result.checkpoints} checkpoints, {result.chunks} data chunks)")
        return 0 if result.ok else 1

    return body()


@run.command("import-checkpoints")
@click.argument("folders", metavar="DIR...", nargs=-1, required=True,
                type=click.Path(path_type=Path))
@click.option("--run", "run_dir", required=True, type=click.Path(path_type=Path),
              help="Run directory to add the checkpoints to (created if absent).")
@click.option("--tokens-per-step", type=click.IntRange(min=1),
              help="Tokens per optimizer step, where HF's trainer state does not record "
                   "num_input_tokens_seen.")
@click.option("--seq-len", type=click.IntRange(min=1),
              help="Sequence length for data/index.json (default: the config's "
                   "max_position_embeddings).")
@click.option("--derived-from", metavar="hub:ORG/NAME@CKPT",
              help="The checkpoint of a published release the imported ones continue (a "
                   "fine-tune made elsewhere): hub:ORG/NAME@ckpt_XXX, or RELEASE_FOLDER@ckpt_XXX; "
                   "its signature is checked with --parent-key (or --parent-identity and "
                   "--parent-issuer) and the run records it in config/derived_from.json.")
@click.option("--relation", type=click.Choice(RELATIONS),
              default="finetune", show_default=True,
              help="How the imported checkpoints derive from --derived-from.")
@click.option("--parent-key", type=click.Path(path_type=Path),
              help="--derived-from: the parent release's public key (PEM).")
@click.option("--parent-identity", help="--derived-from: the parent's keyless signer identity.")
@click.option("--parent-issuer", help="--derived-from: the parent's keyless OIDC issuer.")
@click.option("--endpoint", metavar="URL",
              help="--derived-from hub:...: the Hub endpoint (default: HF_ENDPOINT).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def import_checkpoints(folders: tuple[Path, ...], run_dir: Path, tokens_per_step: int | None,
                       seq_len: int | None, derived_from: str | None, relation: str,
                       parent_key: Path | None, parent_identity: str | None,
                       parent_issuer: str | None, endpoint: str | None, as_json: bool) -> int:
    """Import Hugging Face checkpoint folders DIR... into RUN, in the order given.

    Each folder (save_pretrained or Trainer output: safetensors weights, config.json,
    tokenizer files) becomes a checkpoint ckpt_NNN whose parent is the one before: a linear
    lineage. Pickle weights are refused (the message says how to convert them); HF's pickle
    side files (optimizer.pt, rng_state.pth, ...) are not imported, and the run records that
    optimizer state, RNG state and data order are missing. Write llm360.yaml and
    config/train.json yourself, then `llm360 run check RUN`.

    With --derived-from, the first imported checkpoint's parent is that checkpoint of the
    parent release (its signature checked first): the release built from RUN references it
    and `llm360 verify --parent-key ...` checks the link.
    """

    def body() -> int:
        from llm360.registry.run.importer import import_checkpoints as do_import

        link = None
        if derived_from is not None:
            link = _derived_link(derived_from, relation, parent_key, parent_identity,
                                 parent_issuer, endpoint)
        result = do_import(run_dir, list(folders), tokens_per_step=tokens_per_step,
                           seq_len=seq_len, derived_from=link)
        if as_json:
            echo_json({"run": str(result.run_dir),
                       "checkpoints": [{"name": c.name, "status": c.status,
                                        "step": c.state.step,
                                        "tokens_seen": c.state.tokens_seen,
                                        "root_digest": c.root_digest,
                                        "imported_from": c.state.imported_from,
                                        "not_imported": list(result.skipped[c.name])}
                                       for c in result.checkpoints],
                       "missing": list(result.missing),
                       "still_needed": list(result.still_needed)})
            return 0
        for c in result.checkpoints:
            skipped = result.skipped[c.name]
            note = f"; not imported: {', '.join(skipped)}" if skipped else ""
            echo(f"{c.name} <- {c.state.imported_from} (step {c.state.step}"
                       f", {c.state.tokens_seen} tokens){note}")
        echo(f"recorded as missing: {', '.join(result.missing)}")
        if result.still_needed:
            echo(f"still needed before `release build`: {', '.join(result.still_needed)}"
                       " (see 'The run directory (v1)' in the README)")
        return 0

    return body()


def _derived_link(spec: str, relation: str, key: Path | None, identity: str | None,
                  issuer: str | None, endpoint: str | None) -> DerivedFrom:
    """The ``DerivedFrom`` of ``--derived-from``, its parent's signature checked."""
    from llm360.cli._hub import client_from
    from llm360.cli._trust import parent_check_from

    check = parent_check_from({"parent_folders": (), "parent_key": key,
                               "parent_identity": identity, "parent_issuer": issuer,
                               "allow_unverified_parent": False},
                              {"offline": False, "trust_config": None, "staging": False})
    if check.policy is None:
        raise InputError(f"--derived-from {spec}: pass --parent-key PUB.pem (or "
                         "--parent-identity and --parent-issuer) to check the parent's "
                         "signature")
    if spec.startswith("hub:"):
        from llm360.registry.hub import hub_link, parse_hub_checkpoint

        repo, checkpoint = parse_hub_checkpoint(spec)
        link, _ = hub_link(client_from(endpoint, False, quiet=True), repo, checkpoint,
                           policy=check.policy, relation=relation)
        return link
    from llm360.registry.verify.parent import local_link

    return local_link(spec, policy=check.policy, relation=relation)
