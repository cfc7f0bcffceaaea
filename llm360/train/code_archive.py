"""The trainer's own code, archived into the run it trains: ``code/llm360-train.tar.gz``.

A reproducible archive of the ``llm360.train`` package as it ran (model, data preparation and
mixtures, training loop, evaluation): files sorted by name, every mtime 0, uid and gid 0, no
user or group names, mode 0644, ustar format, gzip with mtime 0 and no file name. The same
code gives the same bytes (with the same zlib), so its sha256 names the code. Its digest goes
into ``code/provenance.json`` and the manifest, which lists it as the release's training,
evaluation, data preprocessing, model architecture and inference code.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import tarfile
from importlib import metadata
from pathlib import Path

import llm360
from llm360.registry import layout
from llm360.registry.build.hashing import write_recorded

__all__ = ["source_archive", "write_code_archive", "COMPONENT_FILES"]

#: MOF component -> the file of the archive that is that component
COMPONENT_FILES = {
    "model_architecture": "llm360/train/model.py",
    "inference_code": "llm360/train/model.py",
    "training_code": "llm360/train/loop.py",
    "evaluation_code": "llm360/train/evaluate.py",
    "data_preprocessing_code": "llm360/train/data.py",
}


def _files() -> list[tuple[str, Path]]:
    package = Path(__file__).resolve().parent
    top = package.parent.parent
    return sorted(((p.relative_to(top).as_posix(), p) for p in package.rglob("*.py")
                   if "__pycache__" not in p.parts), key=lambda item: item[0])


def source_archive() -> tuple[bytes, list[str]]:
    """(the .tar.gz bytes, the names in it) of the ``llm360.train`` package."""
    tar_bytes = io.BytesIO()
    names = []
    with tarfile.open(fileobj=tar_bytes, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for name, path in _files():
            data = path.read_bytes()
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(data), 0, 0o644
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            tar.addfile(info, io.BytesIO(data))
            names.append(name)
    out = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=out, compresslevel=9, mtime=0) as gz:
        gz.write(tar_bytes.getvalue())
    return out.getvalue(), names


def write_code_archive(run_dir: Path) -> dict:
    """Write the archive into the run; the record ``code/provenance.json`` keeps of it."""
    raw, names = source_archive()
    write_recorded(run_dir, layout.CODE_ARCHIVE, raw)
    try:
        version = metadata.version("llm360")
    except metadata.PackageNotFoundError:
        version = llm360.__version__
    return {"path": layout.CODE_ARCHIVE, "sha256": hashlib.sha256(raw).hexdigest(),
            "package": "llm360", "version": version, "files": names,
            "components": {k: v for k, v in COMPONENT_FILES.items() if v in names}}
