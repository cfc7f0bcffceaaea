"""code/provenance.json (git commit and dirty state, package versions, hardware) and the starter
llm360.yaml of a run."""

from __future__ import annotations

import os
import platform
import re
import subprocess
from importlib import metadata
from pathlib import Path

import llm360
from llm360.registry.run.records import DataConfig, DataSource

__all__ = ["collect_provenance", "starter_metadata", "PACKAGES"]

PACKAGES = ("llm360", "torch", "numpy", "safetensors", "tokenizers", "deepspeed", "transformers")


def _git(repo: Path, *args: str) -> str | None:
    try:
        out = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True,
                             timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def _code() -> dict:
    pkg = Path(llm360.__file__).resolve().parent
    top = _git(pkg.parent, "rev-parse", "--show-toplevel")
    if top is None or not (Path(top) / "llm360" / "__init__.py").is_file():
        return {"repository": None, "commit": None, "dirty": None}
    commit = _git(pkg.parent, "rev-parse", "HEAD")
    if commit is not None and not re.fullmatch(r"[0-9a-f]{40}([0-9a-f]{24})?", commit):
        commit = None
    status = _git(pkg.parent, "status", "--porcelain", "--untracked-files=no")
    url = _git(pkg.parent, "remote", "get-url", "origin")
    return {"repository": url if url and re.match(r"^(https?|ssh|git)://|^git@", url) else None,
            "commit": commit, "dirty": None if commit is None or status is None else bool(status)}


def _hardware() -> str:
    parts = [f"{os.cpu_count()} CPU"]
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                parts[0] += f" ({line.split(':', 1)[1].strip()})"
                break
    except OSError:
        pass
    try:
        import torch

        if torch.cuda.is_available():
            parts += [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
    except ImportError:
        pass
    return ", ".join(parts)


def collect_provenance() -> dict:
    """The provenance record; on a CUDA machine ``environment.accelerator`` adds the GPU
    models and memory, the driver, CUDA, cuDNN and NCCL versions."""
    packages = {}
    for name in PACKAGES:
        try:
            packages[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    env = {"python": platform.python_version(),
           "platform": f"{platform.system().lower()}-{platform.machine()}",
           "hardware": _hardware()}
    try:
        from llm360.train.device import accelerator_info

        accel = accelerator_info()
    except ImportError:
        accel = None
    if accel is not None:
        env["accelerator"] = accel
    return {"schema_version": "llm360.provenance/v1", "code": _code(), "packages": packages,
            "environment": env}


def starter_metadata(run_dir: Path, *, preset: str, data_config: DataConfig) -> dict:
    """A minimal llm360.yaml a team edits before releasing."""
    name = re.sub(r"[^A-Za-z0-9._-]", "-", Path(run_dir).resolve().name)[:96]
    if not name or not name[0].isalnum():
        name = f"run-{name}"[:96]
    stdlib = any(isinstance(s, DataSource) and s.kind == "python-stdlib"
                 for s in data_config.sources or ())
    corpus = "the Python standard library" if stdlib else "a user-supplied corpus"
    meta = {"name": name, "version": "0.1.0",
            "description": f"A {preset} LLaMA model pretrained with llm360 on {corpus}.",
            "authors": [],
            "licenses": {"weights": "Apache-2.0", "code": "Apache-2.0",
                         "data": "PSF-2.0" if stdlib else "NOASSERTION",
                         "documentation": "CC-BY-4.0"},
            "links": {}}
    if stdlib:
        meta["language"] = ["code"]
    return meta
