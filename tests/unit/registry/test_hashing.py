import hashlib
import os
import time
from pathlib import Path

import pytest

from llm360.errors import UnsafePathError
from llm360.registry.build import hashing
from llm360.registry.build.hashing import (
    HashCache,
    hash_files,
    merkle_root,
    root_digest,
    sha256_file,
)


@pytest.mark.parametrize("size", [0, 1, 7, 4095, 4096, 4097, (1 << 20) - 1, 1 << 20,
                                  (1 << 20) + 1, 3 * (1 << 20) + 12345])
def test_sha256_file_equals_hashlib(tmp_path: Path, size: int) -> None:
    data = os.urandom(size)
    path = tmp_path / "f.bin"
    path.write_bytes(data)
    assert sha256_file(path) == (size, hashlib.sha256(data).hexdigest())
    assert sha256_file(path, block=4096) == (size, hashlib.sha256(data).hexdigest())


def test_sparse_file_over_one_gib(tmp_path: Path) -> None:
    path = tmp_path / "sparse.bin"
    size = (1 << 30) + 4097
    with open(path, "wb") as fh:
        fh.seek(size - 5)
        fh.write(b"tail!")
    expected = hashlib.sha256()
    zeros = bytes(1 << 22)
    remaining = size - 5
    while remaining:
        n = min(remaining, len(zeros))
        expected.update(zeros[:n])
        remaining -= n
    expected.update(b"tail!")
    [digest] = hash_files(tmp_path, ["sparse.bin"])
    assert (digest.size, digest.sha256) == (size, expected.hexdigest())


def test_results_keep_the_order_asked_for(tmp_path: Path) -> None:
    names = [f"f{i}.bin" for i in range(12)]
    for i, name in enumerate(names):
        (tmp_path / name).write_bytes(os.urandom(1000 * (12 - i)))
    order = list(reversed(names))
    digests = hash_files(tmp_path, order, workers=2)
    assert [d.path for d in digests] == order
    for d in digests:
        assert d.sha256 == hashlib.sha256((tmp_path / d.path).read_bytes()).hexdigest()


def test_progress_counts_every_byte(tmp_path: Path) -> None:
    for i in range(3):
        (tmp_path / f"{i}").write_bytes(b"x" * (5000 + i))
    seen = []
    hash_files(tmp_path, ["0", "1", "2"], progress=seen.append, block=1024)
    assert sum(seen) == 15003


def _aged(path: Path) -> None:
    """Make a file look written long ago: the cache trusts only settled files."""
    old = time.time_ns() - 10 * hashing.RACY_WINDOW_NS
    os.utime(path, ns=(old, old))


@pytest.fixture
def cached(tmp_path: Path, monkeypatch):
    # ctime cannot be set back, so shrink the racy window to what this test can wait out
    monkeypatch.setattr(hashing, "RACY_WINDOW_NS", 50_000_000)
    root = tmp_path / "run"
    root.mkdir()
    (root / "a.bin").write_bytes(b"a" * 100)
    time.sleep(0.12)
    cache_path = tmp_path / "cache.json"
    [first] = hash_files(root, ["a.bin"], cache=HashCache(cache_path))
    calls = []
    real = hashing.sha256_file

    def counting(path, **kw):
        calls.append(Path(path).name)
        return real(path, **kw)

    monkeypatch.setattr(hashing, "sha256_file", counting)
    return root, cache_path, first, calls


def test_cache_hit_skips_hashing(cached) -> None:
    root, cache_path, first, calls = cached
    [again] = hash_files(root, ["a.bin"], cache=HashCache(cache_path))
    assert again == first and calls == []


def test_cache_touch_rehashes(cached) -> None:
    root, cache_path, first, calls = cached
    os.utime(root / "a.bin")
    [again] = hash_files(root, ["a.bin"], cache=HashCache(cache_path))
    assert calls == ["a.bin"] and again.sha256 == first.sha256


def test_cache_same_size_rewrite_rehashes(cached) -> None:
    root, cache_path, first, calls = cached
    st = os.stat(root / "a.bin")
    (root / "a.bin").write_bytes(b"b" * 100)
    os.utime(root / "a.bin", ns=(st.st_atime_ns, st.st_mtime_ns))  # even with mtime put back
    [again] = hash_files(root, ["a.bin"], cache=HashCache(cache_path))
    assert calls == ["a.bin"]
    assert again.sha256 == hashlib.sha256(b"b" * 100).hexdigest()


def test_cache_replace_by_rename_rehashes(cached) -> None:
    root, cache_path, first, calls = cached
    st = os.stat(root / "a.bin")
    (root / "new.bin").write_bytes(b"c" * 100)
    os.utime(root / "new.bin", ns=(st.st_atime_ns, st.st_mtime_ns))
    os.replace(root / "new.bin", root / "a.bin")
    [again] = hash_files(root, ["a.bin"], cache=HashCache(cache_path))
    assert calls == ["a.bin"]
    assert again.sha256 == hashlib.sha256(b"c" * 100).hexdigest()


def test_fresh_files_are_not_trusted_from_cache(tmp_path: Path) -> None:
    (tmp_path / "f").write_bytes(b"1")
    cache = HashCache(tmp_path / "c.json")
    hash_files(tmp_path, ["f"], cache=cache)
    assert cache.get("f", os.stat(tmp_path / "f")) is None


def test_corrupt_cache_is_ignored(tmp_path: Path) -> None:
    (tmp_path / "f").write_bytes(b"1")
    (tmp_path / "c.json").write_text("{not json")
    [d] = hash_files(tmp_path, ["f"], cache=HashCache(tmp_path / "c.json"))
    assert d.sha256 == hashlib.sha256(b"1").hexdigest()


def test_links_and_escapes_are_refused(tmp_path: Path) -> None:
    (tmp_path / "real").write_bytes(b"x")
    (tmp_path / "link").symlink_to(tmp_path / "real")
    with pytest.raises(UnsafePathError, match="symbolic link"):
        hash_files(tmp_path, ["link"])
    for bad in ["../real", "/etc/passwd", "a/../../b", "a\\b"]:
        with pytest.raises(UnsafePathError):
            hash_files(tmp_path, [bad])


def test_root_digest_matches_oms_definition() -> None:
    files = [("b.json", hashlib.sha256(b"b").hexdigest()),
             ("a.safetensors", hashlib.sha256(b"a").hexdigest())]
    expected = hashlib.sha256(hashlib.sha256(b"a").digest() + hashlib.sha256(b"b").digest())
    assert root_digest(files) == expected.hexdigest()


def test_merkle_root_legacy_format() -> None:
    leaves = [hashlib.sha256(bytes([i])).digest() for i in range(3)]
    ab = hashlib.sha256(leaves[0] + leaves[1]).digest()
    assert merkle_root(leaves, "legacy") == hashlib.sha256(ab + leaves[2]).hexdigest()
    assert merkle_root(leaves[:1], "legacy") == leaves[0].hex()
    assert merkle_root([], "legacy") == hashlib.sha256(b"").hexdigest()
