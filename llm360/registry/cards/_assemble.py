"""Manifest + run records -> ``ReleaseView`` (and the plots it shows).

The only place the cards' facts are gathered and formatted; templates only read the view.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, NamedTuple

from llm360.registry import layout
from llm360.registry.analysis.audit import grade
from llm360.registry.cards import _plots
from llm360.registry.cards._benchmarks import benchmark_plots, benchmark_section
from llm360.registry.cards._data import data_view
from llm360.registry.cards._derived import derived_view
from llm360.registry.cards._hub_meta import hub_links
from llm360.registry.cards._inputs import RunInputs
from llm360.registry.cards._lines import Line, checkpoint_config, data_seen_and_children, flatten
from llm360.registry.cards._lines import lines as find_lines
from llm360.registry.cards._metrics import EvalSet, eval_set_for, metric_label
from llm360.registry.cards._mixture import mixture_plots
from llm360.registry.cards._view import (
    CheckpointView,
    ConfigDiff,
    EvalGroup,
    FileRow,
    LineView,
    MetricView,
    PlotRef,
    ReleaseView,
    Row,
)
from llm360.registry.manifest.models import Checkpoint, Manifest, final_checkpoint
from llm360.registry.signing import SignatureInfo

__all__ = ["build_view", "num", "plot_specs"]

_TABLE_METRICS = ("train_loss", "heldout_perplexity", "memorization_score")
_NOT_RECORDED = "not recorded"


def num(value: object) -> str:
    """A number (or other leaf value) as a table shows it."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return f"{int(value):,}" if abs(value) >= 1000 else f"{value:.1f}".rstrip("0")\
                .rstrip(".")
        return f"{value:,.1f}" if abs(value) >= 1000 else f"{value:.4g}"
    if isinstance(value, (list, dict)):
        return json.dumps(value, sort_keys=True)
    return str(value)


def _rows(config: Mapping[str, Any] | None) -> tuple[Row, ...]:
    return tuple(Row(key=k, value=num(v)) for k, v in flatten(config)) if config else ()


def _verify_args(sig: SignatureInfo) -> str:
    if sig.method == "key":
        return "--key PUBLIC.pem"
    if sig.method == "sigstore":
        return (f"--identity {shlex.quote(sig.identity or 'ID')} "
                f"--issuer {shlex.quote(sig.issuer or 'URL')}")
    return "--allow-unsigned"


def _oms_command(sig: SignatureInfo, name: str) -> str | None:
    where = f"{layout.checkpoint_dir(name)} --signature {layout.signature_path(name)}"
    if sig.method == "key":
        return f"model_signing verify key {where} --public_key PUBLIC.pem"
    if sig.method == "sigstore" and sig.identity and sig.issuer:
        return (f"model_signing verify sigstore {where} --identity {shlex.quote(sig.identity)} "
                f"--identity_provider {shlex.quote(sig.issuer)}")
    return None


def _diffs(configs: list[Mapping[str, Any] | None]) -> tuple[ConfigDiff, ...]:
    """Settings whose values differ between the recorded configurations."""
    flat = [dict(flatten(c)) if c else None for c in configs]
    recorded = [f for f in flat if f is not None]
    if len(recorded) < 2:
        return ()
    keys = sorted({k for f in recorded for k in f})
    out = []
    for key in keys:
        values = {num(f[key]) if key in f else "–" for f in recorded}
        if len(values) > 1:
            out.append(ConfigDiff(key=key, values=tuple(
                _NOT_RECORDED if f is None else num(f[key]) if key in f else "–" for f in flat)))
    return tuple(out)


class _Facts(NamedTuple):
    """What both the view and the plots are derived from (nothing here reads a digest)."""

    line_list: tuple[Line, ...]
    labels: dict[str, str]
    label: Callable[[str, str], str]
    eval_set: Callable[[str, str], EvalSet | None]
    seen: dict[str, tuple[int, ...]]
    kids: dict[str, tuple[str, ...]]
    specs: list[_plots.PlotSpec]


def _facts(manifest: Manifest, inputs: RunInputs) -> _Facts:
    release, ckpts = manifest.release, manifest.checkpoints
    line_list = find_lines(manifest, inputs.trainer_states)
    hub = hub_links(release.links)
    details = {name: rec.details for name, rec in inputs.evals.items()}

    def eval_set(key: str, name: str) -> EvalSet | None:
        return eval_set_for(key, inputs.evals.get(name), release=release.name,
                            data_repo=hub.data_repo)

    def label(key: str, name: str) -> str:
        found = eval_set(key, name)
        if found is not None and found.key.startswith("benchmark:"):
            return f"{found.name} {found.metric_type(key)}"
        return metric_label(key, details.get(name))

    labels = {k: label(k, c.name) for c in ckpts for k in c.metrics}
    seen, kids = data_seen_and_children(manifest)
    specs = _plots.plan_plots(manifest, line_list, inputs.logs,
                              chunks_seen={n: len(s) for n, s in seen.items()}, labels=labels)
    specs += benchmark_plots(inputs.benchmarks, line_list,
                             {c.name: c.tokens_seen for c in ckpts})
    specs += mixture_plots(manifest)
    return _Facts(line_list=line_list, labels=labels, label=label, eval_set=eval_set,
                  seen=seen, kids=kids, specs=specs)


def plot_specs(manifest: Manifest, inputs: RunInputs) -> list[_plots.PlotSpec]:
    """The plots of a release, planned, not drawn (from the checkpoints, lines, logs and
    evaluations)."""
    return _facts(manifest, inputs).specs


def build_view(manifest: Manifest, manifest_sha256: str, inputs: RunInputs,
               signature: SignatureInfo, *, signed_checkpoints: frozenset[str] = frozenset()
               ) -> tuple[ReleaseView, list[_plots.PlotSpec]]:
    """The view the templates render, and the plots it refers to (not yet drawn)."""
    release, ckpts = manifest.release, manifest.checkpoints
    states = inputs.trainer_states
    facts = _facts(manifest, inputs)
    line_list, labels, label, eval_set = facts.line_list, facts.labels, facts.label, facts.eval_set
    seen, kids, specs = facts.seen, facts.kids, facts.specs
    line_of = {name: line for line in line_list for name in line.checkpoints}
    final = final_checkpoint(manifest)
    hub = hub_links(release.links)  # for the view; _facts read the same links
    arts = {a.path: a for a in manifest.artifacts}
    by_name = {c.name: c for c in ckpts}
    train_path = manifest.training.config

    def config_of(c: Checkpoint) -> tuple[Mapping[str, Any] | None, str | None]:
        return checkpoint_config(c.name, line_of[c.name], states.get(c.name),
                                 inputs.train_config, train_path)

    main_line = next((ln for ln in line_list if ln.is_main), None)
    main_config = config_of(by_name[main_line.checkpoints[0]])[0] \
        if main_line else None
    columns = [m for m in _TABLE_METRICS if any(m in c.metrics for c in ckpts)]
    chunk_tokens = {ch.index: ch.tokens for ch in manifest.data.chunks}
    views = []
    for c in ckpts:
        line: Line = line_of[c.name]
        config, source = config_of(c)
        metrics = tuple(
            MetricView(key=k, label=label(k, c.name), value=num(v), raw=float(v),
                       eval_set=eval_set(k, c.name))
            for k, v in sorted(c.metrics.items()))
        files = tuple(FileRow(path=f, size=num(a.size), sha256=a.sha256)
                      for f in c.files if (a := arts.get(f)) is not None)
        views.append(CheckpointView(
            name=c.name, step=num(c.step), tokens_seen=num(c.tokens_seen),
            parents=tuple(c.parents), children=kids[c.name],
            line=line.name, line_label=line.label, is_fork=not line.is_main,
            is_final=final is not None and c.name == final.name,
            fork_point=line.fork_point if line.checkpoints[0] == c.name else None,
            data_chunks=tuple(c.data_chunks), data_seen=tuple(seen[c.name]),
            tokens_in_seen=num(sum(chunk_tokens.get(k, 0) for k in seen[c.name])),
            metrics=metrics,
            cells=tuple(num(c.metrics[m]) if m in c.metrics else "–" for m in columns),
            root_digest=c.root_digest, files=files,
            oms_command=_oms_command(signature, c.name) if c.name in signed_checkpoints
            else None,
            config=_rows(config), config_source=source,
            config_vs_main=_diffs([config, main_config]) if line is not main_line and config
            and main_config else (),
            step_int=c.step, tokens_seen_int=c.tokens_seen))
    view_of = {v.name: v for v in views}
    line_views = tuple(LineView(name=ln.name, label=ln.label, is_main=ln.is_main,
                                fork_point=ln.fork_point, checkpoints=ln.checkpoints,
                                config_source=config_of(by_name[ln.checkpoints[0]])[1])
                       for ln in line_list)
    final_view = view_of[final.name] if final is not None else None
    groups: dict[str, tuple[EvalSet, list[MetricView]]] = {}  # by the set's key, first seen
    for m in (final_view.metrics if final_view else ()):
        if m.eval_set is not None:
            groups.setdefault(m.eval_set.key, (m.eval_set, []))[1].append(m)
    final_evals = tuple(EvalGroup(eval_set=es, metrics=tuple(ms)) for es, ms in groups.values())
    sig_args = _verify_args(signature)
    view = ReleaseView(
        release=release, name=release.name, version=release.version,
        description=(release.description or "").strip(), authors=", ".join(release.authors),
        links=tuple(Row(key=k, value=v) for k, v in sorted(release.links.items())),
        model=manifest.model, parameters=num(manifest.model.parameters),
        training=manifest.training, environment=manifest.environment, code=manifest.code,
        packages=tuple(Row(key=k, value=v) for k, v in sorted(manifest.code.packages.items())),
        hyperparameters=_rows(inputs.train_config.to_data() if inputs.train_config else None),
        train_config_path=train_path,
        lines=line_views,
        config_diffs=_diffs([config_of(by_name[ln.checkpoints[0]])[0]
                             for ln in line_list]) if len(line_list) > 1 else (),
        data=data_view(manifest, inputs, views, num),
        checkpoints=tuple(views), columns=tuple(labels.get(m, metric_label(m)) for m in columns),
        final=final_view, final_named=release.final_checkpoint is not None,
        final_last_of_main=final is not None and main_line is not None
        and main_line.checkpoints[-1] == final.name,
        final_evals=final_evals,
        training_plots=tuple(PlotRef(key=s.key, path=s.path, title=s.title) for s in specs
                             if s.section == "training"),
        eval_plots=tuple(PlotRef(key=s.key, path=s.path, title=s.title) for s in specs
                         if s.section == "evaluation"),
        hub=hub, manifest_sha256=manifest_sha256, signature=signature,
        verify_command=f"llm360 verify manifest.json {sig_args}",
        licenses=(Row(key="Weights", value=release.licenses.weights),
                  Row(key="Code", value=release.licenses.code),
                  Row(key="Data", value=release.licenses.data),
                  Row(key="Documentation", value=release.licenses.documentation)),
        openness=_openness(manifest),
        benchmarks=benchmark_section(inputs.benchmarks,
                                     [(c.name, c.tokens_seen) for c in views]),
        benchmark_plots=tuple(PlotRef(key=s.key, path=s.path, title=s.title) for s in specs
                              if s.section == "benchmark"),
        derived=derived_view(manifest, num))
    return view, specs


def _openness(manifest: Manifest) -> str:
    """The MOF class the release reaches with the cards being rendered beside it."""
    return grade(manifest, release_files={layout.MODEL_CARD, layout.DATA_CARD}).label


def signed_checkpoints(signature_dir: Path | None, manifest: Manifest) -> frozenset[str]:
    """Checkpoints with an OMS signature file beside the manifest."""
    if signature_dir is None:
        return frozenset()
    return frozenset(c.name for c in manifest.checkpoints
                     if (Path(signature_dir) / layout.signature_path(c.name)).is_file())
