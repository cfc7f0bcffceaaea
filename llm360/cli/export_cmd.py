"""``llm360 export``: a release as Croissant, SPDX or CycloneDX."""

from __future__ import annotations

import json
from pathlib import Path

import click

from llm360.cli._render import echo, echo_json
from llm360.cli._trust import policy_from, trust_options

__all__ = ["export"]


@click.command(short_help="Write RELEASE as Croissant 1.1, SPDX 3.0.1 or CycloneDX 1.6 JSON.")
@click.argument("release", metavar="RELEASE", type=click.Path(path_type=Path))
@click.option("--format", "fmt", required=True,
              type=click.Choice(["croissant", "spdx", "cyclonedx"]),
              help="croissant: the pretraining data (MLCommons Croissant 1.1); spdx: SPDX "
                   "3.0.1 with the AI and Dataset profiles; cyclonedx: a CycloneDX 1.6 ML-BOM.")
@click.option("--out", type=click.Path(path_type=Path),
              help="Write the document to this file (new; default: print it).")
@click.option("--root", type=click.Path(path_type=Path),
              help="The run directory holding the artifacts of a --metadata-only release.")
@trust_options(unsigned_help="WEAKENS: export a release whose manifest has no signature (only "
                             "without --key or --identity; printed).")
@click.option("--json", "as_json", is_flag=True,
              help="Print a JSON object: the document (or where it was written) and what "
                   "the verification found.")
def export(release: Path, fmt: str, out: Path | None, root: Path | None, as_json: bool,
           **trust) -> int:
    """Write RELEASE (a release folder or its manifest.json) as FORMAT.

    The release is verified first, as `llm360 verify` does (--key, or --identity and
    --issuer; every byte against the signed manifest): a release that fails is refused (exit
    1), an unsigned one unless --allow-unsigned (exit 2). The document is the one `release
    build` wrote into the release (croissant.json, bom.spdx.json, bom.cdx.json), byte for
    byte: sorted-key JSON, with no time in it but the release's own `created`.
    """
    from llm360.registry.analysis.exports import export_release

    result = export_release(release, fmt, root=root, policy=policy_from(trust), out=out)
    notes = [f"{flag} is in force" for flag in result.opt_outs]
    if as_json:
        data = {"format": fmt, "release": result.release, "version": result.version,
                "sha256": result.sha256, "out": str(out) if out is not None else None,
                "signature": result.signature.as_data(), "opt_outs": list(result.opt_outs)}
        if out is None:
            data["document"] = json.loads(result.data)
        echo_json(data)
        return 0
    for note in notes:
        echo(f"note: {note}", err=True)
    if out is None:
        echo(result.data.decode("ascii").rstrip("\n"))  # one line of ASCII JSON: as is
        return 0
    echo(f"{fmt}: {out} ({len(result.data)} bytes, sha256 {result.sha256}) for "
         f"{result.release} {result.version}, verified first")
    return 0
