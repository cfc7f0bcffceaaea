"""A disk that refuses a write (full, over quota, read-only) is a one-line StorageError
(exit 2) naming the file, and no temporary file is left behind (issue 8, item 12)."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

import pytest

from llm360.errors import InputError, StorageError, UnsafePathError
from llm360.registry import _files
from llm360.registry._files import write_atomic


@pytest.mark.parametrize("code,words", [(errno.ENOSPC, "no space left on device"),
                                        (errno.EDQUOT, "disk quota exceeded"),
                                        (errno.EROFS, "read-only file system"),
                                        (errno.EFBIG, "file too large")])
def test_disk_refusals_are_storage_errors(tmp_path: Path, monkeypatch, code: int,
                                          words: str) -> None:
    def refuse(fd: int) -> None:  # the kernel reports a full disk at write or fsync time
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(_files.os, "fsync", refuse)
    target = tmp_path / "out" / "manifest.json"
    with pytest.raises(StorageError) as info:
        write_atomic(target, b"{}")
    assert isinstance(info.value, InputError) and info.value.exit_code == 2
    assert str(info.value) == f"{words} writing {target}"
    assert info.value.path == str(target)
    assert list((tmp_path / "out").iterdir()) == []  # no temporary file left


def test_other_os_errors_pass_through(tmp_path: Path, monkeypatch) -> None:
    def boom(fd: int) -> None:
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(_files.os, "fsync", boom)
    with pytest.raises(OSError) as info:
        write_atomic(tmp_path / "x.json", b"{}")
    assert not isinstance(info.value, StorageError)
    assert list(tmp_path.iterdir()) == []


def test_a_real_size_limit(tmp_path: Path) -> None:
    """RLIMIT_FSIZE makes the kernel itself refuse the write (EFBIG), no stub involved."""
    import resource
    import signal
    import subprocess
    import sys

    script = ("import resource, signal, sys\n"
              "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
              "resource.setrlimit(resource.RLIMIT_FSIZE, (1024, 1024))\n"
              "from llm360.errors import StorageError\n"
              "from llm360.registry._files import write_atomic\n"
              "try:\n"
              "    write_atomic(__import__('pathlib').Path(sys.argv[1]), b'x' * 100_000)\n"
              "except StorageError as exc:\n"
              "    print(exc)\n")
    assert resource and signal  # the child sets them
    out = subprocess.run([sys.executable, "-c", script, str(tmp_path / "big.json")],
                         capture_output=True, text=True, timeout=60, env=os.environ.copy())
    assert out.stdout.strip() == f"file too large writing {tmp_path / 'big.json'}", out.stderr
    assert list(tmp_path.iterdir()) == []


def _synced(monkeypatch) -> list[str]:
    """Records the path of every descriptor fsync'd."""
    seen: list[str] = []
    real = os.fsync

    def fsync(fd: int) -> None:
        seen.append(os.readlink(f"/proc/self/fd/{fd}"))
        real(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    return seen


def test_a_durable_write_waits_for_the_disk_and_a_staged_one_does_not(tmp_path: Path,
                                                                      monkeypatch) -> None:
    seen = _synced(monkeypatch)
    write_atomic(tmp_path / "a", b"1")
    write_atomic(tmp_path / "b", b"2", durable=False)
    assert len(seen) == 1 and (tmp_path / "a").read_bytes() == b"1"
    assert (tmp_path / "b").read_bytes() == b"2"


def test_a_syncer_syncs_each_file_and_every_folder_up_to_root(tmp_path: Path,
                                                                monkeypatch) -> None:
    rels = ["manifest.json", "cards/ckpt_001.md", "signatures/ckpt_001/model.sig",
            "signatures/ckpt_002/model.sig"]
    for rel in rels:
        write_atomic(tmp_path / rel, rel.encode(), durable=False)
    seen = _synced(monkeypatch)
    syncer = _files.Syncer(tmp_path)
    syncer.add(rels)
    syncer.finish()
    expected = {str(tmp_path / rel) for rel in rels} | {
        str(tmp_path / d) for d in ("cards", "signatures", "signatures/ckpt_001",
                                    "signatures/ckpt_002")} | {str(tmp_path)}
    assert sorted(seen) == sorted(expected)


def test_a_syncer_syncs_each_file_once_as_it_is_handed_over_and_folders_at_the_end(
        tmp_path: Path, monkeypatch) -> None:
    for rel in ("manifest.json", "cards/a.md", "cards/b.md"):
        write_atomic(tmp_path / rel, rel.encode(), durable=False)
    seen = _synced(monkeypatch)
    syncer = _files.Syncer(tmp_path)
    syncer.add(["manifest.json", "cards/a.md"])
    syncer.add(["cards/a.md", "cards/b.md"])  # a file handed over twice is synced once
    syncer.finish()
    files = [str(tmp_path / r) for r in ("manifest.json", "cards/a.md", "cards/b.md")]
    assert sorted(seen) == sorted(files + [str(tmp_path / "cards"), str(tmp_path)])
    assert set(seen[-2:]) == {str(tmp_path / "cards"), str(tmp_path)}  # folders after files


def test_a_syncer_raises_the_first_failure_and_close_stops_it(tmp_path: Path) -> None:
    syncer = _files.Syncer(tmp_path)
    syncer.add(["gone.json"])
    with pytest.raises(FileNotFoundError):
        syncer.finish()
    another = _files.Syncer(tmp_path)
    another.add(["gone.json"])
    another.close()  # the staging is being thrown away: nothing raised, no thread left
    assert another._pool is None


def test_a_disk_that_refuses_an_fsync_is_a_storage_error_naming_the_file(tmp_path: Path,
                                                                         monkeypatch) -> None:
    write_atomic(tmp_path / "manifest.json", b"{}", durable=False)

    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    syncer = _files.Syncer(tmp_path)
    syncer.add(["manifest.json"])
    with pytest.raises(StorageError, match="manifest.json"):
        syncer.finish()


def test_a_syncer_writes_new_files_0644_and_syncs_them(tmp_path: Path, monkeypatch) -> None:
    seen = _synced(monkeypatch)
    old = os.umask(0o077)
    try:
        syncer = _files.Syncer(tmp_path)
        syncer.write("manifest.json", b"{}")
        syncer.write("signatures/ckpt_001/model.sig", b"sig" * 100_000)
        with pytest.raises(FileExistsError):
            syncer.write("manifest.json", b"again")  # each file is written once
        assert (tmp_path / "manifest.json").read_bytes() == b"{}"
        sig = tmp_path / "signatures" / "ckpt_001" / "model.sig"
        assert sig.read_bytes() == b"sig" * 100_000
        assert stat.S_IMODE(sig.stat().st_mode) == 0o644  # whatever the umask
        syncer.finish()
    finally:
        os.umask(old)
    assert {str(tmp_path / "manifest.json"), str(sig), str(tmp_path / "signatures"),
            str(tmp_path / "signatures" / "ckpt_001"), str(tmp_path)} == set(seen)


def test_a_write_the_disk_refuses_is_a_storage_error_and_never_replaces_a_file(
        tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "mine.json").write_bytes(b"mine")
    syncer = _files.Syncer(tmp_path)
    with pytest.raises(FileExistsError):
        syncer.write("mine.json", b"theirs")
    assert (tmp_path / "mine.json").read_bytes() == b"mine"

    def full(fd: int, data) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "write", full)
    with pytest.raises(StorageError, match="a.md"):
        syncer.write("cards/a.md", b"# a")
    syncer.close()


@pytest.mark.parametrize("rel", ["../outside.md", "/etc/passwd", "cards/../../x", ""])
def test_a_syncer_writes_only_below_its_root(tmp_path: Path, rel: str) -> None:
    root = tmp_path / "staging"
    root.mkdir()
    syncer = _files.Syncer(root)
    with pytest.raises(UnsafePathError):
        syncer.write(rel, b"x")
    syncer.close()
    assert [p.name for p in tmp_path.iterdir()] == ["staging"] and not any(root.iterdir())
