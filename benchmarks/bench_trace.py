"""`llm360 trace` over a release of 1 GB of data chunks (target: an answer in < 10 s).

Writes a synthetic run of 8 chunks x 16,384 rows x 2,048 int32 tokens (1 GiB; token ids
0..255, so every id is frequent: a hard case for the search), builds its release, then times a
32-token query that crosses a row boundary in the last chunk:

- trace, chunk bytes checked against the manifest first (what the command does);
- the search alone (bytes not checked);
- the Merkle proof of the two matched rows (hashes every row of that chunk).

    .venv/bin/python benchmarks/bench_trace.py [--chunks 8] [--rows 16384] [--seq-len 2048]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

from llm360.registry.analysis.trace import build_proofs, check_proofs, find_tokens
from llm360.registry.build.release import BuildOptions, build_release
from llm360.registry.verify.open import open_release

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from _synthetic import write_synthetic_run  # noqa: E402  (a test helper, not the library)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=8)
    parser.add_argument("--rows", type=int, default=16384)
    parser.add_argument("--seq-len", type=int, default=2048)
    parser.add_argument("--dir", type=Path, help="scratch folder (default: a temporary one)")
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(dir=args.dir))
    try:
        start = time.perf_counter()
        run = write_synthetic_run(scratch / "run", checkpoints=args.chunks, rows=args.rows,
                                  seq_len=args.seq_len)
        build_release(run, scratch / "release",
                      options=BuildOptions(created="2026-11-27T00:00:00Z", use_cache=False))
        source = open_release(scratch / "release")
        data_bytes = sum(c.tokens for c in source.manifest.data.chunks) * 4
        print(f"setup: {data_bytes / 2**30:.2f} GiB in {args.chunks} chunks, "
              f"{time.perf_counter() - start:.1f} s")
        from llm360.registry.run.safetensors_header import read_rows

        last = source.manifest.data.chunks[-1]
        rows = read_rows(source.path(last.path))
        row = args.rows // 2
        query = rows[row][-16:].tolist() + rows[row + 1][:16].tolist()

        t0 = time.perf_counter()
        result = find_tokens(source, query)
        t_full = time.perf_counter() - t0
        assert any(m.chunk == last.index and m.row == row for m in result.matches)
        t0 = time.perf_counter()
        find_tokens(source, query, check_bytes=False)
        t_search = time.perf_counter() - t0
        t0 = time.perf_counter()
        doc = build_proofs(source, result)
        t_proof = time.perf_counter() - t0
        t0 = time.perf_counter()
        assert check_proofs(source.manifest, source.manifest_sha256, doc) == []
        t_check = time.perf_counter() - t0
        gib = data_bytes / 2**30
        print(f"trace (sha256 check + search): {t_full:.2f} s  ({gib / t_full:.2f} GiB/s)")
        print(f"search only:                   {t_search:.2f} s  ({gib / t_search:.2f} GiB/s)")
        print(f"proof of {len(doc['proofs'])} rows (one chunk's tree): {t_proof:.2f} s")
        print(f"check of the proof (manifest only): {t_check * 1000:.1f} ms")
        print(f"matches: {len(result.matches)}; target < 10 s: "
              f"{'met' if t_full + t_proof < 10 else 'NOT met'}")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
