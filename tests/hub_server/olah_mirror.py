"""Serve a Hub test server's repositories through ``olah`` (a real, independent Hub mirror):
each repository is written as a git repository (LFS files as their pointer files) under
``MIRRORS/<models|datasets>/<org>/<name>`` and olah is started offline on 127.0.0.1 with
``mirrors-path`` pointing there. Used by the read-path test."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path


def _git(cwd: Path, *args: str) -> str:
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@t", "HOME": str(cwd), "PATH": "/usr/bin:/bin"}
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True,
                          text=True).stdout.strip()


def export_repo(server, kind: str, repo_id: str, mirrors: Path) -> Path:
    """Write ``repo_id`` of the test server (every branch's head and every tag) as a git repo."""
    from llm360_tests_hub_server import _pointer  # loaded by fixtures.server_module()

    repo = server.repos[(kind, repo_id)]
    dest = mirrors / f"{kind}s" / repo_id
    dest.mkdir(parents=True)
    _git(dest, "init", "-q")
    heads = {}
    for branch, sha in sorted(repo.branches.items()):
        _git(dest, "checkout", "-q", "--orphan", branch)
        subprocess.run(["git", "rm", "-rfq", "--ignore-unmatch", "."], cwd=dest, check=True,
                       capture_output=True)
        for path, entry in repo.commits[sha].tree.items():
            data = _pointer(entry.sha256, entry.size) if entry.sha256 else server.read(entry)
            (dest / path).parent.mkdir(parents=True, exist_ok=True)
            (dest / path).write_bytes(data)
        _git(dest, "add", "-A")
        _git(dest, "commit", "-q", "-m", f"{branch}")
        heads[sha] = _git(dest, "rev-parse", "HEAD")
    for tag, sha in repo.tags.items():
        _git(dest, "tag", tag, heads[sha])
    _git(dest, "checkout", "-q", "main")
    return dest


def start_olah(mirrors: Path, workdir: Path) -> tuple[subprocess.Popen, str]:
    """olah offline on 127.0.0.1 (a free port), serving ``mirrors``; (process, endpoint)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = workdir / "olah.toml"
    config.write_text(f"""[basic]
host = "127.0.0.1"
port = {port}
repos-path = "{workdir / 'repos'}"
mirror-netloc = "127.0.0.1:{port}"
mirror-lfs-netloc = "127.0.0.1:{port}"
mirrors-path = ["{mirrors}"]

[accessibility]
offline = true
""")
    proc = subprocess.Popen([sys.executable, "-m", "olah.server", "--config", str(config),
                             "--log-path", str(workdir / "logs")], cwd=workdir,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("olah exited: " + proc.stdout.read().decode()[-2000:])
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return proc, f"http://127.0.0.1:{port}"
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("olah did not start within 60 s")
