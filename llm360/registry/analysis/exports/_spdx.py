"""SPDX 3.0.1 (JSON-LD; Core, Software, AI, Dataset and SimpleLicensing profiles).

An ``ai_AIPackage`` per checkpoint (the sha256 of each of its files, its metrics and how it was
trained), a ``dataset_DatasetPackage`` per data chunk, for the held-out set and per benchmark,
and the relationships between them: ``trainedOn`` (a checkpoint -> every chunk it has seen,
through its ancestors), ``ancestorOf`` (a parent -> its children), ``testedOn`` (a checkpoint
-> the held-out set and the benchmarks it was evaluated on) and ``hasDeclaredLicense``. Every
element shares one ``CreationInfo`` (the release's ``created``, its authors, llm360).
Identifiers are ``urn:llm360:<manifest sha256>:...``: fixed by the signed manifest.
"""

from __future__ import annotations

import re
from typing import Any

from llm360.registry.analysis import lineage
from llm360.registry.analysis.exports._common import (
    TOOL,
    ReleaseFacts,
    canonical_license,
    collection_text,
    hub_branch_url,
    hub_dataset_url,
    hub_file_url,
    ordered,
    preprocessing_steps,
)
from llm360.registry.manifest.models import Artifact, Checkpoint, final_checkpoint

__all__ = ["CONTEXT", "SPEC_VERSION", "document"]

CONTEXT = "https://spdx.org/rdf/3.0.1/spdx-context.jsonld"
SPEC_VERSION = "3.0.1"
PROFILES = ["core", "software", "ai", "dataset", "simpleLicensing"]
CREATION = "_:creationinfo"


def _hash(sha256: str, path: str | None = None) -> dict[str, Any]:
    out = {"type": "Hash", "algorithm": "sha256", "hashValue": sha256}
    if path:
        out["comment"] = path
    return out


def _license_expression(spdx: str) -> str:
    """An SPDX expression; a license SPDX does not list becomes a ``LicenseRef-``."""
    return canonical_license(spdx) or "LicenseRef-" + (re.sub(r"[^A-Za-z0-9.-]+", "-", spdx)
                                                       .strip("-") or "unknown")


class _Graph:
    """The ``@graph`` being built, and the ids of what it holds."""

    def __init__(self, facts: ReleaseFacts) -> None:
        self.facts = facts
        self.elements: list[dict[str, Any]] = []
        self.relationships: list[dict[str, Any]] = []
        self.licenses: dict[str, dict[str, Any]] = {}

    def add(self, kind: str, local: str, type_: str, **props: Any) -> str:
        spdx_id = self.facts.id(kind, local)
        self.elements.append({"type": type_, "spdxId": spdx_id, "creationInfo": CREATION,
                              **{k: v for k, v in props.items() if v not in (None, [], "")}})
        return spdx_id

    def relate(self, source: str, rel: str, targets: list[str]) -> None:
        if not targets:
            return
        number = str(len(self.relationships))
        self.relationships.append({"type": "Relationship", "spdxId": self.facts.id(
            "relationship", number), "creationInfo": CREATION, "from": source,
            "relationshipType": rel, "to": targets})

    def license(self, element: str, spdx: str) -> None:
        expr = _license_expression(spdx)
        if expr not in self.licenses:
            self.licenses[expr] = {"type": "simplelicensing_LicenseExpression",
                                   "spdxId": self.facts.id("license", expr),
                                   "creationInfo": CREATION,
                                   "simplelicensing_licenseExpression": expr}
        self.relate(element, "hasDeclaredLicense", [self.licenses[expr]["spdxId"]])


def _training_text(facts: ReleaseFacts, ckpt: Checkpoint) -> str:
    m = facts.manifest
    parents = f" from {', '.join(ckpt.parents)}" if ckpt.parents else " from initialization"
    chunks = ", ".join(str(k) for k in ckpt.data_chunks) or "none"
    return (f"Pretrained{parents} on data chunks {chunks} (the rows in order): step "
            f"{ckpt.step}, {ckpt.tokens_seen} tokens seen; backend {m.training.backend}, "
            f"{m.training.precision}, world size {m.training.world_size}. OMS root digest of "
            f"its files: {ckpt.root_digest}.")


def _checkpoint(g: _Graph, ckpt: Checkpoint, agents: list[str]) -> str:
    facts, m = g.facts, g.facts.manifest
    rel = m.release
    params = {"backend": m.training.backend, "precision": m.training.precision,
              "world_size": str(m.training.world_size)}
    if m.training.seed is not None:
        params["seed"] = str(m.training.seed)
    hashes = [_hash(a.sha256, a.path) for a in (m.artifact(p) for p in ckpt.files) if a]
    return g.add(
        "checkpoint", ckpt.name, "ai_AIPackage", name=f"{rel.name} {ckpt.name}",
        summary=f"Checkpoint {ckpt.name} of {rel.name} {rel.version}",
        software_packageVersion=rel.version, software_primaryPurpose="model",
        releaseTime=rel.created, suppliedBy=agents[0], originatedBy=agents,
        software_downloadLocation=(hub_branch_url(facts.hub_repo, ckpt.name)
                                   if facts.hub_repo else None),
        verifiedUsing=hashes, ai_typeOfModel=[m.model.architecture],
        ai_informationAboutTraining=_training_text(facts, ckpt),
        ai_hyperparameter=[{"type": "DictionaryEntry", "key": k, "value": v}
                           for k, v in sorted(params.items())],
        ai_metric=[{"type": "DictionaryEntry", "key": k, "value": repr(float(v))}
                   for k, v in sorted(ckpt.metrics.items())])


def _dataset(g: _Graph, kind: str, local: str, art: Artifact, description: str,
             agents: list[str], use: str) -> str:
    facts = g.facts
    rel = facts.manifest.release
    return g.add(
        kind, local, "dataset_DatasetPackage", name=art.path, description=description,
        software_packageVersion=rel.version, software_primaryPurpose="data",
        releaseTime=rel.created, suppliedBy=agents[0], originatedBy=agents,
        software_downloadLocation=(hub_file_url(facts.hub_data_repo, art.path)
                                   if facts.hub_data_repo else None),
        verifiedUsing=[_hash(art.sha256)], dataset_datasetType=["text"],
        dataset_datasetSize=art.size, dataset_intendedUse=use,
        dataset_dataCollectionProcess=collection_text(facts),
        dataset_dataPreprocessing=list(preprocessing_steps(facts)))


def document(facts: ReleaseFacts) -> dict[str, Any]:
    """The SPDX 3.0.1 JSON-LD document of the release."""
    m = facts.manifest
    rel = m.release
    g = _Graph(facts)
    authors = list(rel.authors) or ["unrecorded (llm360.yaml names no authors)"]
    agents = [g.add("agent", a, "Agent", name=a) for a in authors]
    tool = g.add("tool", TOOL, "Tool", name=f"{TOOL} {facts.tool_version}")
    chunk_ids = {}
    for chunk in m.data.chunks:
        art = facts.chunk_artifact(chunk.path)
        chunk_ids[chunk.index] = _dataset(
            g, "chunk", str(chunk.index), art,
            f"Data chunk {chunk.index} of {rel.name}: {chunk.sequences} rows of "
            f"{m.data.seq_len} int32 token ids, {chunk.tokens} tokens, Merkle root "
            f"({m.data.merkle_format}) {chunk.merkle_root}.", agents,
            "Language-model pretraining (rows in training order).")
        g.license(chunk_ids[chunk.index], rel.licenses.data)
    heldout = None
    if facts.heldout is not None:
        heldout = _dataset(g, "heldout", "", facts.heldout,
                           f"The held-out set of {rel.name}: rows of {m.data.seq_len} int32 "
                           "token ids that no checkpoint trained on.", agents,
                           "Evaluation: held-out loss, perplexity and next-token accuracy.")
        g.license(heldout, rel.licenses.data)
    benchmarks = {}
    for bench in facts.benchmarks():
        dataset = bench.hub_type
        benchmarks[bench.key] = g.add(
            "benchmark", dataset, "dataset_DatasetPackage", name=bench.name,
            description=f"Benchmark {bench.name} (Hugging Face dataset {dataset}"
                        + (f", split {bench.split}" if bench.split else "") + ").",
            software_primaryPurpose="data", software_downloadLocation=hub_dataset_url(dataset),
            dataset_datasetType=["text"], dataset_intendedUse="Evaluation.")
    ckpt_ids = {}
    for ckpt in m.checkpoints:
        ckpt_ids[ckpt.name] = _checkpoint(g, ckpt, agents)
        g.license(ckpt_ids[ckpt.name], rel.licenses.weights)
    kids = lineage.children_map(m)
    for ckpt in m.checkpoints:
        me = ckpt_ids[ckpt.name]
        g.relate(me, "trainedOn", [chunk_ids[k] for k in facts.seen[ckpt.name]
                                   if k in chunk_ids])
        tested = set()
        for meas in facts.measured(ckpt):
            if meas.eval_set is None:
                continue
            if meas.eval_set.key == "heldout" and heldout is not None:
                tested.add(heldout)
            elif meas.eval_set.key in benchmarks:
                tested.add(benchmarks[meas.eval_set.key])
        g.relate(me, "testedOn", ordered(tested))
        children = [ckpt_ids[c] for c in kids.get(ckpt.name, ()) if c in ckpt_ids]
        g.relate(me, "ancestorOf", children)
    final = final_checkpoint(m)
    elements = g.elements + list(g.licenses.values()) + g.relationships
    doc_id = facts.id("document")
    spdx_doc = {"type": "SpdxDocument", "spdxId": doc_id, "creationInfo": CREATION,
                "name": f"{rel.name} {rel.version}", "profileConformance": PROFILES,
                "element": [e["spdxId"] for e in elements],
                "rootElement": [ckpt_ids[final.name]] if final else [agents[0]]}
    if rel.description:
        spdx_doc["description"] = rel.description
    spdx_doc["comment"] = f"llm360 manifest.json sha256 {facts.manifest_sha256}"
    creation = {"type": "CreationInfo", "@id": CREATION, "created": rel.created,
                "createdBy": agents, "createdUsing": [tool], "specVersion": SPEC_VERSION}
    return {"@context": CONTEXT, "@graph": [creation, spdx_doc, *elements]}
