"""``llm360 verify``: prove every byte of a release is what its signer signed."""

from __future__ import annotations

from pathlib import Path

import click

from llm360.cli._hub import client_from, hub_options
from llm360.cli._render import echo, echo_json, progress_bar
from llm360.cli._trust import parent_check_from, parent_options, policy_from, trust_options
from llm360.errors import InputError

__all__ = ["verify"]


@click.command()
@click.argument("release", metavar="RELEASE", type=click.Path(path_type=Path), required=False)
@click.option("--hub", "hub_repo", metavar="ORG/NAME",
              help="Verify the release published on the Hub at ORG/NAME instead (every "
                   "checkpoint branch, main and the dataset repo) from the Hub's metadata: no "
                   "weight or data byte is downloaded.")
@click.option("--revision", default="main", show_default=True,
              help="--hub: where the manifest is read (branch, tag or commit).")
@click.option("--data-repo", metavar="ORG/NAME",
              help="--hub: the dataset repo (default ORG/NAME-data).")
@click.option("--download", is_flag=True,
              help="--hub: download and hash every byte instead of trusting the Hub's sha256.")
@hub_options
@click.option("--root", type=click.Path(path_type=Path),
              help="The run directory holding the artifacts of a --metadata-only release "
                   "(a full release holds them itself).")
@click.option("--expect-version", help="Fail unless the release is this version (catches a "
              "rollback to an older, validly signed release).")
@trust_options(unsigned_help="WEAKENS: accept a manifest with no signature (only without --key "
                             "or --identity; printed in the report).")
@click.option("--allow-extra", is_flag=True,
              help="WEAKENS: accept files that nobody signed (printed in the report).")
@parent_options
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def verify(release: Path, root: Path | None, expect_version: str | None, allow_extra: bool,
           as_json: bool, hub_repo: str | None = None, revision: str = "main",
           data_repo: str | None = None, download: bool = False, endpoint: str | None = None,
           no_xet: bool = False, parent_folders: tuple[Path, ...] = (),
           parent_key: Path | None = None, parent_identity: str | None = None,
           parent_issuer: str | None = None, allow_unverified_parent: bool = False,
           **trust) -> int:
    """Verify RELEASE (a release folder or its manifest.json) and every file in it.

    Checks, in order, and names what broke: the signature (with the pinned --key, or the
    keyless --identity and --issuer), the manifest's and the release-file list's sha256
    against the signed statement, each checkpoint's OMS signature, then every file: each
    artifact and each card, plot and signature is present with its signed size and sha256,
    and any file nobody signed fails. Then lineage (parents exist, no cycles, steps and tokens
    grow) and every manifest field against the run's own records and chunk bytes.
    Exit 0 verified, 1 verification failed, 2 bad input.

    With --hub ORG/NAME instead of RELEASE: the same checks on the published release, each
    problem named by branch and file (hub:ORG/NAME@ckpt_001/model.safetensors), including a
    branch that serves another checkpoint's weights.

    A derived release (it continues a checkpoint of another release: manifest v1.3
    derived_from) is checked against its parent: the parent release (from the Hub at the
    recorded repo and commit, or --parent PATH) must verify under its own signer
    (--parent-key, or --parent-identity and --parent-issuer) and list that checkpoint with
    the recorded root digest, step and tokens. A parent that cannot be checked fails unless
    --allow-unverified-parent (printed).
    """
    policy = policy_from(trust, allow_extra=allow_extra, expect_version=expect_version)
    parent = parent_check_from(
        {"parent_folders": parent_folders, "parent_key": parent_key,
         "parent_identity": parent_identity, "parent_issuer": parent_issuer,
         "allow_unverified_parent": allow_unverified_parent}, trust,
        hub=lambda: client_from(endpoint, no_xet, quiet=True))
    if hub_repo is not None:
        if release is not None or root is not None:
            raise InputError("pass either RELEASE or --hub ORG/NAME, not both")
        from llm360.cli._hub import verify_hub_command

        return verify_hub_command(hub_repo, revision=revision, data_repo=data_repo,
                                  download=download, endpoint=endpoint, no_xet=no_xet,
                                  as_json=as_json, policy=policy, parent=parent)
    if release is None:
        raise InputError("pass RELEASE (a release folder or its manifest.json) or --hub ORG/NAME")

    def body() -> int:
        from llm360.registry.verify.verifier import verify_release

        with progress_bar("verifying", enabled=not as_json) as (advance, set_total):
            report = verify_release(release, root, policy=policy, parent=parent,
                                    progress=advance, on_total=set_total)
        if as_json:
            echo_json(report.as_data())
        else:
            render_report(report)
        return 0 if report.ok else 1

    return body()


def render_report(report) -> None:
    """The report as lines: each problem, notes, what was verified and by whom, the verdict."""
    for problem in report.problems:
        echo(f"{'FAIL' if report.fails(problem) else 'warn'} {problem.message}")
    for note in report.notes:
        echo(f"note: {note}")
    sig = report.signature
    if sig.verified:
        who = (f"key {(sig.key_fingerprint or '')[:16]}..." if sig.method == "key"
               else f"{sig.identity} ({sig.issuer})")
        echo(f"signature: {sig.method}, signed by {who}; "
             f"{sig.checkpoints_verified or 0} checkpoint signatures verified")
    elif sig.unsigned:
        echo("signature: none (the manifest is unsigned)")
    rel = report.release
    if rel is not None:
        echo(f"release: {rel.name} version {rel.version}, created {rel.created}")
    verdict = "VERIFIED" if report.ok else "FAILED"
    echo(f"{verdict}: {report.files_checked} files, {report.bytes_checked} bytes "
         f"checked in {report.root}; manifest sha256 {report.manifest_sha256}")
