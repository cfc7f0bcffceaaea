"""``llm360 trace``: which training rows hold a piece of text, when they were trained, and
what came after; with Merkle proofs of those rows that anyone can check with the manifest."""

from __future__ import annotations

from pathlib import Path

import click

from llm360.cli._hub import hub_options, open_ref
from llm360.cli._render import echo, echo_json, progress_bar

__all__ = ["trace"]


@click.command(short_help=(
    "Find the data rows of RELEASE holding a text or tokens, and when they were trained."))
@click.argument("release")
@click.option("--text", help="The text to look for (tokenized with the release's tokenizer).")
@click.option("--tokens", "tokens_file", type=click.Path(path_type=Path),
              help="A file of token ids to look for (JSON list, or ids separated by spaces).")
@click.option("--proof", is_flag=True,
              help="Print the Merkle proof of every matched row (JSON on stdout; the summary "
                   "goes to stderr). Save it and check it with --check-proof.")
@click.option("--check-proof", "proof_file", type=click.Path(path_type=Path),
              help="Check a proof printed by --proof against the manifest alone (no data).")
@click.option("--root", type=click.Path(path_type=Path),
              help="Folder holding the data chunks (default: the run the release was built "
                   "from, else the release folder).")
@hub_options
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def trace(release: str, text: str | None, tokens_file: Path | None, proof: bool,
          proof_file: Path | None, root: Path | None, endpoint: str | None, no_xet: bool,
          as_json: bool) -> int:
    """Find the rows of RELEASE's data chunks that contain --text or --tokens (a match may
    cross from one row into the next), and say for each: chunk, row, the optimizer step that
    trained it and the checkpoints that came after.

    RELEASE is RELEASE/manifest.json, the release folder, or hub:ORG/NAME[@REV] (the chunks
    are downloaded from the dataset repository). Each chunk's bytes are checked against the
    manifest before it is searched. Exit 0 found in trained rows, 1 found nowhere
    trained (or a proof that does not check), 2 bad input.
    """
    from llm360.errors import InputError
    from llm360.registry.analysis.trace import (
        build_proofs,
        check_proofs,
        find_tokens,
        read_proof,
        read_tokens_file,
        trace_text,
    )

    def body() -> int:
        given = [x for x in (text, tokens_file, proof_file) if x is not None]
        if len(given) != 1:
            raise InputError("pass exactly one of --text, --tokens and --check-proof")
        if proof_file is not None:
            if proof:
                raise InputError("--proof and --check-proof do not go together")
            source = open_ref(release, root=root, endpoint=endpoint, no_xet=no_xet)
            doc = read_proof(proof_file)
            problems = check_proofs(source.manifest, source.manifest_sha256, doc,
                                    source=str(proof_file))
            inner = doc.get("proof", doc) if isinstance(doc, dict) else None
            proofs = inner.get("proofs") if isinstance(inner, dict) else None
            rows = len(proofs) if isinstance(proofs, list) else 0
            if as_json:
                echo_json({"ok": not problems, "rows": rows, "problems": problems,
                           "manifest_sha256": source.manifest_sha256})
            else:
                for p in problems:
                    echo(f"FAIL {p}")
                verdict = "FAILED" if problems else "VERIFIED"
                echo(f"{verdict}: {rows} row proof(s) against the Merkle roots in "
                     f"{source.manifest_path} (sha256 {source.manifest_sha256[:16]}...)")
            return 1 if problems else 0
        source = open_ref(release, root=root, endpoint=endpoint, no_xet=no_xet)
        with progress_bar("checking chunks", enabled=not as_json) as (advance, _total):
            if text is not None:
                result = trace_text(source, text, progress=advance)
            else:
                result = find_tokens(source, read_tokens_file(tokens_file), progress=advance)
        proof_doc = build_proofs(source, result) if proof and result.matches else None
        if as_json:
            data = result.as_data()
            if proof_doc is not None:
                data["proof"] = proof_doc
            echo_json(data)
            return 0 if result.trained else 1
        out = _summary(result)
        if proof_doc is not None:
            for line in out:
                echo(line, err=True)
            echo_json(proof_doc)
        else:
            for line in out:
                echo(line)
        return 0 if result.trained else 1

    return body()


def _summary(result) -> list[str]:
    n = len(result.tokens)
    if not result.matches:
        return [f"not found: the {n} tokens are in none of the {result.chunks_searched} data "
                f"chunks ({result.tokens_searched:,} tokens searched)"]
    if not result.trained:
        where = ", ".join(f"chunk {m.chunk} row {m.row}" for m in result.matches[:5])
        return [f"never trained on: the {n} tokens are in {where}, rows no checkpoint "
                "trained on"]
    more = " (stopped at the first ones)" if result.truncated else ""
    lines = [f"found {len(result.matches)} match(es) of {n} tokens in "
             f"{result.chunks_searched} chunks ({result.tokens_searched:,} tokens searched)"
             f"{more}"]
    for m in result.matches:
        rows = f"row {m.row}" if len(m.rows) == 1 else f"rows {m.rows[0]}-{m.rows[-1]}"
        origin = ""
        if m.source is not None:
            again = f", epoch {m.epoch} (a repeated row)" if m.epoch else ""
            origin = f" (source {m.source}, category {m.category}{again})"
        lines.append(f"chunk {m.chunk} ({m.path}) {rows}{origin}, from token {m.column}:")
        if not m.trained:
            lines.append("  not trained on by any checkpoint")
        for t in m.trained:
            steps = ("step unknown" if t.first_step is None else
                     f"step {t.first_step:,}" if t.first_step == t.last_step else
                     f"steps {t.first_step:,}-{t.last_step:,}")
            lines.append(f"  trained at {steps} in {t.checkpoint}; checkpoints after: "
                         + ", ".join(t.after))
    return lines
