"""``RunWriter``: turn any training loop into an llm360 run directory (v1).

    with RunWriter.create(run, metadata=..., model_config=..., train_config=...) as w:
        w.add_chunk(rows)                                  # int token ids, in training order
        w.log(step=1, loss=5.1, lr=1e-3, tokens_seen=512)
        w.write_checkpoint(model=weights, optimizer=moments, rng=rng, step=1, tokens_seen=512)
        w.write_eval("ckpt_000", metrics={"heldout_loss": 5.3})

Every record is schema-checked as it is written; chunk sha256 and Merkle roots, file digests and
root digests are computed from the bytes as written (nothing is read back); a checkpoint is
assembled in ``RUN/.llm360/staging/`` and renamed into ``checkpoints/`` in one step; nothing
the writer did not create is overwritten, and no write goes through a symbolic link (every path
is resolved by ``resolve_inside``, which refuses links and '..'). One process writes a run at a
time: a writer holds the run's lock (``lock``) from ``create``/``open`` (or its first write)
until ``close``. Tensors may be numpy arrays or torch tensors: torch is imported only when it is
handed torch tensors.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from llm360.errors import InputError, UnsafePathError
from llm360.registry import layout
from llm360.registry._files import check_relpath, resolve_inside, write_atomic
from llm360.registry.build import merkle
from llm360.registry.build.hashing import FileDigest, record_written, root_digest
from llm360.registry.manifest.models import DerivedFrom
from llm360.registry.manifest.schema import validate
from llm360.registry.manifest.serialize import canonical_json, read_json
from llm360.registry.run.derived import derived_from_bytes, read_derived_from
from llm360.registry.run.lock import RunLock, lock_run
from llm360.registry.run.records import (
    DataChunkRecord,
    DataIndex,
    EvalDetails,
    EvalRecord,
    LogLine,
    MixtureRecord,
    ParentRef,
    Position,
    Provenance,
    RunMetadata,
    TrainerState,
)
from llm360.registry.run.staging import (
    StagedCheckpoint,
    WrittenCheckpoint,
    checkpoint_root_digest,
    copy_hashed,
)
from llm360.registry.run.tensorfiles import sharded_safetensors, tensors_to_safetensors, token_rows

__all__ = ["RunWriter", "WrittenCheckpoint", "StagedCheckpoint", "checkpoint_root_digest",
           "tensors_to_safetensors", "sharded_safetensors"]


class RunWriter:
    """Writes one run directory; make it with :meth:`create` (a new run) or :meth:`open`."""

    def __init__(self, root: Path, *, log: str = layout.TRAIN_LOG) -> None:
        self.root = Path(root)
        self.log_path = str(check_relpath(log, where="RunWriter log"))
        self._lock: RunLock | None = None
        self._chunks: list[DataChunkRecord] = []
        self._seq_len: int | None = None
        self._index_extra: dict[str, Any] = {}
        self._missing: str | None = None              # why the run has no data chunks
        self._mixture: MixtureRecord | None = None    # kept as read
        self._merkle: str | None = merkle.DEFAULT_FORMAT
        self._pending_chunks: list[int] = []
        self._lines: list[bytes] = []
        self._written: dict[str, WrittenCheckpoint] = {}
        self._last: tuple[str, TrainerState] | None = None
        self._model_config: dict[str, Any] | None = None
        self._digests: dict[str, FileDigest] = {}
        self._derived: DerivedFrom | None = None

    # --- starting -----------------------------------------------------------------------

    @classmethod
    def create(cls, root: Path, *, metadata: RunMetadata | Mapping[str, Any] | bytes,
               model_config: Mapping[str, Any], train_config: Mapping[str, Any],
               data_config: Mapping[str, Any] | None = None,
               tokenizer: bytes | str | Path | None = None,
               provenance: Provenance | None = None,
               derived_from: DerivedFrom | None = None,
               log: str = layout.TRAIN_LOG) -> RunWriter:
        """Start a run: ``llm360.yaml``, ``config/*.json``, the tokenizer and provenance;
        ``derived_from``: the checkpoint of another release the run continues (see
        :meth:`set_derived_from`).

        ``metadata`` may be the YAML bytes of a hand-written ``llm360.yaml`` (checked, then
        written as given). ``tokenizer`` is the bytes (or path) of a ``tokenizer.json``. A
        folder that already
        holds these files with other bytes is refused: a run is never overwritten.
        """
        w = cls(root, log=log)
        w.root.mkdir(parents=True, exist_ok=True)
        w._hold()
        if isinstance(metadata, bytes):
            RunMetadata.from_yaml(metadata, source=layout.RUN_METADATA)
            w._put(layout.RUN_METADATA, metadata)
        else:
            if not isinstance(metadata, RunMetadata):
                validate(dict(metadata), "run_metadata", source=layout.RUN_METADATA)
                metadata = RunMetadata.from_data(metadata)
            w._put(layout.RUN_METADATA, metadata.to_yaml(source=layout.RUN_METADATA))
        w._put_json(layout.MODEL_CONFIG, model_config, "model_config")
        w._put_json(layout.TRAIN_CONFIG, train_config, "train_config")
        if data_config is not None:
            w._put_json(layout.DATA_CONFIG, data_config, "data_config")
        if tokenizer is not None:
            raw = tokenizer if isinstance(tokenizer, bytes) else Path(tokenizer).read_bytes()
            w._put(layout.TOKENIZER, raw)
        prov = provenance if provenance is not None else Provenance.of_this_machine()
        w._put(layout.PROVENANCE, prov.to_json(source=layout.PROVENANCE))
        w._model_config = dict(model_config)
        if derived_from is not None:
            w.set_derived_from(derived_from)
        return w

    @classmethod
    def open(cls, root: Path, *, log: str = layout.TRAIN_LOG) -> RunWriter:
        """Continue writing a run that exists (a resumed job): its data chunks and its latest
        checkpoint (by step) are where new chunks and the next default parent follow."""
        w = cls(root, log=log)
        if not (w.root / layout.RUN_METADATA).is_file():
            raise InputError(f"{w.root}: not a run directory ({layout.RUN_METADATA} is missing)",
                             hint="start it with RunWriter.create")
        w._hold()
        index_file = w.root / layout.DATA_INDEX
        if index_file.is_file():
            index = DataIndex.from_json(index_file.read_bytes(), source=str(index_file))
            w._chunks, w._seq_len = list(index.chunks), index.seq_len
            w._merkle = index.merkle
            w._index_extra = dict(index.extra)
            w._missing, w._mixture = index.missing, index.mixture
        if (w.root / layout.MODEL_CONFIG).is_file():
            w._model_config = read_json(w.root / layout.MODEL_CONFIG)
        ckpts = w.root / layout.CHECKPOINTS_DIR
        states = []
        for folder in sorted(ckpts.iterdir()) if ckpts.is_dir() else ():
            f = folder / layout.TRAINER_STATE
            if f.is_file():
                states.append(TrainerState.from_json(f.read_bytes(), source=str(f)))
        if states:
            last = max(states, key=lambda s: (s.step, s.tokens_seen))
            w._last = (last.checkpoint, last)
        w._derived = read_derived_from(w.root)
        return w

    @property
    def derived_from(self) -> DerivedFrom | None:
        """The checkpoint of another release the run continues, if it does."""
        return self._derived

    def set_derived_from(self, link: DerivedFrom) -> None:
        """Record that the run continues checkpoint ``link.checkpoint`` of another release
        (``config/derived_from.json``; ``llm360.registry.run.derived.link_to`` makes one from the
        parent's manifest). A checkpoint written with ``parents=[link.checkpoint.name]``
        then starts from it, with its recorded root digest, whether or not the run holds a
        copy of it; the release references it instead of holding it."""
        self._put(layout.DERIVED_FROM, derived_from_bytes(link))
        self._derived = link

    def __enter__(self) -> RunWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Write the log lines not yet written and give up the run's lock."""
        try:
            self.flush_log()
        finally:
            if self._lock is not None:
                self._lock.release()
                self._lock = None

    def _hold(self) -> None:
        """Hold the run's writer lock (shared with the rest of this process), or raise
        ``RunLockedError`` naming the process that writes the run."""
        if self._lock is None or not self._lock.held:
            self._lock = lock_run(self.root, command="llm360 RunWriter")

    # --- data ---------------------------------------------------------------------------

    @property
    def chunks(self) -> tuple[DataChunkRecord, ...]:
        return tuple(self._chunks)

    def add_chunk(self, tokens: Any, *, sources: Sequence[str] | None = None
                  ) -> DataChunkRecord:
        """Write the next data chunk: ``tokens`` is [sequences, seq_len] integer token ids,
        rows in the exact order they are (or were) trained on. Computes the chunk's sha256
        and Merkle root and rewrites ``data/index.json``."""
        rows = token_rows(tokens)
        if self._seq_len is not None and rows.shape[1] != self._seq_len:
            raise InputError(f"chunk rows have {rows.shape[1]} tokens; this run's seq_len is "
                             f"{self._seq_len}")
        k = len(self._chunks)
        rel = layout.chunk_path(k)
        raw = tensors_to_safetensors({"tokens": rows})
        self._put(rel, raw)
        record = DataChunkRecord(index=k, path=rel, sha256=hashlib.sha256(raw).hexdigest(),
                                 sequences=int(rows.shape[0]), tokens=int(rows.size),
                                 merkle_root=merkle.rows_merkle_root(
                                     rows, self._merkle or merkle.LEGACY),
                                 sources=tuple(sources) if sources is not None else None)
        self._chunks.append(record)
        self._seq_len = int(rows.shape[1])
        self._pending_chunks.append(k)
        self._write_index()
        return record

    def record_no_data(self, *, seq_len: int, reason: str) -> None:
        """Say in ``data/index.json`` that the data order is not recorded, and why (an
        import of checkpoints trained elsewhere); the openness audit reports it."""
        if self._chunks:
            raise InputError("this run has data chunks; it cannot record that it has none")
        self._seq_len = seq_len
        self._missing = reason
        self._write_index()

    def _write_index(self) -> None:
        index = DataIndex(seq_len=self._seq_len or 1, chunks=tuple(self._chunks),
                          merkle=self._merkle, missing=self._missing, mixture=self._mixture,
                          extra=self._index_extra)
        raw = index.to_json(source=layout.DATA_INDEX)
        path = resolve_inside(self.root, layout.DATA_INDEX)
        if not (path.is_file() and path.read_bytes() == raw):
            self._write(layout.DATA_INDEX, raw)

    def write_file(self, rel: str, data: bytes) -> None:
        """Any other file of the run (e.g. ``data/heldout.safetensors``); pickle is refused,
        and checkpoint folders are written only by :meth:`write_checkpoint`."""
        check_relpath(rel, where="write_file")
        if layout.is_pickle(rel):
            raise InputError(f"{rel}: pickle files are never released",
                             hint="write tensors as safetensors and records as JSON")
        if rel.split("/")[0] in (layout.CHECKPOINTS_DIR, layout.CACHE_DIR):
            raise InputError(f"{rel}: use write_checkpoint for checkpoint files")
        self._put(rel, data)

    # --- steps --------------------------------------------------------------------------

    def log(self, *, step: int, loss: float, lr: float, tokens_seen: int,
            grad_norm: float | None = None, tokens_per_s: float | None = None,
            peak_memory_bytes: int | None = None, **extra: Any) -> LogLine:
        """One line of the training log (one optimizer step); written at the next checkpoint
        or :meth:`flush_log` / :meth:`close`."""
        line = LogLine(step=step, loss=float(loss), lr=float(lr), tokens_seen=tokens_seen,
                       grad_norm=None if grad_norm is None else float(grad_norm),
                       tokens_per_s=None if tokens_per_s is None else float(tokens_per_s),
                       peak_memory_bytes=peak_memory_bytes, extra=extra)
        self.log_line(line)
        return line

    def log_line(self, line: LogLine) -> None:
        """:meth:`log` for a ready-made record."""
        self._lines.append(line.to_json(source=self.log_path))

    def flush_log(self) -> None:
        """Append the buffered log lines to the log file in one write."""
        if not self._lines:
            return
        self._hold()
        path = resolve_inside(self.root, self.log_path, where="RunWriter log")
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(resolve_inside(self.root, self.log_path, where="RunWriter log"),
                     os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC,
                     0o644)
        with os.fdopen(fd, "ab") as fh:
            fh.write(b"".join(line + b"\n" for line in self._lines))
            fh.flush()
            os.fsync(fh.fileno())
        self._lines.clear()

    # --- checkpoints --------------------------------------------------------------------

    @property
    def latest(self) -> str | None:
        """The checkpoint a new one follows by default (the last written, or on
        :meth:`open` the run's checkpoint with the highest step)."""
        return self._last[0] if self._last is not None else None

    def next_checkpoint_name(self) -> str:
        """``ckpt_NNN`` with NNN the number of checkpoints in the run (the next free number
        where that name is taken, or is the parent checkpoint's of another release)."""
        k = self._count_checkpoints()
        taken = {self._derived.checkpoint.name} if self._derived is not None else set()
        while layout.checkpoint_name(k) in taken or \
                (self.root / layout.checkpoint_dir(layout.checkpoint_name(k))).exists():
            k += 1
        return layout.checkpoint_name(k)

    def parent_ref(self, name: str) -> ParentRef:
        """``name`` with its root digest (from what this writer wrote, else from disk)."""
        done = self._written.get(name)
        link = self._derived
        if done is None and link is not None and name == link.checkpoint.name \
                and not (self.root / layout.checkpoint_dir(name)).is_dir():
            return ParentRef(name=name, root_digest=link.checkpoint.root_digest)
        digest = done.root_digest if done else checkpoint_root_digest(self.root, name)
        return ParentRef(name=name, root_digest=digest)

    def write_checkpoint(self, name: str | None = None, *, model: Mapping[str, Any],
                         step: int, tokens_seen: int,
                         optimizer: Mapping[str, Any] | None = None,
                         rng: Mapping[str, Any] | None = None,
                         data_chunks: Sequence[int] | None = None,
                         position: Position | None = None,
                         parents: Sequence[str | ParentRef] | None = None,
                         schedule: Mapping[str, Any] | None = None,
                         metrics: Mapping[str, float] | None = None,
                         config: Mapping[str, Any] | None = None,
                         generation_config: Mapping[str, Any] | None = None,
                         files: Mapping[str, bytes] | None = None,
                         state_extra: Mapping[str, Any] | None = None,
                         max_shard_bytes: int | None = None) -> WrittenCheckpoint:
        """Write checkpoint ``name`` (default ``ckpt_NNN`` by count) all or nothing.

        ``model``: weights by Hugging Face parameter name; ``optimizer``: ``<param>.exp_avg``,
        ``<param>.exp_avg_sq``, ``<param>.step``; ``rng``: RNG states as tensors. Defaults:
        the parent is the previous checkpoint (``parents=()`` for none), ``data_chunks`` the
        chunks added since it, ``config`` the run's model config. ``max_shard_bytes`` splits
        the weights into Hugging Face shards with an index. Returns the digests as written;
        a different checkpoint of the same name raises ``CheckpointExistsError``.
        """
        self.flush_log()
        if name is None:
            name = self.next_checkpoint_name()
        if parents is None:
            parents = [self._last[0]] if self._last is not None else []
        refs = tuple(p if isinstance(p, ParentRef) else self.parent_ref(p) for p in parents)
        chunks = tuple(self._pending_chunks if data_chunks is None else data_chunks)
        if position is None:
            nxt = max(chunks) + 1 if chunks else (
                self._last[1].position.chunk if self._last is not None else 0)
            position = Position(chunk=nxt, row=0)
        state = TrainerState(checkpoint=name, step=step, tokens_seen=tokens_seen,
                             data_chunks=chunks, position=position, parents=refs,
                             schedule=schedule, metrics=metrics, extra=dict(state_extra or {}))
        blobs: dict[str, bytes] = {}
        if not model:
            raise InputError("a checkpoint needs model weights")
        blobs.update(sharded_safetensors("model", model, max_shard_bytes))
        if optimizer:
            blobs.update(sharded_safetensors("optimizer", optimizer, max_shard_bytes))
        if rng:
            blobs[layout.RNG] = tensors_to_safetensors(rng)
        cfg = config if config is not None else self._model_config
        if cfg is not None:
            blobs[layout.CHECKPOINT_CONFIG] = canonical_json(dict(cfg))
        if generation_config is not None:
            blobs[layout.GENERATION_CONFIG] = canonical_json(dict(generation_config))
        for fname, data in (files or {}).items():
            _plain_name(fname, where="checkpoint file")
            if fname in blobs or fname == layout.TRAINER_STATE:
                raise InputError(f"checkpoint file {fname!r}: a plain file name that the "
                                 "writer does not write itself")
            if layout.is_pickle(fname):
                raise InputError(f"{fname}: pickle files are never released",
                                 hint="write tensors as safetensors and records as JSON")
            blobs[fname] = data
        blobs[layout.TRAINER_STATE] = state.to_json(
            source=layout.checkpoint_file(name, layout.TRAINER_STATE))
        written = self.write_checkpoint_files(name, blobs, state=state)
        self._pending_chunks = [k for k in self._pending_chunks if k not in chunks]
        return written

    def write_checkpoint_files(self, name: str, blobs: Mapping[str, bytes | Path], *,
                               state: TrainerState) -> WrittenCheckpoint:
        """The staging-and-rename step of :meth:`write_checkpoint`, for callers that make the
        file bytes themselves (``blobs`` must hold ``trainer_state.json`` for ``state``); a
        ``Path`` value is copied in blocks and hashed as it is copied."""
        staged = self.stage_checkpoint(name, blobs, state=state)
        try:
            return self.commit_checkpoint(staged)
        finally:
            staged.discard()

    def stage_checkpoint(self, name: str,
                         blobs: Mapping[str, bytes | Path | Callable[[], bytes]], *,
                         state: TrainerState) -> StagedCheckpoint:
        """Write every file of checkpoint ``name`` into a new folder of ``RUN/.llm360/staging``
        (hashed as written; a callable value makes its bytes when its turn comes); nothing is in
        ``checkpoints/`` until :meth:`commit_checkpoint`.
        A trainer that journals its records between the two steps calls them apart."""
        _plain_name(name, where="checkpoint name")
        for fname in blobs:
            _plain_name(fname, where=f"checkpoint {name}: file")
        self._hold()
        final = resolve_inside(self.root, layout.checkpoint_dir(name), where="checkpoint")
        staging_root = resolve_inside(self.root, layout.STAGING, where="staging folder")
        staging_root.mkdir(parents=True, exist_ok=True)
        resolve_inside(self.root, layout.STAGING, where="staging folder")  # made, not linked
        tmp = Path(tempfile.mkdtemp(prefix=f"{name}.", dir=staging_root))
        staged = StagedCheckpoint(name=name, folder=tmp, final=final, state=state)
        try:
            for fname, data in blobs.items():
                if callable(data):  # made on demand: one file's bytes in memory at a time
                    data = data()
                if isinstance(data, Path):
                    size, digest = copy_hashed(data, tmp / fname)
                else:
                    write_atomic(tmp / fname, data)
                    size, digest = len(data), hashlib.sha256(data).hexdigest()
                staged.digests[fname], staged.sizes[fname] = digest, size
            os.chmod(tmp, 0o755)
        except BaseException:
            staged.discard()
            raise
        return staged

    def commit_checkpoint(self, staged: StagedCheckpoint) -> WrittenCheckpoint:
        """Rename a staged checkpoint into ``checkpoints/``: status ``written``, or
        ``identical`` when a folder of that name holds the very same bytes (the staged copy is
        dropped). A different checkpoint of that name raises ``CheckpointExistsError``."""
        self._hold()
        status = staged.commit()
        name, digests = staged.name, staged.digests
        result = WrittenCheckpoint(name=name, path=staged.final, files=dict(digests),
                                   root_digest=root_digest(digests.items()), status=status,
                                   state=staged.state)
        self._written[name] = result
        self._last = (name, staged.state)
        if status == "written":  # staged.commit recorded them in the hash cache
            self._record([FileDigest(path=layout.checkpoint_file(name, f),
                                     size=staged.sizes[f], sha256=d)
                          for f, d in digests.items()], cache=False)
        return result

    @property
    def written(self) -> Mapping[str, FileDigest]:
        """Every file this writer wrote (run-relative path -> size and sha256 of the bytes as
        written), the log excepted (it grows)."""
        return dict(self._digests)

    def _record(self, digests: list[FileDigest], *, cache: bool = True) -> None:
        """Keep the digests of files as written: a parent's root digest comes from them, and
        (through the run's hash cache) ``release build`` does not read those bytes again."""
        for d in digests:
            self._digests[d.path] = d
        if cache:
            record_written(self.root, digests)

    def _count_checkpoints(self) -> int:
        folder = self.root / layout.CHECKPOINTS_DIR
        return sum(1 for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else 0

    # --- evals --------------------------------------------------------------------------

    def write_eval(self, checkpoint: str, *, metrics: Mapping[str, float],
                   step: int | None = None, tokens_seen: int | None = None,
                   details: Mapping[str, Any] | None = None) -> EvalRecord:
        """``evals/CHECKPOINT.json``; ``step`` and ``tokens_seen`` default to the
        checkpoint's (when this writer wrote it)."""
        _plain_name(checkpoint, where="write_eval checkpoint")
        done = self._written.get(checkpoint)
        if step is None or tokens_seen is None:
            if done is None:
                raise InputError(f"write_eval({checkpoint!r}): pass step and tokens_seen (this "
                                 "writer did not write that checkpoint)")
            step = done.state.step if step is None else step
            tokens_seen = done.state.tokens_seen if tokens_seen is None else tokens_seen
        record = EvalRecord(checkpoint=checkpoint, step=step, tokens_seen=tokens_seen,
                            metrics=dict(metrics),
                            details=EvalDetails.from_data(details)
                            if details is not None else None)
        rel = layout.eval_path(checkpoint)
        self._write(rel, record.to_json(source=rel))
        return record

    # --- files --------------------------------------------------------------------------

    def _write(self, rel: str, data: bytes, *, exclusive: bool = False) -> None:
        self._hold()
        write_atomic(resolve_inside(self.root, rel, where="run file"), data,
                     exclusive=exclusive)
        self._record([FileDigest(path=rel, size=len(data),
                                 sha256=hashlib.sha256(data).hexdigest())])

    def _put(self, rel: str, data: bytes) -> None:
        """Write ``rel`` unless it holds these bytes already; other bytes are refused."""
        path = resolve_inside(self.root, rel, where="run file")
        try:
            if path.stat().st_size == len(data) and path.read_bytes() == data:
                return
        except FileNotFoundError:
            self._write(rel, data, exclusive=True)
            return
        raise InputError(f"{path}: exists with other content; llm360 never overwrites a run's "
                         "files", hint="write a new run directory, or remove the file yourself")

    def _put_json(self, rel: str, data: Mapping[str, Any], schema: str) -> None:
        data = dict(data)
        validate(data, schema, source=rel)
        self._put(rel, canonical_json(data))


def _plain_name(name: str, *, where: str) -> None:
    """``name`` as one plain file or folder name (no '/', not '.' or '..'), or
    ``UnsafePathError``."""
    if not isinstance(name, str) or "/" in name:
        raise UnsafePathError(f"{where} {name!r}: a plain name is expected (no '/')")
    check_relpath(name, where=where)
