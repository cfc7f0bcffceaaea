"""Lines of training: the main line and its forks, and the configuration that produced each
checkpoint.

A checkpoint's line is what its ``trainer_state.json`` records (``lineage``: "main", "fork1",
...); without that record it comes from the name ``llm360 train`` gives forks
(``ckpt_NNN-fork1``, ``models.fork_line``), and any other name is on the main line. The final
checkpoint is ``models.final_checkpoint``'s, as everywhere else.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from llm360.registry import layout
from llm360.registry.manifest.models import Checkpoint, Manifest, fork_line
from llm360.registry.run.records import TrainConfig, TrainerState

__all__ = ["MAIN", "Line", "line_name", "lines", "checkpoint_config", "flatten",
           "data_seen_and_children"]

MAIN = "main"


@dataclass(frozen=True, kw_only=True)
class Line:
    """One line of training: its checkpoints in order and the checkpoint it forked from."""

    name: str
    checkpoints: tuple[str, ...]
    fork_point: str | None = None

    @property
    def is_main(self) -> bool:
        return self.name == MAIN

    @property
    def label(self) -> str:
        if self.is_main:
            return "main line"
        return f"{self.name} (from {self.fork_point})" if self.fork_point else self.name


def line_name(ckpt: Checkpoint, state: TrainerState | None) -> str:
    recorded = state.lineage if state is not None else None
    if recorded:
        return recorded
    return fork_line(ckpt.name) or MAIN


def _natural(name: str) -> list[int | str]:
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", name)]


def lines(manifest: Manifest, states: Mapping[str, TrainerState]) -> tuple[Line, ...]:
    """The main line first, then the forks in name order (fork2 before fork10)."""
    members: dict[str, list[Checkpoint]] = {}
    of: dict[str, str] = {}
    for ckpt in manifest.checkpoints:  # the manifest orders checkpoints by step
        name = line_name(ckpt, states.get(ckpt.name))
        members.setdefault(name, []).append(ckpt)
        of[ckpt.name] = name
    out = []
    for name in sorted(members, key=lambda n: (n != MAIN, _natural(n))):
        ckpts = members[name]
        first = ckpts[0]
        fork = next((p for p in first.parents if of.get(p, name) != name), None)
        out.append(Line(name=name, checkpoints=tuple(c.name for c in ckpts), fork_point=fork))
    return tuple(out)


def checkpoint_config(name: str, line: Line, state: TrainerState | None,
                      train_config: TrainConfig | None, train_config_path: str
                      ) -> tuple[Mapping[str, Any] | None, str | None]:
    """(the training configuration that produced checkpoint ``name``, where it is recorded).

    Its own ``trainer_state.json`` ``train_config`` when recorded; for the main line,
    ``config/train.json``; otherwise (None, None): a fork's configuration is never guessed."""
    recorded = state.train_config if state is not None else None
    if recorded:
        return recorded, layout.checkpoint_file(name, layout.TRAINER_STATE)
    if line.is_main and train_config is not None:
        return train_config.to_data(), train_config_path
    return None, None


def flatten(data: Mapping[str, Any], prefix: str = "") -> list[tuple[str, object]]:
    """Nested mappings as sorted (dotted key, leaf value) pairs."""
    rows: list[tuple[str, object]] = []
    for key in sorted(data):
        value = data[key]
        if isinstance(value, Mapping) and value:
            rows += flatten(value, f"{prefix}{key}.")
        else:
            rows.append((f"{prefix}{key}", value))
    return rows


def data_seen_and_children(manifest: Manifest) -> tuple[dict[str, tuple[int, ...]],
                                                       dict[str, tuple[str, ...]]]:
    """Per checkpoint: the sorted data chunks it has seen through all its ancestors, and its
    children, in one pass over the graph (``lineage.data_seen`` per checkpoint is quadratic)."""
    by_name = {c.name: c for c in manifest.checkpoints}
    children: dict[str, list[str]] = {c.name: [] for c in manifest.checkpoints}
    for c in manifest.checkpoints:
        for p in c.parents:
            if p in children:
                children[p].append(c.name)
    seen: dict[str, frozenset[int]] = {}
    for c in manifest.checkpoints:
        stack = [c.name]
        while stack:  # parents first; iterative, so a long line never recurses deeply
            name = stack[-1]
            if name in seen:
                stack.pop()
                continue
            todo = [p for p in by_name[name].parents if p in by_name and p not in seen
                    and p not in stack]
            if todo:
                stack.extend(todo)
                continue
            stack.pop()
            acc = set(by_name[name].data_chunks)
            for p in by_name[name].parents:
                acc |= seen.get(p, frozenset())
            seen[name] = frozenset(acc)
    return ({n: tuple(sorted(v)) for n, v in seen.items()},
            {n: tuple(v) for n, v in children.items()})
