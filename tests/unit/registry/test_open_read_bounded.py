"""An artifact read through open_release is read no further than the manifest's size: a
file grown past it (a hostile or corrupted release) is a verification failure, not a read
of all its bytes."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import pytest

from llm360.errors import VerificationError
from llm360.registry.build.release import BuildOptions, build_release
from llm360.registry.verify.open import open_release


def test_a_grown_artifact_fails_without_reading_it_whole(synthetic_run: Path,
                                                          tmp_path: Path) -> None:
    build_release(synthetic_run, tmp_path / "release",
                  options=BuildOptions(created="2026-11-27T00:00:00Z", use_cache=False))
    release = open_release(tmp_path / "release")
    art = min(release.manifest.artifacts, key=lambda a: a.size)
    assert release.read(art.path)  # as built: checked and returned
    with open(release.root / art.path, "ab") as fh:
        fh.truncate(art.size + (64 << 20))  # sparse: 64 MiB more
    tracemalloc.start()
    try:
        with pytest.raises(VerificationError, match=art.path.rsplit("/", 1)[-1]):
            release.read(art.path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 16 << 20
