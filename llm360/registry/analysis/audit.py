"""Grade a release against the Model Openness Framework, as the Model Openness Tool does.

Each of the 17 components is *present* or not, decided from the manifest (its artifacts,
checkpoints, links and code record) and the cards beside it; it *counts* when present under an
open license (OSI, FSF, an open data license, OpenMDW). A class is reached when every required
component of it and of the classes above counts: Class III (Open Model), then Class II (Open
Tooling), then Class I (Open Science). A research paper may stand in for the technical report.
Optional components (model metadata, supporting libraries, sample outputs) never change the
class; the audit still says whether they are there.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from llm360.errors import InputError
from llm360.registry import layout
from llm360.registry._files import write_atomic
from llm360.registry.analysis.mof import (
    CLASS_LABELS,
    COMPONENTS,
    FRAMEWORK,
    Component,
    default_component_licenses,
    is_open_license,
    is_type_appropriate,
)
from llm360.registry.manifest.models import Manifest, final_checkpoint
from llm360.registry.verify.open import OpenedRelease

__all__ = ["ComponentResult", "SourceLicense", "AuditResult", "grade", "audit_release",
           "mot_record", "write_mot_yaml", "MOT_HEADER"]

#: first line of every MOT YAML file llm360 writes (so a rerun may replace its own file)
MOT_HEADER = "# Model Openness Tool record written by llm360 audit\n"

_CODE_LINKS = ("code", "repository", "github", "source")
_REPORT_LINKS = ("technical_report", "report", "tech_report")
_PAPER_LINKS = ("paper", "research_paper", "arxiv")
_SAMPLE_LINKS = ("samples", "sample_outputs")
_DATASET_LINKS = ("hub_dataset", "dataset", "huggingface_dataset", "data")


@dataclass(frozen=True, kw_only=True)
class ComponentResult:
    key: str
    name: str
    mof_class: int
    required: bool
    content_type: str
    present: bool
    evidence: str
    location: str | None
    license: str
    license_open: bool
    type_appropriate: bool

    @property
    def counts(self) -> bool:
        """Present under an open license."""
        return self.present and self.license_open

    def reason(self) -> str:
        """Why it does not count (empty when it does)."""
        if not self.present:
            return self.evidence
        if not self.license_open:
            return f"license {self.license} is not an open license"
        return ""

    def as_data(self) -> dict[str, Any]:
        return {"key": self.key, "name": self.name, "class": self.mof_class,
                "required": self.required, "content_type": self.content_type,
                "present": self.present, "evidence": self.evidence, "location": self.location,
                "license": self.license, "license_open": self.license_open,
                "type_appropriate": self.type_appropriate, "counts": self.counts}


@dataclass(frozen=True, kw_only=True)
class SourceLicense:
    """The data sources of a mixture under one license, and the tokens they trained."""

    license: str
    open: bool
    sources: tuple[str, ...]
    tokens: int

    def as_data(self) -> dict[str, Any]:
        return {"license": self.license, "open": self.open, "sources": list(self.sources),
                "tokens": self.tokens}


@dataclass(frozen=True, kw_only=True)
class AuditResult:
    release: str
    version: str
    schema_version: str
    components: tuple[ComponentResult, ...]
    mof_class: int
    next_class: int | None
    missing: tuple[tuple[str, str], ...]  # (component name, why) standing between it and next
    optional_missing: tuple[tuple[str, str], ...]
    source_licenses: tuple[SourceLicense, ...] = ()   # a mixture's sources, by license

    @property
    def label(self) -> str:
        return CLASS_LABELS[self.mof_class]

    def component(self, key: str) -> ComponentResult:
        return next(c for c in self.components if c.key == key)

    def as_data(self) -> dict[str, Any]:
        return {"release": self.release, "version": self.version,
                "schema_version": self.schema_version, "class": self.mof_class,
                "label": self.label, "next_class": self.next_class,
                "next_label": CLASS_LABELS[self.next_class] if self.next_class else None,
                "missing_for_next": [{"component": n, "why": w} for n, w in self.missing],
                "optional_missing": [{"component": n, "why": w}
                                     for n, w in self.optional_missing],
                "source_licenses": [s.as_data() for s in self.source_licenses],
                "components": [c.as_data() for c in self.components]}


def _link(links: Mapping[str, str], keys: tuple[str, ...]) -> str | None:
    for key in keys:
        if links.get(key):
            return links[key]
    return None


def _presence(manifest: Manifest, release_files: set[str]) -> dict[str, tuple[bool, str,
                                                                               str | None]]:
    """component key -> (present, evidence or why not, location)."""
    arts = {a.path: a for a in manifest.artifacts}
    links = dict(manifest.release.links)
    code_at = manifest.code.repository or _link(links, _CODE_LINKS)
    with_weights = [c for c in manifest.checkpoints
                    if any(f in arts and arts[f].kind == "weights" for f in c.files)]
    final = final_checkpoint(manifest)
    no_code = ("no code repository is recorded (code.repository or release.links.code), and "
               "the release holds no source archive of it")
    archive = manifest.code.archive

    def code(key: str, evidence_ok: bool, what: str, found: str
             ) -> tuple[bool, str, str | None]:
        if archive is not None and archive.path in arts and key in archive.components:
            # the code itself, in the release
            return (True, f"{archive.components[key]} in {archive.path} ({archive.package} "
                    f"{archive.version})", archive.path)
        if not code_at:
            return False, no_code, None
        if not evidence_ok:
            return False, what, code_at
        return True, found, code_at

    out: dict[str, tuple[bool, str, str | None]] = {}
    out["model_architecture"] = code(
        "model_architecture", manifest.model.config in arts,
        f"{manifest.model.config} is not an artifact",
        f"{manifest.model.architecture}, config {manifest.model.config}")
    data_cfg = manifest.training.data_config
    out["data_preprocessing_code"] = code(
        "data_preprocessing_code", bool(data_cfg) and data_cfg in arts,
        "no data config (training.data_config) records the preprocessing recipe",
        f"recipe in {data_cfg}")
    out["training_code"] = code("training_code", manifest.training.config in arts,
                                f"{manifest.training.config} is not an artifact",
                                f"config {manifest.training.config}")
    infer_cfg = [f for f in (final.files if final else ()) if arts.get(f) is not None
                 and arts[f].kind == "checkpoint_config"]
    out["inference_code"] = code("inference_code", bool(infer_cfg), "the final checkpoint has "
                                 "no config.json to load it with",
                                 f"loads with {infer_cfg[0]}" if infer_cfg else "")
    out["evaluation_code"] = code("evaluation_code", bool(manifest.evals),
                                  "no evaluations are released",
                                  f"{len(manifest.evals)} evaluation records")
    if manifest.code.packages:
        out["supporting_libraries"] = (True, f"versions of {len(manifest.code.packages)} packages "
                                       "recorded", manifest.code.provenance)
    else:
        out["supporting_libraries"] = (False, "no package versions are recorded", None)
    final_weights = [f for f in (final.files if final else ())
                     if arts.get(f) is not None and arts[f].kind == "weights"]
    out["model_parameters_final"] = (
        (True, f"{final.name}: {final_weights[0]}", final_weights[0])
        if final is not None and final_weights
        else (False, "the final checkpoint has no weights" if final else "no checkpoints",
              None))
    if len(with_weights) >= 2:
        out["model_parameters_intermediate"] = (
            True, f"{len(with_weights)} checkpoints with weights", layout.CHECKPOINTS_DIR + "/")
    else:
        out["model_parameters_intermediate"] = (
            False, f"{len(with_weights)} checkpoint(s) with weights; intermediate parameters "
            "need at least two", None)
    chunks = manifest.data.chunks
    listed = [c for c in chunks if c.path in arts]
    dataset_link = _link(links, _DATASET_LINKS)
    if chunks and len(listed) == len(chunks):
        out["datasets"] = (True, f"{len(chunks)} data chunks, "
                           f"{sum(c.tokens for c in chunks):,} tokens", manifest.data.index)
    elif dataset_link:
        out["datasets"] = (True, "data in the dataset repository", dataset_link)
    else:
        out["datasets"] = (False, "no data chunks are released" if not listed else
                           f"{len(chunks) - len(listed)} of {len(chunks)} data chunks are not "
                           "released", None)
    train_paths = {c.path for c in chunks}
    heldout = sorted(a.path for a in manifest.artifacts
                     if a.kind == "data_chunk" and a.path not in train_paths)
    out["evaluation_data"] = ((True, f"held-out data {heldout[0]}", heldout[0]) if heldout
                              else (False, "no held-out data is released", None))
    out["evaluation_results"] = ((True, f"{len(manifest.evals)} evaluation records",
                                  manifest.evals[0]) if manifest.evals
                                 else (False, "no evaluation results are released", None))
    card, data_card = layout.MODEL_CARD, layout.DATA_CARD
    out["model_card"] = ((True, card, card) if card in release_files
                         else (False, f"no model card ({card}) beside the manifest", None))
    out["data_card"] = ((True, data_card, data_card) if data_card in release_files
                        else (False, f"no data card ({data_card}) beside the manifest", None))
    for key, keys, what in (("technical_report", _REPORT_LINKS, "technical report"),
                            ("research_paper", _PAPER_LINKS, "paper"),
                            ("sample_model_outputs", _SAMPLE_LINKS, "sample outputs")):
        url = _link(links, keys)
        out[key] = ((True, url, url) if url else
                    (False, f"no {what} link (release.links.{keys[0]})", None))
    no_optim = [c.name for c in with_weights
                if not any(arts.get(f) is not None and arts[f].kind == "optimizer"
                           for f in c.files)]
    if manifest.training.config not in arts:
        out["model_metadata"] = (False, "no training config is released", None)
    elif no_optim or not with_weights:
        out["model_metadata"] = (False, "no optimizer state in " + (", ".join(no_optim)
                                                                    or "any checkpoint"), None)
    else:
        out["model_metadata"] = (True, f"{manifest.training.config} and optimizer state in "
                                 f"{len(with_weights)} checkpoints", manifest.training.config)
    return out


def _source_licenses(manifest: Manifest) -> tuple[SourceLicense, ...]:
    """A mixture's sources grouped by license, with the tokens the chunks hold of them."""
    mixture = manifest.data.mixture
    if mixture is None:
        return ()
    tokens: dict[str, int] = {}
    for chunk in manifest.data.chunks:
        for name, count in (chunk.sources or {}).items():
            tokens[name] = tokens.get(name, 0) + count.tokens
    by_license: dict[str, list[str]] = {}
    for source in mixture.sources:
        by_license.setdefault(source.license, []).append(source.name)
    return tuple(SourceLicense(license=spdx, open=is_open_license(spdx), sources=tuple(names),
                               tokens=sum(tokens.get(n, 0) for n in names))
                 for spdx, names in sorted(by_license.items()))


def _licenses(manifest: Manifest) -> dict[str, str]:
    """Each component's license; a mixture's data (trained and held out) is under all of
    its sources' licenses at once."""
    lic = manifest.release.licenses
    four = {"weights": lic.weights, "code": lic.code, "data": lic.data,
            "documentation": lic.documentation}
    out = default_component_licenses(four, lic.components)
    sources = _source_licenses(manifest)
    if sources:
        joined = " AND ".join(s.license for s in sources)
        out.update(datasets=joined, evaluation_data=joined)
    return out


def grade(manifest: Manifest, *, release_files: set[str] | frozenset[str] = frozenset()
          ) -> AuditResult:
    """The MOF grade of ``manifest``; ``release_files`` are the names present beside it
    (``README.md``, ``DATA_CARD.md``)."""
    presence = _presence(manifest, set(release_files))
    licenses = _licenses(manifest)
    results = []
    for comp in COMPONENTS:
        present, evidence, location = presence[comp.key]
        spdx = licenses[comp.key]
        results.append(ComponentResult(
            key=comp.key, name=comp.name, mof_class=comp.mof_class, required=comp.required,
            content_type=comp.content_type, present=present, evidence=evidence,
            location=location, license=spdx, license_open=is_open_license(spdx),
            type_appropriate=is_type_appropriate(spdx, comp.content_type)))
    by_key = {r.key: r for r in results}
    reached = 0
    for cls in (3, 2, 1):
        if _blocking(by_key, cls):
            break
        reached = cls
    nxt = None if reached == 1 else (3 if reached == 0 else reached - 1)
    missing = tuple(_blocking(by_key, nxt)) if nxt else ()
    optional = tuple((r.name, r.reason()) for r in results if not r.required and not r.counts)
    return AuditResult(release=manifest.release.name, version=manifest.release.version,
                       schema_version=manifest.schema_version, components=tuple(results),
                       mof_class=reached, next_class=nxt, missing=missing,
                       optional_missing=optional, source_licenses=_source_licenses(manifest))


def audit_release(source: OpenedRelease) -> AuditResult:
    """Grade an opened release (its manifest, and the cards beside it)."""
    present = {name for name in (layout.MODEL_CARD, layout.DATA_CARD)
               if source.release_file(name)}
    return grade(source.manifest, release_files=present)


def _blocking(by_key: dict[str, ComponentResult], cls: int) -> list[tuple[str, str]]:
    """(name, why) of each required component of ``cls`` and the classes above that does not
    count; a counting research paper stands in for the technical report."""
    out = []
    for comp in COMPONENTS:
        r = by_key[comp.key]
        if not comp.required or comp.mof_class < cls or r.counts:
            continue
        if comp.key == "technical_report" and by_key["research_paper"].counts:
            continue
        name = r.name + (" (or a research paper)" if comp.key == "technical_report" else "")
        out.append((name, r.reason()))
    return out


def _architecture(arch: str) -> str:
    return "transformer decoder" if arch.endswith(("ForCausalLM", "LMHeadModel")) else "other"


def mot_record(manifest: Manifest, result: AuditResult) -> dict[str, Any]:
    """The Model Openness Tool's YAML record (lfai/model_openness_tool ``schema/
    mof_schema.json``): ``framework`` and ``release`` with its licenses and the components
    the release includes."""
    release = manifest.release
    links = dict(release.links)
    lic = release.licenses
    record_release: dict[str, Any] = {
        "name": release.name,
        "version": release.version,
        "date": release.created[:10],
        "type": "language",
        "architecture": _architecture(manifest.model.architecture),
        "treatment": "pre-trained",
        "origin": release.name,
        "producer": ", ".join(release.authors),
        "contact": links.get("contact", ""),
    }
    repo = manifest.code.repository or _link(links, _CODE_LINKS)
    if repo:
        record_release["repository"] = repo
    hub = _link(links, ("hub", "huggingface"))
    if hub:
        record_release["huggingface"] = hub
    record_release["license"] = {
        "distribution": {"name": lic.weights, "path": ""},
        "code": {"name": lic.code, "path": ""},
        "data": {"name": lic.data, "path": ""},
        "document": {"name": lic.documentation, "path": ""},
    }
    record_release["components"] = [
        {"name": r.name, "description": _description(r.key), "license": r.license,
         "license_path": "", "component_path": r.location or ""}
        for r in result.components if r.present]
    return {"framework": dict(FRAMEWORK), "release": record_release}


def _description(key: str) -> str:
    comp: Component = next(c for c in COMPONENTS if c.key == key)
    return comp.description


def write_mot_yaml(path: Path, record: Mapping[str, Any]) -> Path:
    """Write the MOT record as YAML (atomically); a file llm360 did not write is never
    replaced."""
    path = Path(path)
    if path.exists():
        try:
            ours = path.is_file() and path.read_text("utf-8").startswith(MOT_HEADER)
        except (OSError, UnicodeDecodeError):
            ours = False
        if not ours:
            raise InputError(f"{path}: exists and was not written by llm360 audit; refusing to "
                             "overwrite it", hint="choose another --mot-yaml path")
    text = MOT_HEADER + yaml.safe_dump(record, sort_keys=False, allow_unicode=True, width=100)
    write_atomic(path, text.encode("utf-8"))
    return path
