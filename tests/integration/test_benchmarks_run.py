"""The benchmark scripts run (on tiny inputs) and print their figures: a script that no longer
matches the library fails here, not when someone next measures. Nothing is asserted on time."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


@pytest.mark.parametrize("script,args,expect", [
    ("bench_cards.py", ["--checkpoints", "2", "--repeats", "1"], "unchanged rebuild:"),
    ("bench_hash.py", ["--gib", "0.01", "--checkpoints", "2", "--no-cold"], "engine /"),
    ("bench_trace.py", ["--chunks", "2", "--rows", "64", "--seq-len", "32"], "matches: 1"),
    ("bench_scale.py", ["--checkpoints", "3"], "verify metadata"),
])
def test_benchmark_prints_its_figures(script: str, args: list[str], expect: str,
                                      tmp_path: Path) -> None:
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    result = subprocess.run([sys.executable, str(BENCHMARKS / script), *args], env=env,
                            capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert expect in result.stdout, result.stdout
