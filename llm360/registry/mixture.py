"""The data mixture of a run, as its chunk files realise it.

``data prepare --mixture`` records in ``data/index.json`` the mixture's sources and stages and,
per chunk, its stage and its rows per source and per category; each chunk file's ``sources``
column (source index, epoch per row) says the same from the bytes. ``mixture_of`` builds the
manifest's mixture from the chunk facts (``_chunks``: counted from the column, never copied
from the index): per stage the target and realised share of every source and category, the
tokens and epochs of every source. ``mixture_problems`` names every chunk whose index record
disagrees with its bytes, as the Merkle roots are checked.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from llm360.registry import layout
from llm360.registry._chunks import ChunkFacts
from llm360.registry.models import (Mixture, MixtureSource, SourceCount, Stage, StageCategory,
                                    StageSource)

__all__ = ["mixture_of", "chunk_sources", "mixture_problems", "chunk_counts_of"]

_ZERO = SourceCount(sequences=0, tokens=0, repeated_sequences=0)


def _names(index: Mapping) -> tuple[list[str], list[str]]:
    sources = index["mixture"]["sources"]
    return [s["source_name"] for s in sources], [s["category"] for s in sources]


def _name(names: Sequence[str], i: int) -> str:
    return names[i] if 0 <= i < len(names) else f"source#{i}"


def _add(a: SourceCount, b: SourceCount) -> SourceCount:
    return SourceCount(sequences=a.sequences + b.sequences, tokens=a.tokens + b.tokens,
                       repeated_sequences=a.repeated_sequences + b.repeated_sequences)


def _from_record(counts: Mapping) -> dict[str, SourceCount]:
    return {k: SourceCount(**v) for k, v in counts.items()}


def chunk_sources(index: Mapping, chunk: Mapping, facts: ChunkFacts | None
                  ) -> dict[str, SourceCount]:
    """A mixture chunk's rows per source: from its ``sources`` column when the facts have
    it, else (the file could not be read) what the index claims."""
    if facts is None or facts.sources is None:
        return _from_record((chunk.get("counts") or {}).get("sources") or {})
    names, _ = _names(index)
    return {_name(names, i): SourceCount(sequences=n, tokens=n * facts.seq_len,
                                         repeated_sequences=rep)
            for i, n, rep in facts.sources}


def chunk_counts_of(index: Mapping, sources: Mapping[str, SourceCount]) -> dict:
    """``counts`` as the index writes it (sources and categories) of a chunk's sources."""
    names, categories = _names(index)
    category = dict(zip(names, categories))
    cats: dict[str, SourceCount] = {}
    for name, count in sources.items():
        cat = category.get(name, name)
        cats[cat] = _add(cats.get(cat, _ZERO), count)

    def plain(d: Mapping[str, SourceCount]) -> dict:
        return {k: {"sequences": v.sequences, "tokens": v.tokens,
                    "repeated_sequences": v.repeated_sequences} for k, v in d.items()}
    return {"sources": plain(sources), "categories": plain(cats)}


def _ratio(part: int, whole: int) -> float:
    return part / whole if whole else 0.0


def mixture_of(index: Mapping, chunks: Mapping[int, Mapping[str, SourceCount]]) -> Mixture:
    """The manifest's mixture of a run whose index has one, from each chunk's realised rows
    per source (``chunks``: chunk index -> ``chunk_sources``)."""
    mix = index["mixture"]
    seq_len = index["seq_len"]
    names, categories = _names(index)
    category = dict(zip(names, categories))
    population = {s["source_name"]: s["sequences"] for s in mix["sources"]}
    sources = tuple(MixtureSource(
        name=s["source_name"], category=s["category"], license=s["license"],
        reader=s["reader"], documents=s["documents"], sequences=s["sequences"],
        tokens=s["sequences"] * seq_len) for s in mix["sources"])
    stages = []
    for st in mix["stages"]:
        got: dict[str, SourceCount] = {}
        for k in st["chunks"]:
            for name, count in chunks.get(k, {}).items():
                got[name] = _add(got.get(name, _ZERO), count)
        total = sum(c.tokens for c in got.values())
        targets = {p["source_name"]: p for p in st["sources"]}
        order = list(targets) + sorted(set(got) - set(targets))
        parts = []
        for name in order:
            count, target = got.get(name, _ZERO), targets.get(name, {})
            parts.append(StageSource(
                name=name, category=category.get(name, name),
                target_ratio=float(target.get("target_ratio", 0.0)),
                realised_ratio=_ratio(count.tokens, total),
                max_repetition_ratio=float(target.get("max_repetition_ratio", 1.0)),
                sequences=count.sequences, tokens=count.tokens,
                repeated_sequences=count.repeated_sequences,
                epochs=_ratio(count.sequences, population.get(name, 0))))
        cats: dict[str, list[StageSource]] = {}
        for part in parts:
            cats.setdefault(part.category, []).append(part)
        stages.append(Stage(
            name=st["name"], chunks=tuple(st["chunks"]),
            sequences=sum(c.sequences for c in got.values()), tokens=total,
            sources=tuple(parts),
            categories=tuple(StageCategory(
                name=cat, target_ratio=sum(p.target_ratio for p in members),
                realised_ratio=_ratio(sum(p.tokens for p in members), total),
                sequences=sum(p.sequences for p in members),
                tokens=sum(p.tokens for p in members),
                repeated_sequences=sum(p.repeated_sequences for p in members))
                for cat, members in cats.items()),
            schedule=dict(st["schedule"]) if st.get("schedule") else None,
            requested_tokens=st.get("requested_tokens")))
    return Mixture(sources=sources, stages=tuple(stages), definition=mix.get("definition"))


def _first_difference(claim: Mapping, real: Mapping, where: str) -> str | None:
    for group in ("sources", "categories"):
        have, want = claim.get(group) or {}, real.get(group) or {}
        for name in sorted(set(have) | set(want)):
            if have.get(name) != want.get(name):
                return (f"its sources column gives {group} {name!r} "
                        f"{_short(want.get(name))}, {layout.DATA_INDEX} {where}.counts."
                        f"{group}.{name} says {_short(have.get(name))}")
    return None


def _short(counts: Mapping | None) -> str:
    if not counts:
        return "no rows"
    return (f"{counts['sequences']} sequences ({counts['repeated_sequences']} repeated), "
            f"{counts['tokens']} tokens")


def mixture_problems(index: Mapping, facts: Mapping[str, ChunkFacts]) -> list[tuple[str, str]]:
    """(path, message) for every place the index's mixture disagrees with the chunk files."""
    if "mixture" not in index:
        return []
    names, _ = _names(index)
    problems: list[tuple[str, str]] = []
    chunks = index["chunks"]
    stage_of: dict[int, str] = {}
    at = 0
    for s, st in enumerate(index["mixture"]["stages"]):
        if list(st["chunks"]) != list(range(at, at + len(st["chunks"]))):
            problems.append((layout.DATA_INDEX, f"$.mixture.stages[{s}].chunks: "
                             f"{st['chunks']} do not follow the stages before in order "
                             f"(expected from chunk {at})"))
        stage_of.update((k, st["name"]) for k in st["chunks"])
        at += len(st["chunks"])
    if at != len(chunks):
        problems.append((layout.DATA_INDEX, f"$.mixture.stages: the stages hold {at} chunks, "
                         f"the index lists {len(chunks)}"))
    realised: dict[str, dict[str, int]] = {}
    for k, chunk in enumerate(chunks):
        where = f"$.chunks[{k}]"
        if chunk.get("stage") != stage_of.get(chunk["index"]):
            problems.append((layout.DATA_INDEX, f"{where}.stage: says "
                             f"{chunk.get('stage')!r}, the stages put chunk {chunk['index']} "
                             f"in {stage_of.get(chunk['index'])!r}"))
        got = facts.get(chunk["path"])
        if got is None:
            continue  # the file is missing: reported where its sha256 is checked
        if got.sources is None:
            problems.append((chunk["path"], "has no 'sources' tensor (each row's source and "
                             f"epoch), but {layout.DATA_INDEX} says it is a mixture chunk"))
            continue
        bad = [i for i, _, _ in got.sources if i >= len(names)]
        if bad:
            problems.append((chunk["path"], f"its sources column names source index {bad[0]}; "
                             f"the mixture has {len(names)} sources"))
            continue
        counts = chunk_sources(index, chunk, got)
        for name, count in counts.items():
            realised.setdefault(chunk.get("stage") or "", {}).setdefault(name, 0)
            realised[chunk.get("stage") or ""][name] += count.sequences
        why = _first_difference(chunk.get("counts") or {}, chunk_counts_of(index, counts), where)
        if why is not None:
            problems.append((chunk["path"], why))
    for s, st in enumerate(index["mixture"]["stages"]):
        for j, part in enumerate(st["sources"]):
            have = realised.get(st["name"], {}).get(part["source_name"], 0)
            if "sequences" in part and part["sequences"] != have and not problems:
                problems.append((layout.DATA_INDEX, f"$.mixture.stages[{s}].sources[{j}]."
                                 f"sequences: says {part['sequences']}, the stage's chunks hold "
                                 f"{have}"))
    return problems
