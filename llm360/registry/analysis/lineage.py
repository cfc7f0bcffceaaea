"""The checkpoint graph: parents, forks and merges, and which data each checkpoint has seen."""

from __future__ import annotations

from dataclasses import dataclass

from llm360.registry import layout
from llm360.registry.build.hashing import root_digest
from llm360.registry.manifest.models import Checkpoint, Manifest
from llm360.registry.manifest.problems import Problem

__all__ = ["Problem", "Span", "check", "ancestors", "data_seen", "children", "children_map",
           "roots", "descendants", "spans", "data_order"]


def _by_name(manifest: Manifest) -> dict[str, Checkpoint]:
    return {c.name: c for c in manifest.checkpoints}


def check(manifest: Manifest) -> list[Problem]:
    """Lineage and reference invariants of a manifest, each broken one as a ``Problem``.

    Every parent exists (in the release, or it is the checkpoint of another release that
    ``derived_from`` names: referenced, not held); no cycles; step and tokens seen grow along
    every edge (across the link too, but for a ``finetune``, which counts from its own
    start); each checkpoint's data chunks exist; every path the manifest mentions is an
    artifact; chunk digests agree with their artifacts.
    """
    problems: list[Problem] = []
    ckpts = _by_name(manifest)
    link = manifest.derived_from
    arts = {a.path: a for a in manifest.artifacts}
    chunk_ids = {c.index for c in manifest.data.chunks}

    def add(code: str, file: str, json_path: str | None, message: str) -> None:
        problems.append(Problem(code=code, file=file, json_path=json_path, message=message))

    def state(name: str) -> str:  # where a checkpoint's lineage is recorded
        return layout.checkpoint_file(name, layout.TRAINER_STATE)

    seen_names: set[str] = set()
    for c in manifest.checkpoints:
        if c.name in seen_names:
            add("lineage", state(c.name), None, f"checkpoint {c.name} is listed twice")
        seen_names.add(c.name)
        for j, parent_name in enumerate(c.parents):
            parent = ckpts.get(parent_name)
            if parent is not None:
                step, tokens, named = parent.step, parent.tokens_seen, parent_name
            elif link is not None and parent_name == link.checkpoint.name:  # outside
                if link.relation == "finetune":
                    continue  # a fine-tune counts its steps and tokens from its own start
                step, tokens = link.checkpoint.step, link.checkpoint.tokens_seen
                named = link.label
            else:
                add("lineage", state(c.name), f"$.parents[{j}].name", f"checkpoint {c.name}: "
                    f"parent {parent_name} is not in the release" + (
                        "" if link is not None else " (a run that continues another release "
                        f"records it in {layout.DERIVED_FROM})"))
                continue
            if c.step <= step:
                add("lineage", state(c.name), "$.step", f"checkpoint {c.name}: step {c.step} "
                    f"does not grow from parent {named} (step {step})")
            if c.tokens_seen <= tokens:
                add("lineage", state(c.name), "$.tokens_seen", f"checkpoint {c.name}: "
                    f"tokens_seen {c.tokens_seen} does not grow from parent {named} ({tokens})")
        for j, k in enumerate(c.data_chunks):
            if k not in chunk_ids:
                add("lineage", state(c.name), f"$.data_chunks[{j}]", f"checkpoint {c.name}: "
                    f"data chunk {k} is not in the release")
    cycle = _find_cycle(ckpts)
    if cycle:
        add("lineage", state(cycle[0]), "$.parents",
            "checkpoint cycle: " + " -> ".join(cycle))
    if link is not None:
        if link.checkpoint.name in ckpts:
            add("lineage", layout.MANIFEST, "$.derived_from.checkpoint", "$.derived_from names "
                f"checkpoint {link.checkpoint.name} of {link.location}, but the release holds a "
                "checkpoint of that name itself")
        elif not any(link.checkpoint.name in c.parents for c in manifest.checkpoints):
            add("lineage", layout.MANIFEST, "$.derived_from", f"$.derived_from names "
                f"{link.label}, but no checkpoint of the release continues it (none has it as a "
                "parent)")
    final = manifest.release.final_checkpoint
    if final is not None and final not in ckpts:
        add("reference", layout.MANIFEST, "$.release.final_checkpoint",
            f"$.release.final_checkpoint names {final}, which is not a checkpoint of the "
            "release")

    seen_paths: set[str] = set()
    for i, a in enumerate(manifest.artifacts):
        if a.path in seen_paths:
            add("reference", layout.MANIFEST, f"$.artifacts[{i}]",
                f"{a.path}: artifact listed twice")
        seen_paths.add(a.path)
    for where, path in _referenced_paths(manifest):
        if path not in arts:
            add("reference", layout.MANIFEST, where,
                f"{where} refers to {path}, which is not an artifact")
    for i, chunk in enumerate(manifest.data.chunks):
        art = arts.get(chunk.path)
        if art is not None and art.sha256 != chunk.sha256:
            add("reference", layout.MANIFEST, f"$.data.chunks[{i}].sha256",
                f"$.data.chunks[{i}].sha256 differs from the artifact {chunk.path}")
    for i, c in enumerate(manifest.checkpoints):
        prefix = layout.checkpoint_dir(c.name) + "/"
        if all(f in arts and f.startswith(prefix) for f in c.files):
            digest = root_digest((f[len(prefix):], arts[f].sha256) for f in c.files)
            if digest != c.root_digest:
                add("reference", layout.MANIFEST, f"$.checkpoints[{i}].root_digest",
                    f"$.checkpoints[{i}].root_digest of {c.name} does not match its files")
    return problems


def _referenced_paths(manifest: Manifest) -> list[tuple[str, str]]:
    refs = [("$.model.config", manifest.model.config), ("$.data.index", manifest.data.index),
            ("$.training.config", manifest.training.config)]
    if manifest.model.tokenizer:
        refs.append(("$.model.tokenizer", manifest.model.tokenizer))
    if manifest.training.data_config:
        refs.append(("$.training.data_config", manifest.training.data_config))
    if manifest.code.provenance:
        refs.append(("$.code.provenance", manifest.code.provenance))
    refs += [(f"$.data.chunks[{i}].path", c.path) for i, c in enumerate(manifest.data.chunks)]
    for i, c in enumerate(manifest.checkpoints):
        refs += [(f"$.checkpoints[{i}].files[{j}]", f) for j, f in enumerate(c.files)]
        if c.eval:
            refs.append((f"$.checkpoints[{i}].eval", c.eval))
    refs += [(f"$.logs[{i}]", p) for i, p in enumerate(manifest.logs)]
    refs += [(f"$.evals[{i}]", p) for i, p in enumerate(manifest.evals)]
    return refs


def _find_cycle(ckpts: dict[str, Checkpoint]) -> list[str] | None:
    state: dict[str, int] = {}  # 1 visiting, 2 done
    for start in sorted(ckpts):
        if state.get(start):
            continue
        stack: list[tuple[str, int]] = [(start, 0)]
        path: list[str] = []
        while stack:
            name, i = stack.pop()
            if i == 0:
                state[name] = 1
                path.append(name)
            parents = [p for p in ckpts[name].parents if p in ckpts]
            if i < len(parents):
                stack.append((name, i + 1))
                nxt = parents[i]
                if state.get(nxt) == 1:
                    return path[path.index(nxt):] + [nxt]
                if not state.get(nxt):
                    stack.append((nxt, 0))
            else:
                state[name] = 2
                path.pop()
    return None


def ancestors(manifest: Manifest, name: str) -> list[str]:
    """Every checkpoint ``name`` descends from, nearest first (breadth-first); linear in the
    size of the graph, without recursion (a chain may be thousands of checkpoints long)."""
    ckpts = _by_name(manifest)
    out: list[str] = []
    seen: set[str] = set()
    frontier = list(ckpts[name].parents) if name in ckpts else []
    while frontier:
        nxt: list[str] = []
        for p in frontier:
            if p not in seen and p in ckpts:
                seen.add(p)
                out.append(p)
                nxt.extend(ckpts[p].parents)
        frontier = nxt
    return out


def data_seen(manifest: Manifest, name: str) -> list[int]:
    """Sorted data chunks a checkpoint has been trained on, through all its ancestors."""
    ckpts = _by_name(manifest)
    seen: set[int] = set()
    for n in [name, *ancestors(manifest, name)]:
        if n in ckpts:
            seen.update(ckpts[n].data_chunks)
    return sorted(seen)


def children(manifest: Manifest, name: str) -> list[str]:
    """Checkpoints that list ``name`` as a parent (more than one means a fork)."""
    return children_map(manifest).get(name, [])


def children_map(manifest: Manifest) -> dict[str, list[str]]:
    """Every checkpoint's children (in manifest order), from one pass over the manifest: for
    callers that ask for the children of many checkpoints."""
    out: dict[str, list[str]] = {}
    for c in manifest.checkpoints:
        for p in dict.fromkeys(c.parents):
            out.setdefault(p, []).append(c.name)
    return out


def roots(manifest: Manifest) -> list[str]:
    """Checkpoints with no parent in the release (none at all, or only the checkpoint of
    another release that ``derived_from`` names)."""
    names = {c.name for c in manifest.checkpoints}
    return [c.name for c in manifest.checkpoints if not any(p in names for p in c.parents)]


def descendants(manifest: Manifest, name: str) -> list[str]:
    """Every checkpoint that descends from ``name``, in manifest order (by step)."""
    kids = children_map(manifest)
    found: set[str] = set()
    frontier = [name]
    while frontier:
        nxt = []
        for n in frontier:
            for child in kids.get(n, ()):
                if child not in found:
                    found.add(child)
                    nxt.append(child)
        frontier = nxt
    return [c.name for c in manifest.checkpoints if c.name in found]


@dataclass(frozen=True, kw_only=True)
class Span:
    """The rows of one data chunk that one checkpoint trained on, since its parent.

    Rows ``0 .. rows - 1`` of the chunk, in order; row ``r`` went into optimizer step
    ``step_of(r)`` (None when the manifest does not pin steps to rows: the tokens between the
    parent and the checkpoint are not a whole number of rows per step).
    """

    checkpoint: str
    chunk: int
    path: str
    rows: int
    tokens: int
    first_step: int
    last_step: int
    start_step: int          # the parent's step: steps are 1-based after it
    row_offset: int          # rows of the checkpoint's earlier chunks trained before this one
    rows_per_step: int | None

    def step_of(self, row: int) -> int | None:
        """The optimizer step that trained chunk row ``row`` (None: not in this span or the
        step is not known)."""
        if not 0 <= row < self.rows or self.rows_per_step is None:
            return None
        return self.start_step + (self.row_offset + row) // self.rows_per_step + 1


def spans(manifest: Manifest) -> list[Span]:
    """What each checkpoint trained on since its parent, chunk by chunk, in manifest order.

    From the manifest alone: the checkpoint trained ``(tokens_seen - parent tokens_seen) /
    seq_len`` rows in ``step - parent step`` optimizer steps, taking the rows of its data
    chunks in order from the first row (what ``llm360 train`` does). A merge counts from the
    parent with the most steps; a checkpoint continuing another release's (``derived_from``)
    from that checkpoint's step and tokens (a fine-tune from zero).
    """
    ckpts = _by_name(manifest)
    chunks = {c.index: c for c in manifest.data.chunks}
    seq_len = manifest.data.seq_len
    link = manifest.derived_from
    out: list[Span] = []
    for c in manifest.checkpoints:
        parents = [(p.step, p.tokens_seen) for p in (ckpts.get(n) for n in c.parents) if p]
        if link is not None and link.relation != "finetune" \
                and link.checkpoint.name in c.parents and link.checkpoint.name not in ckpts:
            parents.append((link.checkpoint.step, link.checkpoint.tokens_seen))
        start_step, start_tokens = max(parents, default=(0, 0))
        steps = max(c.step - start_step, 0)
        rows_total = max(c.tokens_seen - start_tokens, 0) // seq_len
        per_step = rows_total // steps if steps and rows_total % steps == 0 else None
        offset = 0
        for k in c.data_chunks:
            chunk = chunks.get(k)
            if chunk is None:
                continue
            taken = max(min(chunk.sequences, rows_total - offset), 0)
            if per_step:
                first = start_step + offset // per_step + 1
                last = start_step + (offset + max(taken, 1) - 1) // per_step + 1
            else:
                first, last = start_step + 1, c.step
            out.append(Span(checkpoint=c.name, chunk=k, path=chunk.path, rows=taken,
                            tokens=taken * seq_len, first_step=first, last_step=last,
                            start_step=start_step, row_offset=offset, rows_per_step=per_step))
            offset += taken
    return out


def data_order(manifest: Manifest, name: str) -> list[Span]:
    """Every chunk span checkpoint ``name``'s weights have seen along its ancestry, in the
    order trained (ancestors by step, then the checkpoint itself)."""
    line = set(ancestors(manifest, name)) | {name}
    order = {c.name: i for i, c in enumerate(manifest.checkpoints)}
    mine = [s for s in spans(manifest) if s.checkpoint in line]
    ckpts = _by_name(manifest)
    return sorted(mine, key=lambda s: (ckpts[s.checkpoint].step, order[s.checkpoint],
                                       s.row_offset))
