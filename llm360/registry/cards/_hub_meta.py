"""What the Hugging Face Hub reads from a card: the metadata header and its rules.

The Hub's license ids (an SPDX id the Hub knows by its lower-case name, anything else
``license: other`` with ``license_name`` and ``license_link``), the ``model-index`` (one dataset
entry per evaluation set), the dataset card's size and task categories, and the check that a
card's header reads back as written. The metadata is huggingface_hub's ``ModelCardData`` /
``DatasetCardData``, written by their ``to_yaml`` (huggingface_hub is imported when a card is
rendered, not before).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from llm360.errors import Llm360Error
from llm360.registry import layout
from llm360.registry.cards._view import CheckpointView, HubLinks, MetricView, ReleaseView
from llm360.registry.manifest.models import Release

if TYPE_CHECKING:
    from huggingface_hub import CardData, DatasetCardData, EvalResult, ModelCardData

    from llm360.registry.cards._benchmarks import IndexResult

__all__ = ["HUB_LICENSES", "license_fields", "hub_links", "model_card_text", "model_metadata",
           "dataset_card_text", "dataset_metadata", "size_category"]

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


def license_fields(spdx: str, link: str | None = None) -> dict[str, str]:
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


def _license_link(release: Release, component: str) -> str | None:
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


def _first(links: Mapping[str, str], keys: tuple[str, ...], *, dataset: bool = False
           ) -> str | None:
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


def _eval_results(metrics: tuple[MetricView, ...]) -> list[EvalResult] | None:
    """The ``model-index`` results of ``metrics`` (those of a known evaluation set)."""
    from huggingface_hub import EvalResult

    results = [EvalResult(task_type="text-generation", task_name="Text generation",
                          dataset_type=m.eval_set.hub_type, dataset_name=m.eval_set.name,
                          dataset_config=m.eval_set.config, dataset_split=m.eval_set.split,
                          metric_type=m.eval_set.metric_type(m.key),
                          metric_value=float(f"{m.raw:.6g}"), metric_name=m.label)
               for m in metrics if m.eval_set is not None]
    return results or None


def _benchmark_results(found: Sequence[IndexResult]) -> list[EvalResult]:
    """Benchmark results in the Open LLM Leaderboard's style (``args.num_few_shot``, percent)."""
    from huggingface_hub import EvalResult

    return [EvalResult(task_type="text-generation", task_name="Text Generation",
                       dataset_type=r.dataset_type, dataset_name=r.dataset_name,
                       dataset_config=r.dataset_config, dataset_split=r.dataset_split,
                       dataset_args={"num_few_shot": r.num_few_shot}
                       if r.num_few_shot is not None else None,
                       metric_type=r.metric_type, metric_name=r.metric_name,
                       metric_value=r.value) for r in found]


def _yaml_text(data: CardData, fields: dict[str, Any]) -> str:
    """What ``data.to_yaml()`` writes (huggingface_hub's ``yaml.dump`` of ``to_dict()``, given
    as ``fields``, keys in their order, Unicode kept), through libyaml's emitter where PyYAML
    has it: the same text (a test compares them) for a tenth of the time, which counts on a
    release's 40-odd cards."""
    import yaml

    dumper = getattr(yaml, "CSafeDumper", None)
    if dumper is None:
        return data.to_yaml()
    text: str = yaml.dump(fields, Dumper=dumper, sort_keys=False, allow_unicode=True)
    return text.strip()


def _with_header(data: CardData, body: str, where: str, kind: str) -> bytes:
    """``body`` under ``data`` as its YAML header (``to_yaml``), checked to read back (with
    the safe loader, as the Hub reads a header; libyaml's where PyYAML has it) to the same
    metadata."""
    import yaml

    fields: dict[str, Any] = data.to_dict()  # type: ignore[no-untyped-call]  # unannotated
    try:
        header = _yaml_text(data, fields)
        again = yaml.load(header, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as exc:
        raise Llm360Error(f"{where}: the {kind} card metadata is invalid YAML: {exc}") from exc
    if again != fields:
        raise Llm360Error(f"{where}: the {kind} card metadata does not read back as written")
    return f"---\n{header}\n---\n\n{body.lstrip()}".encode()


def model_metadata(view: ReleaseView, ckpt: CheckpointView | None = None) -> ModelCardData:
    """The Hub metadata of the release's card (the final checkpoint's results) or of
    ``ckpt``'s card."""
    from huggingface_hub import ModelCardData

    release = view.release
    shown = ckpt if ckpt is not None else view.final
    fields = license_fields(release.licenses.weights, _license_link(release, "weights"))
    # the header's llm360 keys, passed on to ModelCardData as keyword arguments
    extra: dict[str, Any] = {"llm360_release": release.name, "llm360_version": release.version}
    if shown is not None:
        extra.update(llm360_checkpoint=shown.name, llm360_line=shown.line)
    if ckpt is not None:
        extra.update(llm360_step=ckpt.step_int, llm360_tokens_seen=ckpt.tokens_seen_int,
                     llm360_parents=list(ckpt.parents), llm360_root_digest=ckpt.root_digest)
    extra["llm360_manifest_sha256"] = view.manifest_sha256
    results = _eval_results(shown.metrics) if shown is not None else None
    if shown is not None and view.benchmarks is not None:
        results = ((results or []) + _benchmark_results(
            view.benchmarks.index.get(shown.name, ()))) or None
    if view.derived is not None:  # what it continues; on the Hub's model tree, its parent
        extra.update(llm360_derived_from=view.derived.label,
                     llm360_derived_relation=view.derived.relation)
        if view.derived.repo and view.derived.hub_relation:
            extra["base_model_relation"] = view.derived.hub_relation
    return ModelCardData(
        base_model=view.derived.repo if view.derived is not None and view.derived.repo
        else view.hub.base_model,
        datasets=[view.hub.data_repo] if view.hub.data_repo else None,
        language=list(release.language) if release.language else None,
        library_name="transformers", license=fields["license"],
        license_name=fields.get("license_name"), license_link=fields.get("license_link"),
        pipeline_tag="text-generation", tags=["llm360", *release.tags],
        eval_results=results,
        model_name=(f"{release.name} {ckpt.name}" if ckpt is not None else release.name)
        if results else None,
        **extra)


def model_card_text(view: ReleaseView, body: str, ckpt: CheckpointView | None = None) -> bytes:
    """The card ``body`` under its Hub metadata header (``model_metadata``)."""
    where = layout.checkpoint_card(ckpt.name) if ckpt is not None else layout.MODEL_CARD
    return _with_header(model_metadata(view, ckpt), body, where, "model")


def dataset_metadata(view: ReleaseView) -> DatasetCardData:
    """DATA_CARD.md's Hub metadata."""
    from huggingface_hub import DatasetCardData

    release = view.release
    fields = license_fields(release.licenses.data, _license_link(release, "data"))
    return DatasetCardData(
        language=list(release.language) if release.language else None,
        license=fields["license"], size_categories=[size_category(view.data.total_sequences)],
        task_categories=["text-generation"], task_ids=["language-modeling"],
        pretty_name=f"{release.name} training data", license_name=fields.get("license_name"),
        license_link=fields.get("license_link"), tags=["llm360", "tokenized", "pretraining"],
        llm360_release=release.name, llm360_version=release.version)


def dataset_card_text(view: ReleaseView, body: str) -> bytes:
    """DATA_CARD.md: ``body`` under its Hub metadata header (``dataset_metadata``)."""
    return _with_header(dataset_metadata(view), body, layout.DATA_CARD, "dataset")
