"""Fuzz the trust boundary: mutations of a key-signed release's manifest.json,
manifest.sigstore.json, signatures/<ckpt>/model.sig and release-files.json (issue 8).

Each case mutates one file (seeded: ``tests/fuzz/_mutate.py``) and runs the parsing and
signature checks ``verify`` runs, directly (no CLI, no hashing of weights); every 50th case
(every 10th for release-files.json) runs the whole ``verify`` over an in-memory
``ArtifactSource`` holding the release's signed files. Two properties hold for every case:

* no crash: only ``Llm360Error`` subclasses (exit 1, 2 or 3 with one line) or a failing
  report, never another exception;
* nothing accepted: a mutation passes only when what the signature covers is unchanged (the
  manifest's and release-files.json's bytes; a bundle's payload type and payload, read as the
  verifier reads them).

``make test`` runs 10,000 cases (shares below; ``--fuzz-cases N`` or ``LLM360_FUZZ_CASES`` for
a longer run, ``--fuzz-seed S`` for other mutations). A failure names target and case:
reproduce it with ``mutate(target, case, raw, others, seed)``.
"""

from __future__ import annotations

import importlib.util
import math
import traceback
from collections import Counter
from pathlib import Path
from types import SimpleNamespace

import pytest
from _synthetic import write_synthetic_run  # noqa: E402,I001  (tests/ is on sys.path)

from llm360.errors import Llm360Error
from llm360.registry import TrustPolicy, build_release
from llm360.registry.analysis import lineage
from llm360.registry.build.release import BuildOptions
from llm360.registry.build.release_dir import RELEASE_FILES, read_release_files
from llm360.registry.manifest.serialize import manifest_from_bytes
from llm360.registry.signing import (
    BUNDLE_FILE,
    check_checkpoint_signatures,
    check_manifest_signature,
    make_signer,
    write_key_pair,
)
from llm360.registry.verify.verifier import verify

_spec = importlib.util.spec_from_file_location("llm360_tests_fuzz_mutate",
                                               Path(__file__).with_name("_mutate.py"))
_mutate = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_mutate)

CHECKPOINTS = ("ckpt_000", "ckpt_001", "ckpt_002")
WHOLE_VERIFY_EVERY = {"manifest.json": 50, BUNDLE_FILE: 50, "model.sig": 50, RELEASE_FILES: 10}
#: each target's share of the cases: a manifest that parses costs a schema validation (~6 ms),
#: a bundle or model.sig case a signature check (~0.3 ms)
SHARES = {"manifest.json": 0.2, BUNDLE_FILE: 0.35, "model.sig": 0.35, RELEASE_FILES: 0.1}


class MemorySource:
    """An ``ArtifactSource`` over the release's small files, held in memory (the fuzz cases
    verify the signed metadata; bytes of artifacts are not re-hashed)."""

    description = "fuzzed release"

    def __init__(self, files: dict[str, bytes]) -> None:
        self.files = files

    def read_bytes(self, path: str) -> bytes | None:
        return self.files.get(path)

    def locate(self, expected, *, progress=None, on_total=None):
        raise AssertionError("the fuzz policy does not check bytes")


@pytest.fixture(scope="module")
def release(tmp_path_factory: pytest.TempPathFactory) -> SimpleNamespace:
    """A release of the synthetic run signed with a fresh key: its small files in memory."""
    root = tmp_path_factory.mktemp("fuzz")
    run = write_synthetic_run(root / "run")
    write_key_pair(root / "keys" / "k.pem", root / "keys" / "k.pub")
    result = build_release(run, root / "release",
                           options=BuildOptions(created="2026-11-27T00:00:00Z"),
                           signer=make_signer("key", key_path=root / "keys" / "k.pem"))
    folder = result.manifest_path.parent
    files = {rel: (folder / rel).read_bytes()
             for rel in ["manifest.json", BUNDLE_FILE, RELEASE_FILES]
             + [f"signatures/{c}/model.sig" for c in CHECKPOINTS]}
    policy = TrustPolicy(key=root / "keys" / "k.pub", check_bytes=False)
    manifest = manifest_from_bytes(files["manifest.json"])
    good = check_manifest_signature(files["manifest.json"], files[BUNDLE_FILE], policy)
    assert good.ok and good.info.release_files_sha256, good.problems
    assert not check_checkpoint_signatures(files.get, manifest, good)[0]
    report = verify(MemorySource(files), policy)
    assert report.ok, report.failures
    return SimpleNamespace(files=files, parsed=manifest, policy=policy, good=good)


@pytest.fixture
def fuzz(request: pytest.FixtureRequest) -> SimpleNamespace:
    total = int(request.config.getoption("--fuzz-cases"))
    return SimpleNamespace(cases={t: math.ceil(total * share) for t, share in SHARES.items()},
                           seed=int(request.config.getoption("--fuzz-seed")))


class _Tally:
    def __init__(self, target: str, seed: int) -> None:
        self.target, self.seed = target, seed
        self.outcomes: Counter[str] = Counter()
        self.crashes: list[str] = []
        self.accepted: list[str] = []

    def crash(self, case: int, what: str, exc: BaseException) -> None:
        frame = traceback.extract_tb(exc.__traceback__)[-1]
        self.crashes.append(f"case {case} ({what}): {type(exc).__name__}: {str(exc)[:120]} "
                            f"at {Path(frame.filename).name}:{frame.lineno}")

    def accept(self, case: int, what: str, how: str) -> None:
        self.accepted.append(f"case {case} ({what}): {how} verified a changed signed payload")

    def check(self) -> None:
        where = f"{self.target} (seed {self.seed}): "
        assert not self.crashes, where + f"{len(self.crashes)} crashes:\n" + \
            "\n".join(self.crashes[:10])
        assert not self.accepted, where + f"{len(self.accepted)} accepted mutations:\n" + \
            "\n".join(self.accepted[:10])
        print(f"fuzz {self.target}: {sum(self.outcomes.values())} cases, "
              f"{dict(self.outcomes)}")


def _whole(release, tally: _Tally, case: int, what: str, rel: str, data: bytes,
           same_signed: bool) -> None:
    """The whole ``verify`` with ``rel`` replaced by ``data``."""
    try:
        report = verify(MemorySource({**release.files, rel: data}), release.policy)
        if report.ok and not same_signed:
            tally.accept(case, what, "verify")
    except Llm360Error:
        pass
    except Exception as exc:  # noqa: BLE001 - the property under test
        tally.crash(case, what, exc)


def test_fuzz_manifest(release, fuzz) -> None:
    target = "manifest.json"
    tally = _Tally(target, fuzz.seed)
    raw, bundle = release.files[target], release.files[BUNDLE_FILE]
    for case in range(fuzz.cases[target]):
        data, what = _mutate.mutate("manifest", case, raw, [], fuzz.seed)
        try:
            sig = check_manifest_signature(data, bundle, release.policy)
            if sig.ok:
                tally.accept(case, what, "check_manifest_signature")
            # verify --allow-unsigned parses an untrusted manifest: that must not crash either
            try:
                lineage.check(manifest_from_bytes(data, source=target))
                tally.outcomes["parsed, signature refused"] += 1
            except Llm360Error:
                tally.outcomes["refused"] += 1
        except Exception as exc:  # noqa: BLE001 - the property under test
            tally.crash(case, what, exc)
        if case % WHOLE_VERIFY_EVERY[target] == 0:
            _whole(release, tally, case, what, target, data, same_signed=False)
    tally.check()


def test_fuzz_bundle(release, fuzz) -> None:
    target = BUNDLE_FILE
    tally = _Tally(target, fuzz.seed)
    raw = release.files[target]
    original = _mutate.envelope(raw)
    others = [v for k, v in release.files.items() if k.endswith("model.sig")]
    for case in range(fuzz.cases[target]):
        data, what = _mutate.mutate("bundle", case, raw, others, fuzz.seed)
        same = _mutate.envelope(data) == original
        try:
            sig = check_manifest_signature(release.files["manifest.json"], data, release.policy)
            if sig.ok and not same:
                tally.accept(case, what, "check_manifest_signature")
            tally.outcomes["verified (same signed payload)" if sig.ok else "refused"] += 1
        except Llm360Error:
            tally.outcomes["error"] += 1
        except Exception as exc:  # noqa: BLE001 - the property under test
            tally.crash(case, what, exc)
        if case % WHOLE_VERIFY_EVERY[target] == 0:
            _whole(release, tally, case, what, target, data, same_signed=same)
    tally.check()


def test_fuzz_model_sig(release, fuzz) -> None:
    target = "model.sig"
    tally = _Tally(target, fuzz.seed)
    for case in range(fuzz.cases[target]):
        rel = f"signatures/{CHECKPOINTS[case % len(CHECKPOINTS)]}/model.sig"
        raw = release.files[rel]
        others = [v for k, v in release.files.items()
                  if k != rel and k.endswith((".sig", BUNDLE_FILE))]
        data, what = _mutate.mutate(target, case, raw, others, fuzz.seed)
        what = f"{rel}: {what}"
        same = _mutate.envelope(data) == _mutate.envelope(raw)
        files = {**release.files, rel: data}
        try:
            problems, _ = check_checkpoint_signatures(files.get, release.parsed, release.good)
            if not problems and not same:
                tally.accept(case, what, "check_checkpoint_signatures")
            tally.outcomes["refused" if problems else "verified (same signed payload)"] += 1
        except Llm360Error:
            tally.outcomes["error"] += 1
        except Exception as exc:  # noqa: BLE001 - the property under test
            tally.crash(case, what, exc)
        if case % WHOLE_VERIFY_EVERY[target] == 0:
            _whole(release, tally, case, what, rel, data, same_signed=same)
    tally.check()


def test_fuzz_release_files(release, fuzz) -> None:
    target = RELEASE_FILES
    tally = _Tally(target, fuzz.seed)
    raw = release.files[target]
    for case in range(fuzz.cases[target]):
        data, what = _mutate.mutate("release-files", case, raw, [], fuzz.seed)
        try:  # verify parses it when the release is unsigned: never a crash
            read_release_files(data, source=target)
            tally.outcomes["parsed"] += 1
        except Llm360Error:
            tally.outcomes["refused"] += 1
        except Exception as exc:  # noqa: BLE001 - the property under test
            tally.crash(case, what, exc)
        if case % WHOLE_VERIFY_EVERY[target] == 0:
            _whole(release, tally, case, what, target, data, same_signed=False)
    tally.check()


def test_mutations_are_reproducible_and_varied() -> None:
    raw = b'{"a": [1, 2, {"b": "c"}], "d": 1.5, "e": true}'
    first = [_mutate.mutate("manifest", i, raw, [], 0) for i in range(200)]
    assert first == [_mutate.mutate("manifest", i, raw, [], 0) for i in range(200)]
    assert all(data != raw for data, _ in first)
    assert len({data for data, _ in first}) > 150
