"""A mixture file (``llm360 data prepare --mixture FILE``): data sources and the stages that mix
them, as frozen dataclasses.

The file is YAML (the safe loader; aliases refused), checked against
``schemas/mixture.v1.schema.json`` and then for what a schema cannot say: every stage's target
ratios sum to one, every source a stage names exists, names are unique, every path names a
file. Each problem is one ``SchemaError`` naming the file and the key (JSON path). Names follow
OLMo-core's source mixtures (``source_name``, ``paths``, ``target_ratio``,
``max_repetition_ratio``).

    sequences_per_chunk: 64
    sources:
      - {source_name: prose, category: english, license: PSF-2.0, reader: python-strings,
         paths: ["{stdlib}/pydoc_data/topics.py"]}
    stages:
      - {name: stage1, chunks: 1, sources: [{source_name: prose, target_ratio: 1.0}]}
"""

from __future__ import annotations

import glob
import hashlib
import sysconfig
from dataclasses import dataclass
from pathlib import Path

from llm360.errors import SchemaError
from llm360.registry.manifest.schema import validate
from llm360.registry.manifest.serialize import parse_yaml, read_bytes

__all__ = ["MixtureSource", "StageSource", "Stage", "Mixture", "read_mixture", "STDLIB",
           "RATIO_TOLERANCE", "MAX_MIXTURE_BYTES"]

#: ``{stdlib}`` in a path is the Python standard library of the interpreter that prepares
STDLIB = "{stdlib}"
#: how far a stage's target ratios may sum from one (float rounding of decimal ratios)
RATIO_TOLERANCE = 1e-6
#: a mixture file is a few kilobytes; a larger one is refused before it is parsed
MAX_MIXTURE_BYTES = 1 << 20


@dataclass(frozen=True, kw_only=True)
class MixtureSource:
    """A source of documents: its files, how to read them, its category and license."""

    name: str
    category: str
    license: str
    reader: str
    paths: tuple[str, ...]        # as the file writes them
    files: tuple[Path, ...]       # every file they name, sorted by ``labels``
    labels: tuple[str, ...]       # each file as recorded ({stdlib}/..., or relative)
    max_bytes: int | None = None
    max_document_bytes: int | None = None
    description: str | None = None


@dataclass(frozen=True, kw_only=True)
class StageSource:
    name: str
    target_ratio: float
    max_repetition_ratio: float = 1.0


@dataclass(frozen=True, kw_only=True)
class Stage:
    """A stage: its length (chunks, or a token budget) and its mixture of sources."""

    name: str
    sources: tuple[StageSource, ...]
    chunks: int | None = None
    tokens: int | None = None
    schedule: tuple[tuple[str, float], ...] = ()   # lr / min_lr / warmup_steps overrides
    description: str | None = None

    def chunk_count(self, chunk_tokens: int) -> int | None:
        """Chunks of ``chunk_tokens`` tokens the stage lasts (a budget rounded down)."""
        return self.chunks if self.chunks is not None else (self.tokens or 0) // chunk_tokens


@dataclass(frozen=True, kw_only=True)
class Mixture:
    path: Path
    raw: bytes                    # the file's bytes (config/mixture.yaml keeps them)
    sequences_per_chunk: int
    sources: tuple[MixtureSource, ...]
    stages: tuple[Stage, ...]

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.raw).hexdigest()

    def source_index(self, name: str) -> int:
        return next(i for i, s in enumerate(self.sources) if s.name == name)


def _error(path: Path, where: str, message: str, hint: str | None = None) -> SchemaError:
    return SchemaError(message, file=str(path), json_path=where, hint=hint)


def _stdlib() -> Path:
    return Path(sysconfig.get_paths()["stdlib"])


def _expand(pattern: str, base: Path, path: Path, where: str) -> list[tuple[str, Path]]:
    """(label, file) of every regular file ``pattern`` names."""
    if pattern.startswith(STDLIB):
        root, rest, prefix = _stdlib(), pattern[len(STDLIB):].lstrip("/"), STDLIB + "/"
    else:
        root, rest, prefix = base, pattern, ""
    if not rest or Path(rest).is_absolute():
        raise _error(path, where, f"{pattern!r} is not relative to the mixture file's folder "
                     "or {stdlib}", hint="the run records these paths: an absolute path "
                     "would record this machine's folders")
    if glob.has_magic(rest):
        found = sorted(Path(p) for p in glob.glob(rest, root_dir=root, recursive=True))
        files = [(prefix + p.as_posix(), root / p) for p in found if (root / p).is_file()]
        if not files:
            raise _error(path, where, f"no file matches {pattern!r} (in {root})")
        return files
    target = root / rest
    if target.is_dir():
        raise _error(path, where, f"{pattern!r} is a folder",
                     hint=f"name its files with a glob, e.g. {pattern.rstrip('/')}/**/*.py")
    if not target.is_file():
        raise _error(path, where, f"no such file: {target}")
    return [(prefix + Path(rest).as_posix(), target)]


def _source(data: dict, i: int, base: Path, path: Path) -> MixtureSource:
    found: dict[str, Path] = {}
    for j, pattern in enumerate(data["paths"]):
        for label, file in _expand(pattern, base, path, f"$.sources[{i}].paths[{j}]"):
            found.setdefault(label, file)
    labels = sorted(found)
    return MixtureSource(name=data["source_name"], category=data["category"],
                         license=data["license"], reader=data["reader"],
                         paths=tuple(data["paths"]), labels=tuple(labels),
                         files=tuple(found[label] for label in labels),
                         max_bytes=data.get("max_bytes"),
                         max_document_bytes=data.get("max_document_bytes"),
                         description=data.get("description"))


def _stage(data: dict, i: int, names: set[str], path: Path) -> Stage:
    where = f"$.stages[{i}].sources"
    seen: set[str] = set()
    parts = []
    for j, item in enumerate(data["sources"]):
        name = item["source_name"]
        if name not in names:
            raise _error(path, f"{where}[{j}].source_name", f"unknown source {name!r}",
                         hint=f"the sources are {', '.join(sorted(names))}")
        if name in seen:
            raise _error(path, f"{where}[{j}].source_name", f"source {name!r} is named twice "
                         f"in stage {data['name']!r}")
        seen.add(name)
        parts.append(StageSource(name=name, target_ratio=float(item["target_ratio"]),
                                 max_repetition_ratio=float(item.get("max_repetition_ratio",
                                                                     1.0))))
    total = sum(p.target_ratio for p in parts)
    if abs(total - 1.0) > RATIO_TOLERANCE:
        raise _error(path, where, f"the target_ratio values of stage {data['name']!r} sum to "
                     f"{total:.6g}, not 1", hint="make each stage's ratios sum to one")
    schedule = data.get("schedule") or {}
    if "lr" in schedule and "min_lr" in schedule and schedule["min_lr"] > schedule["lr"]:
        raise _error(path, f"$.stages[{i}].schedule.min_lr", f"min_lr {schedule['min_lr']} "
                     f"is above lr {schedule['lr']}")
    return Stage(name=data["name"], sources=tuple(parts), chunks=data.get("chunks"),
                 tokens=data.get("tokens"), schedule=tuple(sorted(schedule.items())),
                 description=data.get("description"))


def _unique(items: list[dict], key: str, where: str, path: Path) -> None:
    seen: set[str] = set()
    for i, item in enumerate(items):
        if item[key] in seen:
            raise _error(path, f"{where}[{i}].{key}", f"{item[key]!r} is named twice")
        seen.add(item[key])


def read_mixture(path: Path) -> Mixture:
    """The mixture in the YAML file at ``path``, checked; ``SchemaError`` (exit 2, one line
    naming the file and key) for anything wrong."""
    path = Path(path)
    raw = read_bytes(path, str(path), limit=MAX_MIXTURE_BYTES)
    data = parse_yaml(raw, source=str(path))
    validate(data, "mixture", source=str(path))
    _unique(data["sources"], "source_name", "$.sources", path)
    _unique(data["stages"], "name", "$.stages", path)
    base = path.resolve().parent
    sources = tuple(_source(s, i, base, path) for i, s in enumerate(data["sources"]))
    names = {s.name for s in sources}
    stages = tuple(_stage(s, i, names, path) for i, s in enumerate(data["stages"]))
    used = {p.name for st in stages for p in st.sources}
    for i, s in enumerate(sources):
        if s.name not in used:
            raise _error(path, f"$.sources[{i}].source_name", f"source {s.name!r} is in no "
                         "stage", hint="give it a target_ratio in a stage, or remove it")
    return Mixture(path=path, raw=raw, sequences_per_chunk=data["sequences_per_chunk"],
                   sources=sources, stages=stages)
