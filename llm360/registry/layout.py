"""Every path of a run directory (v1) and of a release, named once.

Paths are relative POSIX strings (what manifests and records hold); join them to a root with
``root / path``. Nothing here touches the disk: the module is the vocabulary that the trainer,
the writer, the reader, the build, the signing and the cards share. Anything that spells
``checkpoints/`` or ``model.sig`` elsewhere should import the name from here instead.
"""

from __future__ import annotations

import re

__all__ = [
    # run directory: records
    "RUN_METADATA", "CONFIG_DIR", "MODEL_CONFIG", "TRAIN_CONFIG", "DATA_CONFIG",
    "TOKENIZER_DIR", "TOKENIZER", "DATA_DIR", "DATA_INDEX", "HELDOUT", "CODE_DIR", "PROVENANCE",
    "CODE_ARCHIVE", "DERIVED_FROM",
    "LOGS_DIR", "TRAIN_LOG", "EVALS_DIR", "CHECKPOINTS_DIR", "REQUIRED",
    # run directory: functions
    "chunk_path", "chunk_index", "checkpoint_name", "checkpoint_suffix", "checkpoint_name_problem",
    "checkpoint_dir", "checkpoint_file",
    "checkpoint_of", "log_path", "eval_path", "is_eval_record",
    # benchmarks (lm-evaluation-harness results)
    "BENCHMARKS_DIR", "BENCHMARK_ROWS", "BENCHMARK_RAW_DIR", "BENCHMARK_TASKS_DIR",
    "benchmark_raw_path", "benchmark_task_path",
    # checkpoint folder
    "MODEL_WEIGHTS", "WEIGHTS_INDEX", "OPTIMIZER", "OPTIMIZER_INDEX", "RNG", "TRAINER_STATE",
    "CHECKPOINT_CONFIG", "GENERATION_CONFIG", "CHECKPOINT_TOKENIZER_FILES", "shard_name",
    "shard_index", "weights_shard", "is_weights_file",
    # tool-owned folders
    "CACHE_DIR", "HASH_CACHE", "CHUNK_CACHE", "CARDS_CACHE", "VALID_CACHE", "STAGING", "PENDING",
    "WRITER_LOCK",
    "IGNORED_DIRS",
    # release
    "MANIFEST", "BUNDLE", "RELEASE_FILES_LIST", "PUBLICATION", "INCOMPLETE_MARK",
    "SIGNATURES_DIR", "MODEL_SIG", "signature_path", "MODEL_CARD", "CARDS_DIR",
    "checkpoint_card", "DATA_CARD", "PLOTS_DIR", "plot_path", "CROISSANT", "SPDX_BOM",
    "CYCLONEDX_BOM", "RELEASE_NAMES",
    # rules
    "PICKLE_SUFFIXES", "is_pickle", "artifact_kind", "ARTIFACT_KINDS", "SAFETENSORS_METADATA",
]

# --- the run directory --------------------------------------------------------------------

RUN_METADATA = "llm360.yaml"
CONFIG_DIR = "config"
MODEL_CONFIG = f"{CONFIG_DIR}/model.json"
TRAIN_CONFIG = f"{CONFIG_DIR}/train.json"
DATA_CONFIG = f"{CONFIG_DIR}/data.json"
#: the checkpoint of another release the run continues (``llm360 pull`` writes it)
DERIVED_FROM = f"{CONFIG_DIR}/derived_from.json"
TOKENIZER_DIR = "tokenizer"
TOKENIZER = f"{TOKENIZER_DIR}/tokenizer.json"
DATA_DIR = "data"
DATA_INDEX = f"{DATA_DIR}/index.json"
HELDOUT = f"{DATA_DIR}/heldout.safetensors"
CODE_DIR = "code"
PROVENANCE = f"{CODE_DIR}/provenance.json"
#: the trainer's source code as it ran (a reproducible .tar.gz; ``llm360 train`` writes it)
CODE_ARCHIVE = f"{CODE_DIR}/llm360-train.tar.gz"
LOGS_DIR = "logs"
TRAIN_LOG = f"{LOGS_DIR}/train.jsonl"
EVALS_DIR = "evals"
CHECKPOINTS_DIR = "checkpoints"

#: what every run directory holds (``release build`` refuses a run without one of them)
REQUIRED = (RUN_METADATA, MODEL_CONFIG, TRAIN_CONFIG, DATA_INDEX, PROVENANCE)

_CHUNK = re.compile(rf"^{DATA_DIR}/chunk_(\d+)\.safetensors$")
_CKPT = re.compile(r"^ckpt_(\d+)(.*)$")


def chunk_path(k: int) -> str:
    """``data/chunk_007.safetensors``: data chunk ``k`` (rows in the order trained on)."""
    return f"{DATA_DIR}/chunk_{k:03d}.safetensors"


def chunk_index(rel: str) -> int | None:
    """The ``k`` of a path written by :func:`chunk_path`, else ``None``."""
    m = _CHUNK.match(rel)
    return int(m.group(1)) if m else None


def checkpoint_name(k: int, suffix: str = "") -> str:
    """``ckpt_007`` (or ``ckpt_007-fork1``): the state after data chunk ``k``."""
    return f"ckpt_{k:03d}{suffix}"


def checkpoint_suffix(name: str) -> str | None:
    """The ``suffix`` of a name :func:`checkpoint_name` writes (``-fork1``, or ""), else None."""
    m = _CKPT.match(name)
    return m.group(2) if m else None


#: a checkpoint name: a plain Hub branch name (the schema's ``checkpoint_name``)
_BRANCH_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,95}")
#: names another ref of a published release takes or resolves first: the default branch,
#: git's HEAD, a release tag (``v<version>``), a commit id
_REF_LIKE = (
    (re.compile(r"(?i:main)"), "is the Hub's default branch, which holds the release itself"),
    (re.compile(r"(?i:head)"), "is git's name for the current commit"),
    (re.compile(r"v[0-9].*"), "has the form of a release tag (v<version>)"),
    (re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}"), "has the form of a commit id"),
    (re.compile(r".*\.\..*|.*\.|.*\.lock"), "is not a git branch name ('..', or ending in '.' "
                                          "or '.lock')"),
)


def checkpoint_name_problem(name: str) -> str | None:
    """Why ``name`` cannot name a checkpoint, or None. A checkpoint's name is its folder and
    its own branch on the Hub, so it is a plain branch name (1-96 letters, digits, '.', '_'
    or '-', no '/') that no other ref of the release takes: not ``main``, ``HEAD``, a tag
    ``v<version>`` or a commit id. ``release build`` refuses the others; the Hub layout gives
    them no branch."""
    if not _BRANCH_NAME.fullmatch(name):
        return ("is not a plain branch name (1-96 letters, digits, '.', '_' or '-', starting "
                "with a letter or digit)")
    for pattern, why in _REF_LIKE:
        if pattern.fullmatch(name):
            return why
    return None


def checkpoint_dir(name: str) -> str:
    """``checkpoints/NAME``: the folder of checkpoint ``name``."""
    return f"{CHECKPOINTS_DIR}/{name}"


def checkpoint_file(name: str, filename: str) -> str:
    """``checkpoints/NAME/FILENAME``."""
    return f"{CHECKPOINTS_DIR}/{name}/{filename}"


def checkpoint_of(rel: str) -> str | None:
    """The checkpoint a run-relative path belongs to (``checkpoints/NAME/...``), else None."""
    parts = rel.split("/")
    if len(parts) >= 3 and parts[0] == CHECKPOINTS_DIR:
        return parts[1]
    return None


def log_path(suffix: str = "") -> str:
    """``logs/train.jsonl``, or ``logs/train-fork1.jsonl`` for a fork's own log."""
    return f"{LOGS_DIR}/train{suffix}.jsonl"


def eval_path(checkpoint: str) -> str:
    """``evals/NAME.json``: the evaluation of one checkpoint."""
    return f"{EVALS_DIR}/{checkpoint}.json"


def is_eval_record(rel: str) -> bool:
    """True for ``evals/NAME.json`` (an eval record); ``evals/benchmarks/`` holds the rest."""
    parts = rel.split("/")
    return len(parts) == 2 and parts[0] == EVALS_DIR and parts[1].endswith(".json")


# --- benchmarks: lm-evaluation-harness results per checkpoint ------------------------------

BENCHMARKS_DIR = f"{EVALS_DIR}/benchmarks"
#: one normalised row per (checkpoint, task, metric, filter, n-shot, limit), and older reruns
BENCHMARK_ROWS = f"{BENCHMARKS_DIR}/rows.json"
#: the harness's own results files, as it wrote them (sorted-key JSON), per checkpoint
BENCHMARK_RAW_DIR = f"{BENCHMARKS_DIR}/raw"
#: harness task definitions (YAML) and their data (JSONL) built from the run's held-out set
BENCHMARK_TASKS_DIR = f"{BENCHMARKS_DIR}/tasks"


def benchmark_raw_path(checkpoint: str, sha256: str) -> str:
    """``evals/benchmarks/raw/NAME/results-<sha256[:16]>.json``: one harness results file."""
    return f"{BENCHMARK_RAW_DIR}/{checkpoint}/results-{sha256[:16]}.json"


def benchmark_task_path(task: str, suffix: str) -> str:
    """``evals/benchmarks/tasks/TASK.yaml`` (``suffix`` ``.yaml``) or its data ``.jsonl``."""
    return f"{BENCHMARK_TASKS_DIR}/{task}{suffix}"


# --- a checkpoint folder ------------------------------------------------------------------

MODEL_WEIGHTS = "model.safetensors"
#: the Hugging Face index of sharded weights (``weight_map``: tensor name -> shard file)
WEIGHTS_INDEX = "model.safetensors.index.json"
OPTIMIZER = "optimizer.safetensors"
#: the index of a sharded optimizer state (same shape as ``WEIGHTS_INDEX``)
OPTIMIZER_INDEX = "optimizer.safetensors.index.json"
RNG = "rng.safetensors"
TRAINER_STATE = "trainer_state.json"
CHECKPOINT_CONFIG = "config.json"
GENERATION_CONFIG = "generation_config.json"
#: tokenizer files a checkpoint may carry so ``from_pretrained(revision=CKPT)`` finds them
CHECKPOINT_TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json",
                              "special_tokens_map.json")
#: the only safetensors metadata llm360 writes (two or more keys are written in random order)
SAFETENSORS_METADATA = {"format": "pt"}

_SHARD = re.compile(r"^(model|optimizer)-(\d{5})-of-(\d{5})\.safetensors$")


def shard_name(prefix: str, i: int, n: int) -> str:
    """``PREFIX-00001-of-00004.safetensors``: shard ``i`` (1-based) of ``n``, as Hugging Face
    names them (``prefix`` is ``model`` or ``optimizer``)."""
    if not 1 <= i <= n:
        raise ValueError(f"shard {i} of {n}")
    return f"{prefix}-{i:05d}-of-{n:05d}.safetensors"


def shard_index(prefix: str) -> str:
    """``PREFIX.safetensors.index.json``: the index of a sharded ``prefix`` file."""
    return f"{prefix}.safetensors.index.json"


def weights_shard(i: int, n: int) -> str:
    """``model-00001-of-00004.safetensors``."""
    return shard_name("model", i, n)


def is_weights_file(filename: str) -> bool:
    """True for ``model.safetensors`` and its shards."""
    if filename == MODEL_WEIGHTS:
        return True
    m = _SHARD.match(filename)
    return m is not None and m.group(1) == "model"


# --- folders the tool owns inside a run (never artifacts) ----------------------------------

CACHE_DIR = ".llm360"
HASH_CACHE = f"{CACHE_DIR}/hash-cache.json"
#: facts read from data chunk files (rows, tokens, Merkle root), keyed by sha256
CHUNK_CACHE = f"{CACHE_DIR}/chunk-cache.json"
#: rendered cards, keyed by their inputs
CARDS_CACHE = f"{CACHE_DIR}/cards"
#: digests of records already found valid against their schemas (``schema.Validated``)
VALID_CACHE = f"{CACHE_DIR}/validated.json"
#: checkpoints are assembled here and renamed into ``checkpoints/`` in one step
STAGING = f"{CACHE_DIR}/staging"
#: a trainer's journal of a checkpoint's eval and log lines until they are written
PENDING = f"{CACHE_DIR}/pending"
#: held (``fcntl.flock``) by the one process writing the run; it names that process
WRITER_LOCK = f"{CACHE_DIR}/writer.lock"
IGNORED_DIRS = frozenset({CACHE_DIR, ".git", "__pycache__"})

# --- the release --------------------------------------------------------------------------

MANIFEST = "manifest.json"
BUNDLE = "manifest.sigstore.json"
#: the signed list of the release's own files (cards, plots, signatures) and its layout
RELEASE_FILES_LIST = "release-files.json"
#: written by ``llm360 push``: where the release was published
PUBLICATION = "publication.json"
#: present while a release folder is being assembled
INCOMPLETE_MARK = ".llm360-incomplete"
SIGNATURES_DIR = "signatures"
MODEL_SIG = "model.sig"
MODEL_CARD = "README.md"
CARDS_DIR = "cards"
DATA_CARD = "DATA_CARD.md"
PLOTS_DIR = "plots"
#: the release in the formats other tools read (``llm360 export``): Croissant 1.1 (the data),
#: SPDX 3.0.1 and a CycloneDX 1.6 ML-BOM
CROISSANT = "croissant.json"
SPDX_BOM = "bom.spdx.json"
CYCLONEDX_BOM = "bom.cdx.json"
#: top-level files and folders a release writes itself beside the run's artifacts
RELEASE_NAMES = (MANIFEST, BUNDLE, RELEASE_FILES_LIST, PUBLICATION, SIGNATURES_DIR, MODEL_CARD,
                 CARDS_DIR, DATA_CARD, PLOTS_DIR,
                 CROISSANT, SPDX_BOM, CYCLONEDX_BOM)


def signature_path(checkpoint: str) -> str:
    """``signatures/NAME/model.sig``: the OMS signature of one checkpoint."""
    return f"{SIGNATURES_DIR}/{checkpoint}/{MODEL_SIG}"


def checkpoint_card(checkpoint: str) -> str:
    """``cards/NAME.md``: the card of one checkpoint."""
    return f"{CARDS_DIR}/{checkpoint}.md"


def plot_path(name: str) -> str:
    """``plots/NAME.png``."""
    return f"{PLOTS_DIR}/{name}.png"


# --- rules --------------------------------------------------------------------------------

PICKLE_SUFFIXES = (".pt", ".pth", ".bin", ".pkl", ".pickle", ".ckpt")

#: every ``kind`` an artifact of the manifest can have
ARTIFACT_KINDS = ("weights", "optimizer", "rng", "trainer_state", "checkpoint_config",
                  "generation_config", "data_chunk", "data_index", "config", "tokenizer", "log",
                  "eval", "benchmark_rows", "benchmark_results", "benchmark_task",
                  "provenance", "code_archive", "metadata", "other")

_CHECKPOINT_KINDS = {RNG: "rng", TRAINER_STATE: "trainer_state",
                     CHECKPOINT_CONFIG: "checkpoint_config",
                     GENERATION_CONFIG: "generation_config"}
_TOP_KINDS = {CONFIG_DIR: "config", TOKENIZER_DIR: "tokenizer", LOGS_DIR: "log",
              EVALS_DIR: "eval"}


def is_pickle(rel: str) -> bool:
    """True for a file name that says pickle (``.pt``, ``.bin``, ...): never released."""
    return rel.lower().endswith(PICKLE_SUFFIXES)


def artifact_kind(rel: str) -> str:
    """The manifest ``kind`` of a file from where it sits in the run directory."""
    parts = rel.split("/")
    name = parts[-1]
    if parts[0] == CHECKPOINTS_DIR and len(parts) == 3:
        # single files or Hugging Face shards (model-00001-of-00003.safetensors) + their index
        for prefix, kind in (("model", "weights"), ("optimizer", "optimizer")):
            if name.startswith(prefix) and name.endswith((".safetensors",
                                                          ".safetensors.index.json")):
                return kind
        if name in CHECKPOINT_TOKENIZER_FILES:
            return "tokenizer"
        return _CHECKPOINT_KINDS.get(name, "other")
    if rel == BENCHMARK_ROWS:
        return "benchmark_rows"
    if rel.startswith(f"{BENCHMARK_RAW_DIR}/"):
        return "benchmark_results"
    if rel.startswith(f"{BENCHMARK_TASKS_DIR}/"):
        return "benchmark_task"
    if parts[0] == DATA_DIR:
        if rel == DATA_INDEX:
            return "data_index"
        if name.endswith(".safetensors"):
            return "data_chunk"
    if parts[0] in _TOP_KINDS and len(parts) > 1:
        return _TOP_KINDS[parts[0]]
    if rel == PROVENANCE:
        return "provenance"
    if rel == CODE_ARCHIVE:
        return "code_archive"
    if rel == RUN_METADATA:
        return "metadata"
    return "other"
