"""The provenance registry at scale: N synthetic Amber-shaped manifests (360 checkpoints, 360
data chunks, 8 files a checkpoint), in families of releases deriving from one another.

Prints, on SQLite and on PostgreSQL (a throwaway server, started here, with fsync on): the time
to load the registry, the time to add one more manifest (parse and validate its JSON, index it
in one transaction), and the latency of `chunk`, `derived`, `ancestors` and `show` at that
size. Targets: add < 2 s, each query < 50 ms.

    .venv/bin/python benchmarks/bench_registry.py [--n 1000] [--backends sqlite,postgresql]
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import statistics
import sys
import tempfile
import time
from pathlib import Path

from llm360.registry.analysis.mof import default_component_licenses
from llm360.registry.index import (
    ancestors,
    chunk,
    derived,
    list_releases,
    open_store,
    show_release,
)
from llm360.registry.index._writer import Placement, Signer, index_manifest
from llm360.registry.index.store import utc_now
from llm360.registry.manifest.models import (
    DERIVED_SCHEMA_VERSION,
    Artifact,
    Checkpoint,
    Code,
    Data,
    DataChunk,
    DerivedFrom,
    Environment,
    Licenses,
    Manifest,
    Model,
    ParentCheckpoint,
    ParentRelease,
    ParentSigner,
    Release,
    Training,
)
from llm360.registry.manifest.serialize import canonical_json, manifest_from_bytes, to_data

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from _postgres import PostgresUnavailable, new_database, temporary_server  # noqa: E402

FILES = ("model.safetensors", "optimizer.safetensors", "rng.safetensors", "trainer_state.json",
         "config.json", "generation_config.json", "extra_0.json", "extra_1.json")
LICENSES = {"weights": "Apache-2.0", "code": "Apache-2.0", "data": "ODC-By-1.0",
            "documentation": "CC-BY-4.0"}
METRICS = ("train_loss", "heldout_loss", "arc_challenge_acc_norm", "hellaswag_acc_norm")


def _hex(*parts: object) -> str:
    return hashlib.sha256("/".join(map(str, parts)).encode()).hexdigest()


def amber_manifest(i: int, *, checkpoints: int, chunks: int, family: int) -> Manifest:
    """Release ``i``: its own chunks and checkpoints; unless it starts a family, it continues
    the family's first release at its middle checkpoint (``derived_from``)."""
    name = f"bench-{i:04d}"
    arts = [Artifact(path=f"data/chunk_{k:03d}.safetensors", kind="data_chunk", size=1 << 20,
                     sha256=_hex(i, "chunk", k)) for k in range(chunks)]
    ckpts = []
    for k in range(checkpoints):
        files = tuple(f"checkpoints/ckpt_{k:03d}/{f}" for f in FILES)
        arts += [Artifact(path=p, kind="other", size=4096, sha256=_hex(i, p)) for p in files]
        ckpts.append(Checkpoint(
            name=f"ckpt_{k:03d}", step=(k + 1) * 100, tokens_seen=(k + 1) * 100 * 4096,
            parents=(f"ckpt_{k - 1:03d}",) if k else (),
            data_chunks=(k,) if k < chunks else (), files=files,
            root_digest=_hex(i, "ckpt", k),
            metrics={m: 1.0 / (k + 2 + j) for j, m in enumerate(METRICS)}))
    manifest = Manifest(
        release=Release(name=name, version="1.0.0", created="2026-11-27T00:00:00Z",
                        licenses=Licenses(**LICENSES,
                                          components=default_component_licenses(LICENSES))),
        model=Model(architecture="LlamaForCausalLM", parameters=6_738_415_616,
                    config="config/model.json", config_sha256=_hex(i, "config")),
        artifacts=tuple(arts),
        data=Data(index="data/index.json", seq_len=2048, merkle="rfc6962", chunks=tuple(
            DataChunk(index=k, path=f"data/chunk_{k:03d}.safetensors",
                      sha256=_hex(i, "chunk", k), sequences=512, tokens=512 * 2048,
                      merkle_root=_hex(i, "merkle", k)) for k in range(chunks))),
        checkpoints=tuple(ckpts),
        training=Training(config="config/train.json", backend="torch", world_size=64,
                          precision="bf16"),
        logs=(), evals=(), code=Code(packages={"torch": "2.13.0"}),
        environment=Environment(python="3.11.7", platform="linux-x86_64", hardware="64 GPU"))
    base = i - i % family
    if base == i:
        return manifest
    mid = checkpoints // 2
    parent = ParentRelease(name=f"bench-{base:04d}", version="1.0.0",
                           manifest_sha256=_hex(base, "manifest"),
                           signer=ParentSigner(method="key", key_fingerprint=_hex("key")),
                           repo=f"bench/bench-{base:04d}", revision=_hex(base, "commit")[:40])
    return dataclasses.replace(manifest, schema_version=DERIVED_SCHEMA_VERSION,
                               derived_from=DerivedFrom(relation="continuation", release=parent,
                                                        checkpoint=ParentCheckpoint(
                                                            name=f"ckpt_{mid:03d}",
                                                            step=(mid + 1) * 100,
                                                            tokens_seen=(mid + 1) * 409_600,
                                                            root_digest=_hex(base, "ckpt", mid))))


def _add(store, manifest: Manifest, i: int) -> None:
    """What ``registry add`` does once the release verified: index it, then refresh the
    planner's statistics."""
    with store.write() as conn:
        index_manifest(conn, store, manifest, manifest_sha256=_hex(i, "manifest"),
                       placement=Placement(location=f"hub:bench/bench-{i:04d}@main",
                                           repo=f"bench/bench-{i:04d}"),
                       signer=Signer(method="key", name=_hex("key")[:16]), now=utc_now())
    store.analyze()


def _latency(fn, repeats: int) -> tuple[float, float]:
    fn()  # warm
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), max(times)


def bench(label: str, url: str, args) -> None:
    kw = dict(checkpoints=args.checkpoints, chunks=args.chunks, family=args.family)
    with open_store(url) as store:
        start = time.perf_counter()
        for i in range(args.n - 1):
            _add(store, amber_manifest(i, **kw), i)
        load = time.perf_counter() - start
        last = args.n - 1
        raw = canonical_json(to_data(amber_manifest(last, **kw)))
        start = time.perf_counter()
        manifest_from_bytes(raw)  # what `add` reads
        parse = time.perf_counter() - start
        start = time.perf_counter()
        _add(store, amber_manifest(last, **kw), last)
        index = time.perf_counter() - start
        assert len(list_releases(store)) == args.n
        target = amber_manifest(0, **kw)
        sha = target.data.chunks[args.chunks // 4].sha256
        hits = chunk(store, sha)
        down = derived(store, f"bench-0000@ckpt_{args.checkpoints // 4:03d}")
        tip = f"bench-{min(1, args.n - 1):04d}@ckpt_{args.checkpoints - 1:03d}"
        up = ancestors(store, tip)
        print(f"{label}: {args.n} releases x {args.checkpoints} checkpoints, {args.chunks} "
              f"chunks (families of {args.family}); loaded in {load:.1f} s "
              f"({load / max(1, args.n - 1):.3f} s a release)")
        print(f"  add one manifest ({len(raw) / 1024:.0f} KiB): parse+validate {parse:.3f} s, "
              f"index {index:.3f} s, total {parse + index:.3f} s   (target < 2 s)")
        print(f"  answers: chunk -> {len(hits.trained)} trained, {len(hits.derived)} derived; "
              f"derived -> {len(down.found)}; ancestors -> {len(up.found)}")
        for name, fn in (("chunk", lambda: chunk(store, sha)),
                         ("derived", lambda: derived(store, f"bench-0000@ckpt_"
                                                     f"{args.checkpoints // 4:03d}")),
                         ("ancestors", lambda: ancestors(store, tip)),
                         ("show", lambda: show_release(store, "bench-0000"))):
            median, worst = _latency(fn, args.repeats)
            print(f"  {name:<9} median {median:7.1f} ms, max {worst:7.1f} ms   (target < 50 ms)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=5, help="releases (1000 for the README)")
    parser.add_argument("--checkpoints", type=int, default=360)
    parser.add_argument("--chunks", type=int, default=360)
    parser.add_argument("--family", type=int, default=5,
                        help="releases per family (the first; the others derive from it)")
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--pg-url", help="an existing PostgreSQL server (default: start one)")
    args = parser.parse_args()
    for backend in args.backends.split(","):
        if backend == "sqlite":
            with tempfile.TemporaryDirectory() as scratch:
                bench("sqlite", f"sqlite:///{scratch}/registry.db", args)
        elif args.pg_url:
            bench("postgresql", new_database(args.pg_url), args)
        else:
            try:
                with temporary_server(fsync=True) as server:
                    bench("postgresql", new_database(server), args)
            except PostgresUnavailable as exc:
                print(f"postgresql: not measured: {exc}")


if __name__ == "__main__":
    main()
