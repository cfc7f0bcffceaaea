"""``llm360 release build``: package a run directory into a release."""

from __future__ import annotations

import os
from datetime import datetime, timezone
from pathlib import Path

import click

from llm360.cli._render import echo_json, progress_bar, run_command
from llm360.errors import InputError
from llm360.registry.build import build_release, format_created

__all__ = ["release"]


@click.group()
def release() -> None:
    """Build releases from run directories."""


def _created(value: str | None) -> str:
    if value:
        try:
            when = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise InputError(f"--created: {value!r} is not an ISO 8601 time",
                             hint="e.g. 2026-11-27T00:00:00Z") from None
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        return format_created(when)
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch:
        try:
            return format_created(datetime.fromtimestamp(int(epoch), timezone.utc))
        except ValueError:
            raise InputError(f"SOURCE_DATE_EPOCH: {epoch!r} is not a Unix time") from None
    return format_created()


@release.command("build")
@click.argument("run_dir", metavar="RUN", type=click.Path(path_type=Path))
@click.option("--out", "out_dir", required=True, type=click.Path(path_type=Path),
              help="Release folder to write (replaced atomically if it holds a release).")
@click.option("--created", help="Pin the release time (ISO 8601); default SOURCE_DATE_EPOCH "
              "or now. Pinned, an unchanged run rebuilds to byte-identical output.")
@click.option("--no-cache", is_flag=True, help="Hash every byte again, ignoring RUN/.llm360/.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def build(run_dir: Path, out_dir: Path, created: str | None, no_cache: bool,
          as_json: bool) -> None:
    """Package the run directory RUN into a release at --out.

    Validates every record of RUN against its schema, hashes every file (cached in
    RUN/.llm360/ so a rebuild hashes only new bytes), and writes RELEASE/manifest.json.
    """

    def body() -> int:
        with progress_bar("hashing", enabled=not as_json) as (advance, set_total):
            result = build_release(run_dir, out_dir, created=_created(created), progress=advance,
                                   on_total=set_total, use_cache=not no_cache)
        if as_json:
            echo_json({"manifest": str(result.manifest_path), "sha256": result.manifest_sha256,
                       "files": result.files, "bytes": result.bytes,
                       "checkpoints": len(result.manifest.checkpoints)})
        else:
            click.echo(f"release {result.manifest.release.name} "
                       f"{result.manifest.release.version}: {result.files} files, "
                       f"{result.bytes} bytes, {len(result.manifest.checkpoints)} checkpoints")
            click.echo(f"manifest {result.manifest_path} (sha256 {result.manifest_sha256})")
        return 0

    run_command(body)
