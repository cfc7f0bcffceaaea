"""The data mixture of a run, as its chunk files realise it.

``data prepare --mixture`` records in ``data/index.json`` the mixture's sources and stages and,
per chunk, its stage and its rows per source and per category; each chunk file's ``sources``
column (source index, epoch per row) says the same from the bytes. ``mixture_of`` builds the
manifest's mixture from the chunk facts (``chunks``: counted from the column, never copied
from the index): per stage the target and realised share of every source and category, the
tokens and epochs of every source. ``mixture_problems`` names every chunk whose index record
disagrees with its bytes, as the Merkle roots are checked.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from llm360.registry import layout
from llm360.registry.manifest.models import (
    Mixture,
    MixtureSource,
    SourceCount,
    Stage,
    StageCategory,
    StageSource,
)
from llm360.registry.manifest.problems import Problem
from llm360.registry.run.chunks import ChunkFacts
from llm360.registry.run.data_records import (
    ChunkCounts,
    DataChunkRecord,
    DataIndex,
    MixtureRecord,
    RowCount,
)

__all__ = ["mixture_of", "chunk_sources", "mixture_problems", "chunk_counts_of"]

_ZERO = SourceCount(sequences=0, tokens=0, repeated_sequences=0)


def _name(names: Sequence[str], i: int) -> str:
    return names[i] if 0 <= i < len(names) else f"source#{i}"


def _add(a: SourceCount, b: SourceCount) -> SourceCount:
    return SourceCount(sequences=a.sequences + b.sequences, tokens=a.tokens + b.tokens,
                       repeated_sequences=a.repeated_sequences + b.repeated_sequences)


def _count(c: RowCount) -> SourceCount:
    return SourceCount(sequences=c.sequences, tokens=c.tokens,
                       repeated_sequences=c.repeated_sequences)


def chunk_sources(mix: MixtureRecord, chunk: DataChunkRecord, facts: ChunkFacts | None
                  ) -> dict[str, SourceCount]:
    """A mixture chunk's rows per source: from its ``sources`` column when the facts have
    it, else (the file could not be read) what the index claims."""
    if facts is None or facts.sources is None:
        claimed = chunk.counts.sources if chunk.counts is not None else {}
        return {k: _count(v) for k, v in claimed.items()}
    names = mix.source_names
    return {_name(names, i): SourceCount(sequences=n, tokens=n * facts.seq_len,
                                         repeated_sequences=rep)
            for i, n, rep in facts.sources}


def chunk_counts_of(mix: MixtureRecord, sources: Mapping[str, SourceCount]) -> ChunkCounts:
    """``counts`` as the index writes it (sources and categories) of a chunk's sources."""
    category = mix.categories
    cats: dict[str, SourceCount] = {}
    for name, count in sources.items():
        cat = category.get(name, name)
        cats[cat] = _add(cats.get(cat, _ZERO), count)

    def rows(d: Mapping[str, SourceCount]) -> dict[str, RowCount]:
        return {k: RowCount(sequences=v.sequences, tokens=v.tokens,
                            repeated_sequences=v.repeated_sequences) for k, v in d.items()}
    return ChunkCounts(sources=rows(sources), categories=rows(cats))


def _ratio(part: int, whole: int) -> float:
    return part / whole if whole else 0.0


def mixture_of(mix: MixtureRecord, seq_len: int,
               chunks: Mapping[int, Mapping[str, SourceCount]]) -> Mixture:
    """The manifest's mixture of a run whose index has one, from each chunk's realised rows
    per source (``chunks``: chunk index -> ``chunk_sources``)."""
    category = mix.categories
    population = {s.source_name: s.sequences for s in mix.sources}
    sources = tuple(MixtureSource(
        name=s.source_name, category=s.category, license=s.license,
        reader=s.reader, documents=s.documents, sequences=s.sequences,
        tokens=s.sequences * seq_len) for s in mix.sources)
    stages = []
    for st in mix.stages:
        got: dict[str, SourceCount] = {}
        for k in st.chunks:
            for name, count in chunks.get(k, {}).items():
                got[name] = _add(got.get(name, _ZERO), count)
        total = sum(c.tokens for c in got.values())
        targets = {p.source_name: p for p in st.sources}
        order = list(targets) + sorted(set(got) - set(targets))
        parts = []
        for name in order:
            count, target = got.get(name, _ZERO), targets.get(name)
            cap = target.max_repetition_ratio if target is not None else None
            parts.append(StageSource(
                name=name, category=category.get(name, name),
                target_ratio=float(target.target_ratio) if target is not None else 0.0,
                realised_ratio=_ratio(count.tokens, total),
                max_repetition_ratio=float(cap) if cap is not None else 1.0,
                sequences=count.sequences, tokens=count.tokens,
                repeated_sequences=count.repeated_sequences,
                epochs=_ratio(count.sequences, population.get(name, 0))))
        cats: dict[str, list[StageSource]] = {}
        for part in parts:
            cats.setdefault(part.category, []).append(part)
        stages.append(Stage(
            name=st.name, chunks=tuple(st.chunks),
            sequences=sum(c.sequences for c in got.values()), tokens=total,
            sources=tuple(parts),
            categories=tuple(StageCategory(
                name=cat, target_ratio=sum(p.target_ratio for p in members),
                realised_ratio=_ratio(sum(p.tokens for p in members), total),
                sequences=sum(p.sequences for p in members),
                tokens=sum(p.tokens for p in members),
                repeated_sequences=sum(p.repeated_sequences for p in members))
                for cat, members in cats.items()),
            schedule=dict(st.schedule) if st.schedule else None,
            requested_tokens=st.requested_tokens))
    return Mixture(sources=sources, stages=tuple(stages), definition=mix.definition)


def _first_difference(claim: ChunkCounts | None, real: ChunkCounts, where: str
                      ) -> tuple[str, str] | None:
    """(JSON path, what) of the first count the index claims that the column does not give."""
    for group in ("sources", "categories"):
        have: Mapping[str, RowCount] = getattr(claim, group) if claim is not None else {}
        want: Mapping[str, RowCount] = getattr(real, group)
        for name in sorted(set(have) | set(want)):
            if have.get(name) != want.get(name):
                return (f"{where}.counts.{group}.{name}",
                        f"says {_short(have.get(name))}, the chunk's sources column gives "
                        f"{_short(want.get(name))}")
    return None


def _short(counts: RowCount | None) -> str:
    if counts is None:
        return "no rows"
    return (f"{counts.sequences} sequences ({counts.repeated_sequences} repeated), "
            f"{counts.tokens} tokens")


def mixture_problems(index: DataIndex, facts: Mapping[str, ChunkFacts]) -> list[Problem]:
    """Every place the index's mixture disagrees with the chunk files."""
    mix = index.mixture
    if mix is None:
        return []
    names = mix.source_names
    problems: list[Problem] = []

    def add(file: str, json_path: str | None, message: str) -> None:
        problems.append(Problem(code="data", file=file, json_path=json_path, message=message))

    stage_of: dict[int, str] = {}
    at = 0
    for s, st in enumerate(mix.stages):
        if list(st.chunks) != list(range(at, at + len(st.chunks))):
            add(layout.DATA_INDEX, f"$.mixture.stages[{s}].chunks",
                f"{list(st.chunks)} do not follow the stages before in order (expected from "
                f"chunk {at})")
        stage_of.update((k, st.name) for k in st.chunks)
        at += len(st.chunks)
    if at != len(index.chunks):
        add(layout.DATA_INDEX, "$.mixture.stages",
            f"the stages hold {at} chunks, the index lists {len(index.chunks)}")
    realised: dict[str, dict[str, int]] = {}
    for k, chunk in enumerate(index.chunks):
        where = f"$.chunks[{k}]"
        if chunk.stage != stage_of.get(chunk.index):
            add(layout.DATA_INDEX, f"{where}.stage", f"says {chunk.stage!r}, the stages put "
                f"chunk {chunk.index} in {stage_of.get(chunk.index)!r}")
        got = facts.get(chunk.path)
        if got is None:
            continue  # the file is missing: reported where its sha256 is checked
        if got.sources is None:
            add(chunk.path, None, "has no 'sources' tensor (each row's source and epoch), but "
                f"{layout.DATA_INDEX} says it is a mixture chunk")
            continue
        bad = [i for i, _, _ in got.sources if i >= len(names)]
        if bad:
            add(chunk.path, None, f"its sources column names source index {bad[0]}; the "
                f"mixture has {len(names)} sources")
            continue
        counts = chunk_sources(mix, chunk, got)
        for name, count in counts.items():
            realised.setdefault(chunk.stage or "", {}).setdefault(name, 0)
            realised[chunk.stage or ""][name] += count.sequences
        why = _first_difference(chunk.counts, chunk_counts_of(mix, counts), where)
        if why is not None:
            add(layout.DATA_INDEX, why[0], f"{why[1]} ({chunk.path})")
    for s, st in enumerate(mix.stages):
        for j, part in enumerate(st.sources):
            have = realised.get(st.name, {}).get(part.source_name, 0)
            if part.sequences is not None and part.sequences != have and not problems:
                add(layout.DATA_INDEX, f"$.mixture.stages[{s}].sources[{j}].sequences",
                    f"says {part.sequences}, the stage's chunks hold {have}")
    return problems
