"""A CycloneDX 1.6 ML-BOM of the release.

The release's model (``metadata.component``) and each checkpoint are ``machine-learning-model``
components with a ``modelCard``: approach, task, architecture, the datasets (by reference: the
chunks it has seen, the held-out set and benchmarks it was evaluated on) and its metrics; a
checkpoint holds its files (``file`` components with their sha256) and names its parents as
``pedigree`` ancestors. The data chunks, the held-out set, the benchmarks and the tokenizer are
``data`` components, the training code and the recorded libraries ``application`` and
``library`` components; ``dependencies`` say what each checkpoint was made from.

cyclonedx-python-lib does not implement model cards or data components yet, so the JSON is
written here; the tests validate it with the CycloneDX 1.6 JSON schema that library ships.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from llm360.registry.analysis.exports._common import (
    TOOL,
    ReleaseFacts,
    canonical_license,
    document_uuid,
    hub_branch_url,
    hub_dataset_url,
    hub_file_url,
)
from llm360.registry.manifest.models import Artifact, Checkpoint, Manifest, final_checkpoint

__all__ = ["SPEC_VERSION", "document"]

SPEC_VERSION = "1.6"
_LINK_TYPES = {"code": "vcs", "repository": "vcs", "paper": "documentation",
               "homepage": "website", "website": "website", "hub": "distribution",
               "huggingface": "distribution"}


def _licenses(spdx: str) -> list[dict[str, Any]]:
    canonical = canonical_license(spdx)
    return [{"expression": canonical}] if canonical else [{"license": {"name": spdx}}]


def _hashes(art: Artifact) -> list[dict[str, str]]:
    return [{"alg": "SHA-256", "content": art.sha256}]


def _props(**values: Any) -> list[dict[str, str]]:
    return [{"name": f"llm360:{k}", "value": str(v)} for k, v in values.items()
            if v is not None]


def _ref(kind: str, local: str = "") -> str:
    return f"{kind}:{local}" if local else kind


def _model_card(facts: ReleaseFacts, ckpt: Checkpoint | None, ref: str) -> dict[str, Any]:
    """The model card (bom-ref ``ref``) of ``ckpt`` (None: a release without checkpoints)."""
    m = facts.manifest
    datasets: list[str] = []
    metrics: list[dict[str, str]] = []
    props: dict[str, Any] = {"parameters": m.model.parameters}
    if ckpt is not None:
        datasets = [_ref("chunk", str(k)) for k in facts.seen[ckpt.name]]
        tested: set[str] = set()
        for meas in facts.measured(ckpt):
            if meas.eval_set is None:
                props[meas.key] = repr(meas.value)  # a training metric, not a performance one
                continue
            metrics.append({"type": meas.eval_set.metric_type(meas.key),
                            "value": repr(meas.value), "slice": meas.eval_set.name})
            if meas.eval_set.key == "heldout" and facts.heldout is not None:
                tested.add(_ref("heldout"))
            elif meas.eval_set.key.startswith("benchmark:"):
                tested.add(_ref("benchmark", meas.eval_set.hub_type))
        datasets += sorted(tested)
    params: dict[str, Any] = {
        "approach": {"type": "self-supervised"}, "task": "text-generation",
        "modelArchitecture": m.model.architecture,
        "inputs": [{"format": f"token ids (int32, rows of {m.data.seq_len})"}],
        "outputs": [{"format": "next-token logits over the vocabulary"}]}
    if datasets:
        params["datasets"] = [{"ref": d} for d in datasets]
    card: dict[str, Any] = {
        "bom-ref": ref, "modelParameters": params,
        "properties": _props(**props)}
    if metrics:
        card["quantitativeAnalysis"] = {"performanceMetrics": metrics}
    return card


def _ancestor(m: Manifest, name: str) -> dict[str, Any]:
    """A parent checkpoint: of this release, or of the release it continues (manifest v1.3
    ``derived_from``: referenced, so not a component of this BOM)."""
    link, rel = m.derived_from, m.release
    if m.checkpoint(name) is None and link is not None and link.checkpoint.name == name:
        return {"type": "machine-learning-model", "group": link.release.name, "name": name,
                "version": link.release.version, "properties": _props(
                    root_digest=link.checkpoint.root_digest, relation=link.relation,
                    manifest_sha256=link.release.manifest_sha256, repo=link.release.repo)}
    parent = m.checkpoint(name)
    return {"type": "machine-learning-model", "group": rel.name, "name": name,
            "version": rel.version,
            "properties": _props(root_digest=parent.root_digest if parent else None)}


def _checkpoint(facts: ReleaseFacts, ckpt: Checkpoint) -> dict[str, Any]:
    m = facts.manifest
    rel = m.release
    out: dict[str, Any] = {
        "type": "machine-learning-model", "bom-ref": _ref("checkpoint", ckpt.name),
        "group": rel.name, "name": ckpt.name, "version": rel.version,
        "description": f"Checkpoint {ckpt.name}: step {ckpt.step}, {ckpt.tokens_seen} tokens "
                       "seen.",
        "licenses": _licenses(rel.licenses.weights),
        "components": [{"type": "file", "name": a.path, "hashes": _hashes(a)}
                       for a in (m.artifact(p) for p in ckpt.files) if a is not None],
        "modelCard": _model_card(facts, ckpt, _ref("model-card", ckpt.name)),
        "properties": _props(step=ckpt.step, tokens_seen=ckpt.tokens_seen,
                             root_digest=ckpt.root_digest,
                             data_chunks=",".join(str(k) for k in ckpt.data_chunks)),
    }
    if ckpt.parents:
        out["pedigree"] = {"ancestors": [_ancestor(m, p) for p in ckpt.parents]}
    if facts.hub_repo:
        out["externalReferences"] = [{"type": "distribution",
                                      "url": hub_branch_url(facts.hub_repo, ckpt.name)}]
    return out


def _data(facts: ReleaseFacts, ref: str, art: Artifact, kind: str, description: str,
          **props: Any) -> dict[str, Any]:
    """A ``data`` component of the release's own data (under its data license)."""
    url = hub_file_url(facts.hub_data_repo, art.path) if facts.hub_data_repo else art.path
    return {"type": "data", "bom-ref": ref, "name": art.path,
            "version": facts.manifest.release.version, "hashes": _hashes(art),
            "licenses": _licenses(facts.manifest.release.licenses.data),
            "data": [{"type": kind, "name": art.path, "description": description,
                      "contents": {"url": url, "properties": _props(size=art.size, **props)}}]}


def _data_components(facts: ReleaseFacts) -> list[dict[str, Any]]:
    m = facts.manifest
    out = [_data(facts, _ref("chunk", str(c.index)), facts.chunk_artifact(c.path), "dataset",
                 f"Data chunk {c.index}: {c.sequences} rows of {m.data.seq_len} int32 token "
                 "ids, in training order.", sequences=c.sequences, tokens=c.tokens,
                 merkle_root=c.merkle_root, merkle_format=m.data.merkle_format)
           for c in m.data.chunks]
    if facts.heldout is not None:
        out.append(_data(facts, _ref("heldout"), facts.heldout, "dataset",
                         f"The held-out set: rows of {m.data.seq_len} int32 token ids no "
                         "checkpoint trained on."))
    tokenizer = m.artifact(m.model.tokenizer) if m.model.tokenizer else None
    if tokenizer is not None:  # no license of its own is recorded
        token = _data(facts, _ref("tokenizer"), tokenizer, "definition",
                      "The tokenizer that turned the corpus into token ids.")
        del token["licenses"]
        out.append(token)
    for bench in facts.benchmarks():
        url = hub_dataset_url(bench.hub_type)
        out.append({"type": "data", "bom-ref": _ref("benchmark", bench.hub_type),
                    "name": bench.name,
                    "data": [{"type": "dataset", "name": bench.hub_type,
                              "description": f"Benchmark {bench.name}"
                                             + (f", split {bench.split}" if bench.split
                                                else ""),
                              "contents": {"url": url}}],
                    "externalReferences": [{"type": "distribution", "url": url}]})
    return out


def _code_components(facts: ReleaseFacts) -> list[dict[str, Any]]:
    code = facts.manifest.code
    out = []
    if code.repository or code.commit:
        app: dict[str, Any] = {"type": "application", "bom-ref": _ref("training-code"),
                               "name": code.repository or "training code",
                               "properties": _props(dirty=code.dirty)}
        if code.commit:
            app["version"] = code.commit
        if code.repository:
            app["externalReferences"] = [{"type": "vcs", "url": code.repository}]
        out.append(app)
    for name, version in sorted(code.packages.items()):
        out.append({"type": "library", "bom-ref": _ref("package", name), "name": name,
                    "version": version,
                    "purl": f"pkg:pypi/{name.lower().replace('_', '-')}@{quote(version, safe='')}"})
    return out


def _external_references(facts: ReleaseFacts) -> list[dict[str, str]]:
    out = []
    for key, url in sorted(facts.manifest.release.links.items()):
        ref = {"type": _LINK_TYPES.get(key, "other"), "url": url}
        if ref["type"] in ("other", "documentation"):
            ref["comment"] = key
        out.append(ref)
    if facts.hub_data_repo:
        out.append({"type": "distribution", "url": hub_dataset_url(facts.hub_data_repo),
                    "comment": "the pretraining data"})
    return out


def document(facts: ReleaseFacts) -> dict[str, Any]:
    """The CycloneDX 1.6 JSON of the release."""
    m = facts.manifest
    rel = m.release
    final = final_checkpoint(m)
    model: dict[str, Any] = {
        "type": "machine-learning-model", "bom-ref": _ref("model"), "name": rel.name,
        "version": rel.version, "licenses": _licenses(rel.licenses.weights),
        "modelCard": _model_card(facts, final, _ref("model-card")),
        "properties": _props(final_checkpoint=final.name if final else None,
                             manifest_sha256=facts.manifest_sha256,
                             code_license=rel.licenses.code,
                             documentation_license=rel.licenses.documentation)}
    if rel.description:
        model["description"] = rel.description
    if rel.authors:
        model["authors"] = [{"name": a} for a in rel.authors]
    refs = _external_references(facts)
    if refs:
        model["externalReferences"] = refs
    code = _code_components(facts)
    code_refs = [c["bom-ref"] for c in code]
    dependencies = []
    if final is not None:
        dependencies.append({"ref": _ref("model"), "dependsOn": [_ref("checkpoint",
                                                                      final.name)]})
    for ckpt in m.checkpoints:
        made_of = ([_ref("checkpoint", p) for p in ckpt.parents if m.checkpoint(p)]
                   + [_ref("chunk", str(k)) for k in ckpt.data_chunks] + code_refs)
        dependencies.append({"ref": _ref("checkpoint", ckpt.name), "dependsOn": made_of})
    bom: dict[str, Any] = {
        "bomFormat": "CycloneDX", "specVersion": SPEC_VERSION,
        "serialNumber": f"urn:uuid:{document_uuid(facts, 'cyclonedx')}", "version": 1,
        "metadata": {"timestamp": rel.created, "component": model,
                     "tools": {"components": [{"type": "application", "name": TOOL,
                                               "version": facts.tool_version}]}},
        "components": ([_checkpoint(facts, c) for c in m.checkpoints]
                       + _data_components(facts) + code),
        "dependencies": [d for d in dependencies if d["dependsOn"]],
    }
    return bom
