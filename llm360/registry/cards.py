"""Manifest -> model card (README.md), checkpoint cards, data card and plots.

Everything is rendered from the manifest alone plus the run files it lists (configs, data index,
logs), each checked against its manifest sha256 before it is used. A fact that is not there is
left out of the cards, never filled in. Templates live in ``llm360/templates`` (jinja2,
``StrictUndefined``); the Hugging Face metadata header is built and checked with
``huggingface_hub`` (imported inside the functions that need it).
"""

from __future__ import annotations

import hashlib
import json
import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from llm360.errors import InputError, Llm360Error, VerificationError
from llm360.registry import _plots, lineage
from llm360.registry._files import resolve_inside, write_atomic
from llm360.registry.models import Checkpoint, Manifest
from llm360.registry.serialize import manifest_from_bytes, parse_json
from llm360.registry.signing._describe import SignatureInfo, describe_signature
from llm360.registry.signing._verify import BUNDLE_FILE

__all__ = ["CardResult", "SignatureInfo", "cards_step", "describe_signature", "render_cards",
           "render_files", "write_cards"]


_METRIC_LABELS = {
    "train_loss": "Train loss", "heldout_loss": "Held-out loss",
    "heldout_perplexity": "Held-out perplexity", "memorization": "Memorization score",
    "next_token_accuracy": "Next-token accuracy", "eval_loss": "Eval loss",
}
_TABLE_METRICS = ("train_loss", "heldout_perplexity", "memorization")
#: Hub license ids that an SPDX id maps to by lower-casing; anything else is "other"
_HUB_LICENSES = frozenset(
    "apache-2.0 mit openrail afl-3.0 artistic-2.0 bsl-1.0 bsd bsd-2-clause bsd-3-clause "
    "bsd-3-clause-clear cc cc0-1.0 cc-by-2.0 cc-by-2.5 cc-by-3.0 cc-by-4.0 cc-by-sa-3.0 "
    "cc-by-sa-4.0 cc-by-nc-2.0 cc-by-nc-3.0 cc-by-nc-4.0 cc-by-nd-4.0 cc-by-nc-nd-3.0 "
    "cc-by-nc-nd-4.0 cc-by-nc-sa-2.0 cc-by-nc-sa-3.0 cc-by-nc-sa-4.0 cdla-sharing-1.0 "
    "cdla-permissive-1.0 cdla-permissive-2.0 wtfpl ecl-2.0 epl-1.0 epl-2.0 eupl-1.1 eupl-1.2 "
    "agpl-3.0 gfdl gpl gpl-2.0 gpl-3.0 lgpl lgpl-2.1 lgpl-3.0 isc lppl-1.3c ms-pl mpl-2.0 "
    "odc-by odbl osl-3.0 postgresql ofl-1.1 ncsa unlicense zlib pddl".split())


@dataclass(frozen=True, kw_only=True)
class CardResult:
    """What ``render_cards`` wrote: the folder and the relative paths of its files."""

    out_dir: Path
    files: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class _RunInputs:
    train_config: dict | None = None
    data_config: dict | None = None
    data_index: dict | None = None
    log_records: tuple[dict, ...] = ()


# ---- entry points --------------------------------------------------------------------------

def render_cards(manifest_path: Path, out_dir: Path, *, root: Path | None = None) -> CardResult:
    """Render every card and plot of the release at ``manifest_path`` into ``out_dir``.

    ``root`` holds the run files (default: the release folder itself, which holds every
    artifact; a metadata-only release needs its run directory); the signature bundle is looked
    for beside the manifest.
    """
    manifest_path = Path(manifest_path)
    if manifest_path.is_dir():
        manifest_path = manifest_path / "manifest.json"
    try:
        raw = manifest_path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{manifest_path}: manifest not found") from None
    manifest = manifest_from_bytes(raw, source=str(manifest_path))
    root = Path(root) if root is not None else manifest_path.parent
    signature = describe_signature(manifest_path.parent / BUNDLE_FILE)
    files = write_cards(manifest, raw, root, Path(out_dir), signature=signature,
                        signature_dir=manifest_path.parent)
    return CardResult(out_dir=Path(out_dir), files=tuple(files))


class CardsStep:
    """The build step that renders the cards and plots into the release being assembled."""

    name = "cards"

    def run(self, ctx) -> None:
        # the build has just validated these records and hashed their bytes: use them as read
        records = ctx.records
        logs = tuple(rec for rel in records.logs
                     for rec in _log_records(resolve_inside(records.root, rel).read_bytes()))
        inputs = _RunInputs(train_config=records.train_config, data_config=records.data_config,
                            data_index=records.data_index, log_records=logs)
        write_cards(ctx.manifest, ctx.manifest_bytes, records.root, ctx.release_dir,
                    signature=ctx.signature, signature_dir=ctx.release_dir, inputs=inputs)


def cards_step() -> CardsStep:
    """The cards ``BuildStep`` for ``build_release(steps=...)``."""
    return CardsStep()


def write_cards(manifest: Manifest, manifest_bytes: bytes, root: Path | None, out_dir: Path, *,
                signature: SignatureInfo, signature_dir: Path | None = None,
                inputs: _RunInputs | None = None) -> list[str]:
    """Render and write (atomically, file by file) the cards; returns the relative paths."""
    files = render_files(manifest, manifest_bytes, root, signature=signature,
                         signature_dir=signature_dir, inputs=inputs)
    out_dir = Path(out_dir)
    for rel, data in files.items():
        write_atomic(out_dir / rel, data)
    for rel in _plots.PLOT_FILES.values():  # a plot whose data is gone is not left behind
        if rel not in files and (out_dir / rel).is_file():
            (out_dir / rel).unlink()
    return sorted(files)


def render_files(manifest: Manifest, manifest_bytes: bytes, root: Path | None, *,
                 signature: SignatureInfo | None = None, signature_dir: Path | None = None,
                 inputs: _RunInputs | None = None) -> dict[str, bytes]:
    """Relative path -> bytes of README.md, DATA_CARD.md, cards/*.md and plots/*.png.

    ``inputs`` are the run's records when the caller already holds them verified; otherwise
    they are read from ``root`` and checked against the manifest's digests."""
    inputs = inputs if inputs is not None else _read_inputs(manifest, root)
    if signature is None:
        signature = describe_signature(Path(signature_dir) / BUNDLE_FILE if signature_dir
                                       else None)
    plots = _plots.render_plots(manifest, inputs.log_records)
    ctx = _context(manifest, manifest_bytes, inputs, signature, set(plots), signature_dir)
    env = _environment()
    out: dict[str, bytes] = {}
    out["README.md"] = _model_card(env, "model_card.md.j2", ctx, ctx["metadata"])
    for card in ctx["checkpoint_cards"]:
        page = dict(ctx, ckpt=card)
        out[f"cards/{card['name']}.md"] = _model_card(env, "checkpoint_card.md.j2", page,
                                                      card["metadata"])
    out["DATA_CARD.md"] = _data_card(env, ctx)
    out.update(plots)
    return out


# ---- inputs --------------------------------------------------------------------------------

def _read_listed(manifest: Manifest, root: Path | None, rel: str | None) -> bytes | None:
    """The bytes of a run file the manifest lists, checked against its sha256; None if absent."""
    if root is None or rel is None:
        return None
    art = manifest.artifact(rel)
    if art is None:
        return None
    path = resolve_inside(root, rel, where=rel)
    if not path.is_file():
        return None
    data = path.read_bytes()
    if hashlib.sha256(data).hexdigest() != art.sha256:
        raise VerificationError(f"{path}: sha256 differs from the manifest; refusing to render "
                                "cards from it", artifact=rel,
                                hint="run `llm360 verify` on the release, or pass the right --root")
    return data


def _log_records(raw: bytes) -> list[dict]:
    return [json.loads(line) for line in raw.splitlines() if line.strip()]


def _read_inputs(manifest: Manifest, root: Path | None) -> _RunInputs:
    def load(rel: str | None) -> dict | None:
        raw = _read_listed(manifest, root, rel)
        return parse_json(raw, source=rel or "") if raw is not None else None

    records: list[dict] = []
    for rel in manifest.logs:
        raw = _read_listed(manifest, root, rel)
        if raw is not None:
            records += _log_records(raw)
    return _RunInputs(train_config=load(manifest.training.config),
                      data_config=load(manifest.training.data_config),
                      data_index=load(manifest.data.index), log_records=tuple(records))


# ---- context -------------------------------------------------------------------------------

def _num(value) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return f"{int(value):,}" if abs(value) >= 1000 else f"{value:.1f}".rstrip("0")\
                .rstrip(".")
        return f"{value:,.1f}" if abs(value) >= 1000 else f"{value:.4g}"
    return str(value)


def _hub_id(url: str | None, *, dataset: bool = False) -> str | None:
    """ORG/NAME from a Hub URL (https://huggingface.co/ORG/NAME, .../datasets/ORG/NAME)."""
    if not url:
        return None
    parts = [p for p in urlparse(url).path.split("/") if p]
    if dataset:
        return "/".join(parts[1:3]) if len(parts) >= 3 and parts[0] == "datasets" else None
    if len(parts) >= 2 and parts[0] not in ("datasets", "spaces"):
        return "/".join(parts[:2])
    return None


def _first_link(links: Mapping[str, str], keys: tuple[str, ...], *, dataset: bool = False):
    for key in keys:
        found = _hub_id(links.get(key), dataset=dataset)
        if found:
            return found
    return None


def _license_fields(spdx: str) -> dict:
    hub = spdx.lower()
    return {"license": hub} if hub in _HUB_LICENSES else {"license": "other", "license_name": hub}


def _source(source) -> str:
    """One corpus source of config/data.json as a line: its fields as `key`: value pairs."""
    if isinstance(source, Mapping):
        return "; ".join(f"`{k}`: {v}" for k, v in _flatten(source))
    return str(source)


def _flatten(data: Mapping, prefix: str = "") -> list[tuple[str, str]]:
    rows = []
    for key in sorted(data):
        value = data[key]
        if isinstance(value, Mapping) and value:
            rows += _flatten(value, f"{prefix}{key}.")
        else:
            text = json.dumps(value, sort_keys=True) if isinstance(value, (list, dict)) \
                else _num(value) if value is not None else "null"
            rows.append((f"{prefix}{key}", text))
    return rows


def _eval_metrics(ckpt: Checkpoint) -> dict[str, float]:
    return {k: v for k, v in sorted(ckpt.metrics.items()) if not k.startswith("train_")}


def _verify_args(sig: SignatureInfo) -> str:
    if sig.method == "key":
        return "--key PUBLIC.pem"
    if sig.method == "sigstore":
        return (f"--identity {shlex.quote(sig.identity or 'ID')} "
                f"--issuer {shlex.quote(sig.issuer or 'URL')}")
    return "--allow-unsigned"


def _oms_command(sig: SignatureInfo, name: str) -> str | None:
    where = f"checkpoints/{name} --signature signatures/{name}/model.sig"
    if sig.method == "key":
        return f"model_signing verify key {where} --public_key PUBLIC.pem"
    if sig.method == "sigstore" and sig.identity and sig.issuer:
        return (f"model_signing verify sigstore {where} --identity {shlex.quote(sig.identity)} "
                f"--identity_provider {shlex.quote(sig.issuer)}")
    return None


def _metadata(manifest: Manifest, hub: dict, extra: dict, evals: dict, model_name: str) -> dict:
    release = manifest.release
    meta: dict = {**_license_fields(release.licenses.weights),
                  "tags": ["llm360", *[t for t in release.tags if t != "llm360"]],
                  "library_name": "transformers", "pipeline_tag": "text-generation"}
    if release.language:
        meta["language"] = list(release.language)
    if hub["data_repo"]:
        meta["datasets"] = [hub["data_repo"]]
    if hub["base_model"]:
        meta["base_model"] = hub["base_model"]
    meta.update(extra)
    meta["eval_results"] = [(k, v) for k, v in evals.items()]
    meta["model_name"] = model_name
    return meta


def _context(manifest: Manifest, manifest_bytes: bytes, inputs: _RunInputs, sig: SignatureInfo,
             plots: set[str], signature_dir: Path | None) -> dict:
    release, ckpts = manifest.release, manifest.checkpoints
    links = dict(release.links)
    hub = {"repo": _first_link(links, ("hub", "huggingface")),
           "data_repo": _first_link(links, ("hub_dataset", "dataset", "data", "huggingface_dataset",
                                            "hub"), dataset=True),
           "base_model": _first_link(links, ("base_model",))}
    manifest_sha = hashlib.sha256(manifest_bytes).hexdigest()
    final = ckpts[-1] if ckpts else None
    forks = {c.name for c in ckpts
             if any(len(lineage.children(manifest, p)) > 1 for p in c.parents)}
    verify_args = _verify_args(sig)
    index_chunks = {c.get("index"): c for c in (inputs.data_index or {}).get("chunks", [])}
    chunks = []
    for chunk in manifest.data.chunks:
        sources = index_chunks.get(chunk.index, {}).get("sources") or []
        chunks.append({"index": chunk.index, "path": chunk.path, "sequences": _num(chunk.sequences),
                       "tokens": _num(chunk.tokens), "sha256": chunk.sha256,
                       "merkle_root": chunk.merkle_root, "sources": [str(s) for s in sources],
                       "trained_in": [c.name for c in ckpts if chunk.index in c.data_chunks]})
    columns = [m for m in _TABLE_METRICS if any(m in c.metrics for c in ckpts)]
    rows = [{"name": c.name, "step": _num(c.step), "tokens_seen": _num(c.tokens_seen),
             "parents": list(c.parents), "fork": c.name in forks,
             "cells": [_num(c.metrics[m]) if m in c.metrics else "–" for m in columns]}
            for c in ckpts]
    cards = []
    for c in ckpts:
        seen = lineage.data_seen(manifest, c.name)
        extra = {"llm360_release": release.name, "llm360_version": release.version,
                 "llm360_checkpoint": c.name, "llm360_step": c.step,
                 "llm360_tokens_seen": c.tokens_seen, "llm360_parents": list(c.parents),
                 "llm360_root_digest": c.root_digest, "llm360_manifest_sha256": manifest_sha}
        has_sig = bool(signature_dir) and (Path(signature_dir) / "signatures" / c.name
                                           / "model.sig").is_file()
        cards.append({
            "name": c.name, "step": _num(c.step), "tokens_seen": _num(c.tokens_seen),
            "parents": list(c.parents), "children": lineage.children(manifest, c.name),
            "fork": c.name in forks, "data_chunks": list(c.data_chunks), "data_seen": seen,
            "tokens_in_seen": _num(sum(ch.tokens for ch in manifest.data.chunks
                                       if ch.index in seen)),
            "metrics": [(_METRIC_LABELS.get(k, k), k, _num(v)) for k, v in sorted(c.metrics.items())],
            "root_digest": c.root_digest,
            "files": [(f, _num(manifest.artifact(f).size), manifest.artifact(f).sha256)
                      for f in c.files if manifest.artifact(f) is not None],
            "oms_command": _oms_command(sig, c.name) if has_sig else None,
            "metadata": _metadata(manifest, hub, extra, _eval_metrics(c),
                                  f"{release.name} {c.name}"),
        })
    final_evals = _eval_metrics(final) if final else {}
    extra = {"llm360_release": release.name, "llm360_version": release.version,
             "llm360_manifest_sha256": manifest_sha}
    if final:
        extra["llm360_checkpoint"] = final.name
    env = manifest.environment
    return {
        "release": release, "name": release.name, "version": release.version,
        "description": (release.description or "").strip(),
        "authors": ", ".join(release.authors),
        "links": sorted(links.items()),
        "model": manifest.model, "parameters": _num(manifest.model.parameters),
        "training": manifest.training, "environment": env, "code": manifest.code,
        "packages": sorted(manifest.code.packages.items()),
        "hyperparameters": _flatten(inputs.train_config) if inputs.train_config else [],
        "train_config_path": manifest.training.config,
        "data_config": _flatten(inputs.data_config) if inputs.data_config else [],
        "data_sources": [_source(s) for s in (inputs.data_config or {}).get("sources") or []],
        "tokenizer": _flatten((inputs.data_config or {}).get("tokenizer") or {}),
        "seq_len": manifest.data.seq_len, "chunks": chunks, "data_index": manifest.data.index,
        "total_tokens": _num(sum(c.tokens for c in manifest.data.chunks)),
        "checkpoints": rows, "columns": [_METRIC_LABELS[m] for m in columns],
        "checkpoint_cards": cards, "n_checkpoints": len(ckpts),
        "final": final,
        "final_tokens": _num(final.tokens_seen) if final else None,
        "final_step": _num(final.step) if final else None,
        "final_evals": [(_METRIC_LABELS.get(k, k), _num(v)) for k, v in final_evals.items()],
        "plots": {k: (v if v in plots else None) for k, v in _plots.PLOT_FILES.items()},
        "hub": hub, "manifest_sha256": manifest_sha, "signature": sig,
        "verify_command": f"llm360 verify manifest.json {verify_args}",
        "licenses": [("Weights", release.licenses.weights), ("Code", release.licenses.code),
                     ("Data", release.licenses.data),
                     ("Documentation", release.licenses.documentation)],
        "metadata": _metadata(manifest, hub, extra, final_evals, release.name),
        "data_license": release.licenses.data,
        "example_chunk": chunks[0] if chunks else None,
        "merkle_format": manifest.data.merkle_format,
        "openness": _openness(manifest),
    }


def _openness(manifest: Manifest) -> str:
    """The MOF class the release reaches with the cards being rendered beside it."""
    from llm360.registry.audit import grade

    return grade(manifest, release_files={"README.md", "DATA_CARD.md"}).label


# ---- rendering -----------------------------------------------------------------------------

def _environment():
    import importlib.resources

    import jinja2

    def load(name: str):
        res = importlib.resources.files("llm360.templates").joinpath(name)
        if not res.is_file():
            return None
        return res.read_text("utf-8"), None, lambda: True

    env = jinja2.Environment(loader=jinja2.FunctionLoader(load), undefined=jinja2.StrictUndefined,
                             autoescape=False, keep_trailing_newline=True, trim_blocks=True,
                             lstrip_blocks=True)
    env.filters["cell"] = lambda v: str(v).replace("|", "\\|").replace("\n", " ")
    env.tests["match"] = lambda value, pattern: re.fullmatch(pattern, str(value)) is not None
    return env


def _card_data(meta: dict):
    from huggingface_hub import EvalResult, ModelCardData

    meta = dict(meta)
    evals = meta.pop("eval_results")
    name = meta.pop("model_name")
    results = [EvalResult(task_type="text-generation", dataset_type="llm360-eval",
                          dataset_name=f"{meta['llm360_release']} evaluation",
                          metric_type=key, metric_value=float(f"{value:.6g}"),
                          metric_name=_METRIC_LABELS.get(key, key))
               for key, value in evals] or None
    return ModelCardData(eval_results=results, model_name=name if results else None, **meta)


def _model_card(env, template: str, ctx: dict, meta: dict) -> bytes:
    """Render a card under its Hub metadata header, checked by huggingface_hub's ModelCard."""
    from huggingface_hub import ModelCard

    data = _card_data(meta)
    body = env.get_template(template).render(**ctx)
    text = f"---\n{data.to_yaml()}\n---\n\n{body.lstrip()}"
    try:
        card = ModelCard(text, ignore_metadata_errors=False)
    except Exception as exc:  # noqa: BLE001 - huggingface_hub raises ValueError and friends
        raise Llm360Error(f"{template}: the model card metadata is invalid: {exc}") from exc
    if card.data.to_dict() != data.to_dict():
        raise Llm360Error(f"{template}: the model card metadata does not round-trip through "
                          "huggingface_hub's ModelCard")
    return text.encode("utf-8")


def _data_card(env, ctx: dict) -> bytes:
    from huggingface_hub import DatasetCard, DatasetCardData

    release = ctx["release"]
    meta = {**_license_fields(release.licenses.data), "tags": ["llm360"],
            "pretty_name": f"{release.name} training data"}
    if release.language:
        meta["language"] = list(release.language)
    data = DatasetCardData(**meta)
    text = f"---\n{data.to_yaml()}\n---\n\n{env.get_template('data_card.md.j2').render(**ctx)}"
    try:
        DatasetCard(text, ignore_metadata_errors=False)
    except Exception as exc:  # noqa: BLE001
        raise Llm360Error(f"data_card.md.j2: the dataset card metadata is invalid: {exc}") from exc
    return text.encode("utf-8")
