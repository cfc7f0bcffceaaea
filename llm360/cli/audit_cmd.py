"""``llm360 audit``: grade a release against the Model Openness Framework."""

from __future__ import annotations

from pathlib import Path

import click

from llm360.cli._hub import hub_options, open_ref
from llm360.cli._render import echo, echo_json

__all__ = ["audit"]


@click.command(short_help=(
    "Grade RELEASE against the Model Openness Framework (Class III, II and I)."))
@click.argument("release")
@click.option("--root", type=click.Path(path_type=Path),
              help="Folder holding the artifacts (default: the run the release was built from, "
                   "else the release folder).")
@click.option("--mot-yaml", "mot_yaml", type=click.Path(path_type=Path),
              help="Also write the Model Openness Tool's YAML record of the release here.")
@hub_options
@click.option("--json", "as_json", is_flag=True, help="Print the audit as JSON.")
def audit(release: str, root: Path | None, mot_yaml: Path | None, endpoint: str | None,
          no_xet: bool, as_json: bool) -> int:
    """Grade RELEASE (RELEASE/manifest.json, the release folder, or hub:ORG/NAME[@REV]) against
    the Model Openness Framework: Class III Open Model, Class II Open Tooling, Class I Open
    Science.

    For each of the MOF's 17 components: whether the release has it (from the manifest's
    artifacts, checkpoints and links, and the cards beside it), its license (llm360.yaml
    licenses.components, else the weights/code/data/documentation license) and whether it
    counts (present under an open license). Prints the class reached and exactly what is
    missing for the next one. It does not check bytes or signatures: run `llm360 verify`.
    """
    from llm360.registry.analysis.audit import audit_release, mot_record, write_mot_yaml

    def body() -> int:
        source = open_ref(release, root=root, endpoint=endpoint, no_xet=no_xet)
        result = audit_release(source)
        written = None
        if mot_yaml is not None:
            written = write_mot_yaml(mot_yaml, mot_record(source.manifest, result))
        if as_json:
            data = result.as_data()
            data["mot_yaml"] = str(written) if written else None
            echo_json(data)
            return 0
        echo(f"{result.release} {result.version} ({result.schema_version})")
        echo("ok = present under an open license (counts), -- = absent, "
             "NO = present but the license is not open")
        for cls in (3, 2, 1):
            echo(f"  {_roman(cls)}:")
            for c in result.components:
                if c.mof_class != cls:
                    continue
                mark = "ok " if c.counts else ("-- " if not c.present else "NO ")
                optional = "" if c.required else " (optional)"
                lic = c.license if c.license_open else f"{c.license} (not open)"
                if c.counts and not c.type_appropriate:
                    lic += f" (open, not a {c.content_type} license)"
                echo(f"    {mark}{c.name}{optional}: {c.evidence}; license {lic}")
        if result.source_licenses:
            echo("data sources by license (the data components are under all of them):")
            for lic in result.source_licenses:
                state = "open" if lic.open else "not open"
                echo(f"  {lic.license} ({state}): {', '.join(lic.sources)}; "
                     f"{lic.tokens:,} tokens trained")
        echo(f"class: {result.label}")
        if result.next_class:
            echo(f"missing for {_class_name(result.next_class)}:")
            for name, why in result.missing:
                echo(f"  - {name}: {why}")
        for name, why in result.optional_missing:
            echo(f"optional, not counted: {name}: {why}")
        if written:
            echo(f"MOT record: {written}")
        return 0

    return body()


def _roman(cls: int) -> str:
    return {3: "Class III (Open Model)", 2: "Class II (Open Tooling)",
            1: "Class I (Open Science)"}[cls]


def _class_name(cls: int) -> str:
    return {3: "Class III", 2: "Class II", 1: "Class I"}[cls]
