"""What the Hugging Face Hub reads from a card: the metadata header and its rules.

The Hub's license ids (an SPDX id the Hub knows by its lower-case name, anything else
``license: other`` with ``license_name`` and ``license_link``), the ``model-index`` (one dataset
entry per evaluation set), the dataset card's size and task categories, and the check that a
card's header round-trips through ``huggingface_hub`` (imported inside the functions).
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlparse

from llm360.registry import layout
from llm360.errors import Llm360Error
from llm360.registry.cards._view import CheckpointView, HubLinks, MetricView, ReleaseView

__all__ = ["HUB_LICENSES", "license_fields", "hub_links", "model_card_text",
           "dataset_card_text", "size_category"]

#: Hub license ids that an SPDX id maps to by lower-casing; anything else is "other"
HUB_LICENSES = frozenset(
    "apache-2.0 mit openrail afl-3.0 artistic-2.0 bsl-1.0 bsd bsd-2-clause bsd-3-clause "
    "bsd-3-clause-clear cc cc0-1.0 cc-by-2.0 cc-by-2.5 cc-by-3.0 cc-by-4.0 cc-by-sa-3.0 "
    "cc-by-sa-4.0 cc-by-nc-2.0 cc-by-nc-3.0 cc-by-nc-4.0 cc-by-nd-4.0 cc-by-nc-nd-3.0 "
    "cc-by-nc-nd-4.0 cc-by-nc-sa-2.0 cc-by-nc-sa-3.0 cc-by-nc-sa-4.0 cdla-sharing-1.0 "
    "cdla-permissive-1.0 cdla-permissive-2.0 wtfpl ecl-2.0 epl-1.0 epl-2.0 eupl-1.1 eupl-1.2 "
    "agpl-3.0 gfdl gpl gpl-2.0 gpl-3.0 lgpl lgpl-2.1 lgpl-3.0 isc lppl-1.3c ms-pl mpl-2.0 "
    "odc-by odbl osl-3.0 postgresql ofl-1.1 ncsa unlicense zlib pddl".split())
_SIZES = ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"),
          (1_000_000, "100K<n<1M"), (10_000_000, "1M<n<10M"), (100_000_000, "10M<n<100M"),
          (1_000_000_000, "100M<n<1B"), (10_000_000_000, "1B<n<10B"),
          (100_000_000_000, "10B<n<100B"), (1_000_000_000_000, "100B<n<1T"))


def _spdx_link(spdx: str) -> str | None:
    """The SPDX page of a single SPDX license id that the SPDX list knows; None otherwise."""
    from packaging.licenses import InvalidLicenseExpression, canonicalize_license_expression

    try:
        canonical = canonicalize_license_expression(spdx)
    except InvalidLicenseExpression:
        return None
    if " " in canonical or canonical.startswith("LicenseRef-"):
        return None  # an expression has no single page
    return f"https://spdx.org/licenses/{canonical}.html"


def license_fields(spdx: str, link: str | None = None) -> dict:
    """``license`` (and for ``other``: ``license_name``, plus ``license_link`` where one is
    known: ``link`` from llm360.yaml's links, else the SPDX list's page)."""
    hub = spdx.lower()
    if hub in HUB_LICENSES:
        return {"license": hub}
    fields = {"license": "other",
              "license_name": "-".join(hub.replace("(", " ").replace(")", " ").split())}
    link = link or _spdx_link(spdx)
    if link:
        fields["license_link"] = link
    return fields


def _license_link(release, component: str) -> str | None:
    links = dict(release.links)
    return links.get(f"license_{component}") or links.get("license")


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


def _first(links: Mapping[str, str], keys: tuple[str, ...], *, dataset: bool = False):
    for key in keys:
        found = _hub_id(links.get(key), dataset=dataset)
        if found:
            return found
    return None


def hub_links(links: Mapping[str, str]) -> HubLinks:
    """The model repo, dataset repo and base model that llm360.yaml's links name on the Hub."""
    return HubLinks(repo=_first(links, ("hub", "huggingface")),
                    data_repo=_first(links, ("hub_dataset", "dataset", "data",
                                             "huggingface_dataset", "hub"), dataset=True),
                    base_model=_first(links, ("base_model",)))


def size_category(n: int) -> str:
    for bound, name in _SIZES:
        if n < bound:
            return name
    return "n>1T"


def _eval_results(metrics: tuple[MetricView, ...]):
    from huggingface_hub.repocard_data import EvalResult

    return [EvalResult(task_type="text-generation", task_name="Text generation",
                       dataset_type=m.eval_set.hub_type, dataset_name=m.eval_set.name,
                       dataset_split=m.eval_set.split, dataset_config=m.eval_set.config,
                       metric_type=m.eval_set.metric_type(m.key),
                       metric_value=float(f"{m.raw:.6g}"), metric_name=m.label)
            for m in metrics if m.eval_set is not None]


def _yaml():
    """(dumper, loader) classes: libyaml's where PyYAML has it (ten times faster than the pure
    Python ones, same output for plain data), else PyYAML's own."""
    import yaml

    return (getattr(yaml, "CDumper", yaml.Dumper), getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def _with_header(data, body: str, where: str, kind: str) -> bytes:
    """``body`` under ``data`` (a huggingface_hub CardData) as its YAML header, the way
    ``CardData.to_yaml`` writes it, checked to read back as ``RepoCard`` reads a header
    (``safe_load``, then the CardData class, metadata errors raised) to the same metadata."""
    import yaml

    dumper, loader = _yaml()
    meta = data.to_dict()
    header = yaml.dump(meta, Dumper=dumper, allow_unicode=True, sort_keys=False).strip()
    try:
        loaded = yaml.load(header, Loader=loader)
        again = type(data)(**loaded, ignore_metadata_errors=False).to_dict()
    except Exception as exc:  # noqa: BLE001 - huggingface_hub raises ValueError and friends
        raise Llm360Error(f"{where}: the {kind} card metadata is invalid: {exc}") from exc
    if again != meta:
        raise Llm360Error(f"{where}: the {kind} card metadata does not round-trip through "
                          "huggingface_hub's card data")
    return f"---\n{header}\n---\n\n{body.lstrip()}".encode("utf-8")


def model_card_text(view: ReleaseView, body: str, ckpt: CheckpointView | None = None) -> bytes:
    """The card ``body`` under its Hub metadata header (checked to round-trip through
    huggingface_hub's ``ModelCardData``): the release's card (the final checkpoint's results)
    or ``ckpt``'s card."""
    from huggingface_hub.repocard_data import ModelCardData

    release = view.release
    meta: dict = {**license_fields(release.licenses.weights, _license_link(release, "weights")),
                  "tags": ["llm360", *[t for t in release.tags if t != "llm360"]],
                  "library_name": "transformers", "pipeline_tag": "text-generation"}
    if release.language:
        meta["language"] = list(release.language)
    if view.hub.data_repo:
        meta["datasets"] = [view.hub.data_repo]
    if view.hub.base_model:
        meta["base_model"] = view.hub.base_model
    meta.update(llm360_release=release.name, llm360_version=release.version)
    shown = ckpt if ckpt is not None else view.final
    if shown is not None:
        meta.update(llm360_checkpoint=shown.name, llm360_line=shown.line)
    if ckpt is not None:
        meta.update(llm360_step=ckpt.step_int, llm360_tokens_seen=ckpt.tokens_seen_int,
                    llm360_parents=list(ckpt.parents), llm360_root_digest=ckpt.root_digest)
    meta["llm360_manifest_sha256"] = view.manifest_sha256
    results = _eval_results(shown.metrics) if shown is not None else []
    name = f"{release.name} {ckpt.name}" if ckpt is not None else release.name
    data = ModelCardData(eval_results=results or None, model_name=name if results else None,
                         **meta)
    where = layout.checkpoint_card(ckpt.name) if ckpt is not None else layout.MODEL_CARD
    return _with_header(data, body, where, "model")


def dataset_card_text(view: ReleaseView, body: str) -> bytes:
    """DATA_CARD.md: ``body`` under its Hub metadata header (checked to round-trip through
    huggingface_hub's ``DatasetCardData``)."""
    from huggingface_hub.repocard_data import DatasetCardData

    release = view.release
    rows = view.data.total_sequences
    meta = {**license_fields(release.licenses.data, _license_link(release, "data")),
            "tags": ["llm360", "tokenized", "pretraining"],
            "pretty_name": f"{release.name} training data",
            "size_categories": [size_category(rows)],
            "task_categories": ["text-generation"], "task_ids": ["language-modeling"]}
    if release.language:
        meta["language"] = list(release.language)
    return _with_header(DatasetCardData(**meta), body, layout.DATA_CARD, "dataset")
