"""benchmarks/bench_registry.py runs (on tiny inputs, both backends) and prints its figures;
nothing is asserted on time."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[3] / "benchmarks" / "bench_registry.py"


def test_bench_registry_prints_its_figures(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, str(BENCH), "--n", "3", "--checkpoints", "12",
                             "--chunks", "12", "--family", "3", "--repeats", "2"],
                            env={**os.environ, "TMPDIR": str(tmp_path)}, capture_output=True,
                            text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    for backend in ("sqlite", "postgresql"):
        assert f"{backend}: 3 releases x 12 checkpoints" in result.stdout, result.stdout
    assert result.stdout.count("derived   median") == 2, result.stdout
    assert "chunk -> 1 trained, 24 derived" in result.stdout, result.stdout
