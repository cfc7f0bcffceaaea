"""verify --hub, pull and push against a hostile Hub (``tests/hub_server/hostile.py``: rules on
the Hub test server, same process, 127.0.0.1): they fail closed, in bounded time and memory,
with a one-line error or a failing report, never exit 3 for what the server sends (issue 21)."""

from __future__ import annotations

import importlib.util
import re
import sys
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner

from llm360.cli.main import cli
from llm360.errors import HubConnectionError, VerificationError
from llm360.registry import layout as run_layout
from llm360.registry.hub import (
    HubSource,
    HubTimeouts,
    connect,
    pull_checkpoint,
    push_release,
    verify_hub,
)

_spec = importlib.util.spec_from_file_location(
    "llm360_tests_hub_hostile", Path(__file__).resolve().parents[2] / "hub_server" /
    "hostile.py")
hostile_mod = sys.modules.setdefault(_spec.name, importlib.util.module_from_spec(_spec))
_spec.loader.exec_module(hostile_mod)
HostileHub, publish = hostile_mod.HostileHub, hostile_mod.publish
hang, drip, endless, rewrite, serve = (hostile_mod.hang, hostile_mod.drip, hostile_mod.endless,
                                       hostile_mod.rewrite, hostile_mod.serve)

REPO = "acme/tiny"
#: short enough for a test, long enough for the test server on a busy machine
FAST = HubTimeouts(connect=2.0, read=1.0, deadline=3.0, min_bytes=64 * 1024)


@pytest.fixture
def hostile(hub_server):
    return HostileHub(hub_server)


@pytest.fixture
def client(hub_server):
    client = connect(endpoint=hub_server.url, token="t", xet=False, retries=2, backoff=0.01,
                     timeouts=FAST)
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def published(hub_server, signed_release):
    publish(hub_server, signed_release, REPO)
    return signed_release


def _run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], env={"HF_TOKEN": "t"},
                              catch_exceptions=False)


def _ends(fn, *args, **kwargs):
    """``fn(*args, **kwargs)`` in a thread: its result, or its exception raised here; a call
    still running after a minute is a hang (the server's stop at teardown ends it)."""
    done: list = []

    def run():
        try:
            done.append((True, fn(*args, **kwargs)))
        except BaseException as exc:  # noqa: BLE001 - raised again below
            done.append((False, exc))

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(60)
    if not done:
        pytest.fail(f"{getattr(fn, '__name__', fn)} still runs after 60 s: it hangs")
    ok, value = done[0]
    if not ok:
        raise value
    return value


def _one_line_error(output: str) -> str:
    lines = [line for line in output.splitlines() if line.startswith("error: ")]
    assert len(lines) == 1 and "Traceback" not in output, output
    return lines[0]


@pytest.fixture
def fast_cli(monkeypatch):
    """The CLI's Hub client with the test's short timeouts."""
    import llm360.registry.hub as hub

    real = hub.connect
    monkeypatch.setattr(hub, "connect", lambda **kw: real(**{**kw, "timeouts": FAST,
                                                             "retries": 1, "backoff": 0.01}))


# ---- item 1: every signed path at its place, or named missing ---------------------------

def test_build_refuses_a_checkpoint_named_like_another_ref(tmp_path):
    from _synthetic import write_synthetic_run

    for name in ("main", "v0.1.0", "HEAD"):
        run = write_synthetic_run(tmp_path / name / "run", checkpoints=2,
                                  names=["ckpt_000", name])
        out = _run("release", "build", run, "--out", tmp_path / name / "release")
        assert out.exit_code == 2, out.output
        line = _one_line_error(out.output)
        assert f"checkpoints/{name}: the checkpoint name '{name}' " in line
        assert not (tmp_path / name / "release" / "manifest.json").exists()


def test_a_checkpoint_with_no_branch_of_its_own_fails_verify_and_pull(
        hub_server, client, hub_keys, trust, tmp_path, monkeypatch, make_release_fn):
    from _synthetic import write_synthetic_run

    run = write_synthetic_run(tmp_path / "run", checkpoints=3,
                              names=["ckpt_000", "main", "ckpt_002"])
    with monkeypatch.context() as m:  # built by an llm360 that did not refuse the name
        m.setattr(run_layout, "checkpoint_name_problem", lambda name: None)
        release = make_release_fn(run, tmp_path / "release", hub_keys[0], cards=False)
    publish(hub_server, release, REPO)
    report, _ = verify_hub(client, REPO, policy=trust)
    msgs = [p.message for p in report.failures]
    assert not report.ok
    assert (f"hub:{REPO}: checkpoints/main/model.safetensors (published nowhere: the Hub "
            "layout has no place for it): missing") in msgs
    assert not [m for m in msgs if "ckpt_000" in m or "ckpt_002" in m]
    out = _run("pull", REPO, "--checkpoint", "main", "--out", tmp_path / "pulled",
               "--endpoint", hub_server.url, "--key", hub_keys[1])
    assert out.exit_code == 1, out.output
    assert "every byte verified" not in out.output
    assert re.search(r"checkpoints/main/\S+ of checkpoint main is published nowhere",
                     _one_line_error(out.output))
    assert not (tmp_path / "pulled" / "checkpoints" / "main").exists()


def test_a_signed_artifact_outside_every_checkpoint_folder_fails(
        hub_server, client, hub_keys, trust, tmp_path, make_release_fn):
    from _synthetic import write_synthetic_run

    run = write_synthetic_run(tmp_path / "run", checkpoints=2)
    (run / "checkpoints" / "notes.json").write_text('{"note": 1}')
    release = make_release_fn(run, tmp_path / "release", hub_keys[0], cards=False)
    publish(hub_server, release, REPO)
    report, _ = verify_hub(client, REPO, policy=trust)
    assert [p.message for p in report.failures] == [
        f"hub:{REPO}: checkpoints/notes.json (published nowhere: the Hub layout has no place "
        "for it): missing"]


# ---- item 2: small files checked on their own branch ------------------------------------

def test_a_small_file_is_checked_on_its_own_branch(published, hostile, client, trust):
    good = (published / "checkpoints/ckpt_001/config.json").read_bytes()
    assert good == (published / "checkpoints/ckpt_000/config.json").read_bytes()  # one blob id
    evil = good.replace(b"Llama", b"Evil!")
    assert len(evil) == len(good) and evil != good
    hostile.when("GET", f"/{REPO}/resolve/ckpt_001/config.json", serve(evil))
    report, _ = verify_hub(client, REPO, policy=trust)
    msgs = [p.message for p in report.failures]
    assert len(msgs) == 1 and msgs[0].startswith(
        f"hub:{REPO}@ckpt_001/config.json: sha256 "), msgs


# ---- item 9: bounded in time ------------------------------------------------------------

STALLS = [("GET", f"/api/models/{REPO}/refs", hang),
          ("GET", f"/api/models/{REPO}/tree/ckpt_001", drip(0.4)),
          ("GET", f"/{REPO}/resolve/main/manifest.json", drip(0.4, in_headers=True)),
          ("GET", f"/{REPO}/resolve/ckpt_002/config.json", drip(0.4))]


@pytest.mark.parametrize("method,part,answer", STALLS,
                         ids=["refs-hang", "tree-drip", "header-drip", "small-file-drip"])
def test_verify_hub_ends_on_a_server_that_stalls(published, hostile, client, trust, method,
                                                 part, answer):
    hostile.when(method, part, answer)
    with pytest.raises(HubConnectionError) as info:
        _ends(verify_hub, client, REPO, policy=trust)
    assert "timed out" in info.value.message and info.value.exit_code == 3
    assert hostile.hits


def test_pull_ends_on_weights_that_drip(published, hostile, client, trust, tmp_path):
    hostile.when("GET", f"/{REPO}/resolve/ckpt_001/model.safetensors", drip(0.4))
    with pytest.raises(HubConnectionError, match="timed out"):
        _ends(pull_checkpoint, client, REPO, "ckpt_001", tmp_path / "pulled", policy=trust)
    assert not (tmp_path / "pulled/checkpoints/ckpt_001/model.safetensors").exists()


def test_cli_says_timed_out_in_one_line(published, hostile, hub_server, hub_keys, fast_cli):
    hostile.when("GET", "/tree/", hang)
    out = _ends(_run, "verify", "--hub", REPO, "--endpoint", hub_server.url, "--key",
                hub_keys[1])
    assert out.exit_code == 3, out.output
    assert "timed out" in _one_line_error(out.output)


PUSH_STALLS = [("POST", f"/api/models/{REPO}/preupload/", hang),
               ("POST", f"/api/models/{REPO}/commit/", hang),
               ("POST", f"/{REPO}.git/info/lfs/objects/batch", drip(0.4))]


@pytest.mark.parametrize("method,part,answer", PUSH_STALLS,
                         ids=["preupload-hang", "commit-hang", "lfs-batch-drip"])
def test_push_ends_on_a_server_that_stalls(hub_server, hostile, client, signed_release, trust,
                                           method, part, answer):
    hostile.when(method, part, answer)
    with pytest.raises(HubConnectionError) as info:
        _ends(push_release, client, signed_release, REPO, policy=trust)
    assert "timed out" in info.value.message and hostile.hits
    assert "\n" not in info.value.message


def test_cli_push_says_timed_out_in_one_line(hub_server, hostile, signed_release, hub_keys,
                                             fast_cli):
    hostile.when("POST", f"/api/models/{REPO}/commit/", hang)
    out = _ends(_run, "push", signed_release, "--repo", REPO, "--endpoint", hub_server.url,
                "--no-xet", "--key", hub_keys[1])
    assert out.exit_code == 3, out.output
    line = _one_line_error(out.output)
    assert f"commit to {REPO}@" in line and "timed out" in line


def test_a_request_outside_llm360s_calls_has_a_deadline(hub_server, hostile):
    """huggingface_hub's own threads (its parallel LFS uploads) call its shared HTTP client
    outside llm360's calls: a request there ends at the latest client's deadline too."""
    from huggingface_hub.utils import get_session

    connect(endpoint=hub_server.url, token="t", timeouts=FAST)
    hostile.when("GET", "/drip", drip(0.4))
    with pytest.raises(TimeoutError, match="deadline"):
        _ends(lambda: get_session().get(f"{hub_server.url}/drip"))
    assert hostile.hits


# ---- item 10: a body is read up to its signed size --------------------------------------

@pytest.mark.parametrize("download", [False, True], ids=["pull", "verify-download"])
def test_an_endless_body_stops_at_its_signed_size(published, hostile, client, trust, tmp_path,
                                                  download):
    cap = 64 << 20  # the test's bound on what the server sends a client that reads on
    hostile.when("GET", f"/{REPO}/resolve/ckpt_001/model.safetensors", endless(cap=cap))
    signed = (published / "checkpoints/ckpt_001/model.safetensors").stat().st_size
    with pytest.raises(VerificationError, match=f"more than the {signed} bytes expected"):
        if download:
            _ends(verify_hub, client, REPO, policy=trust, download=True)
        else:
            _ends(pull_checkpoint, client, REPO, "ckpt_001", tmp_path / "pulled", policy=trust)
    partial = tmp_path / "pulled" / run_layout.CACHE_DIR / "pull"  # pull's downloads
    written = [p.stat().st_size for p in partial.rglob("*") if p.is_file()]
    assert all(size <= signed for size in written)
    assert not (tmp_path / "pulled/checkpoints/ckpt_001/model.safetensors").exists()
    assert hostile.sent < cap // 2  # the client hung up: the rest was never sent


def test_a_pull_clears_what_a_killed_pull_left_and_never_beside_another_writer(
        published, client, trust, tmp_path):
    """A pull killed midway leaves its download under OUT/.llm360/pull; the next pull removes
    it. While another llm360 process writes the run (a trainer), a pull is refused at once,
    naming it, and touches nothing."""
    import subprocess

    from llm360.errors import RunLockedError

    out = tmp_path / "pulled"
    stale = out / run_layout.CACHE_DIR / "pull" / "tmpkilled.part"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"x" * 4096)
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time\nfrom llm360.registry.run.lock import lock_run\n"
         "lock = lock_run(sys.argv[1], command='llm360 train')\nprint('held', flush=True)\n"
         "time.sleep(60)", str(out)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(RunLockedError, match="llm360 train"):
            pull_checkpoint(client, REPO, "ckpt_001", out, policy=trust)
        assert stale.exists() and not (out / "checkpoints").exists()
    finally:
        holder.kill()
        holder.wait()
    pulled = pull_checkpoint(client, REPO, "ckpt_001", out, policy=trust)
    assert pulled.downloaded_files > 0
    assert not list(stale.parent.glob("*.part"))


# ---- item 12: what the server sends is never exit 3 -------------------------------------

def _files(change):
    return lambda listing: [change(e) if e.get("type") == "file" else e for e in listing]


MALFORMED = {
    "size-as-text": _files(lambda e: {**e, "size": str(e["size"])}),
    "path-null": _files(lambda e: {**e, "path": None}),
    "lfs-not-an-object": _files(lambda e: {**e, "lfs": "sha256"} if "lfs" in e else e),
    "not-a-list": lambda listing: {"files": listing},
    "entry-not-an-object": lambda listing: [*listing, 7],
}


@pytest.mark.parametrize("change", MALFORMED.values(), ids=MALFORMED)
def test_a_malformed_listing_is_a_verification_failure(published, hostile, hub_server,
                                                       hub_keys, change):
    hostile.when("GET", f"/api/models/{REPO}/tree/ckpt_001", rewrite(change))
    out = _run("verify", "--hub", REPO, "--endpoint", hub_server.url, "--key", hub_keys[1])
    assert out.exit_code == 1, out.output
    line = _one_line_error(out.output)
    assert line.startswith(f"error: hub:{REPO}@ckpt_001: the Hub's answer is malformed: ")


@pytest.mark.parametrize("args", [
    ["verify", "--hub", "a b/c d"],
    ["verify", "--hub", "a/b/c"],
    ["verify", "--hub", "acme/tiny", "--data-repo", "../../etc"],
    ["pull", "../../etc", "--checkpoint", "ckpt_000", "--out", "pulled"],
    ["diff", "hub:../../etc", "hub:acme/tiny"],
], ids=["space", "three-parts", "data-repo", "pull-dots", "diff-dots"])
def test_a_bad_repository_id_is_exit_2(hub_server, args, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    out = _run(*args, "--endpoint", hub_server.url)
    assert out.exit_code == 2, out.output
    assert "not a Hub repository id" in _one_line_error(out.output)
    assert not hub_server.log  # refused before any request


def test_a_64_mib_manifest_is_not_exit_3(published, hub_server, hub_keys, client):
    hub_server.put_file("model", REPO, "main", "manifest.json", b" " * (64 << 20), lfs=False)
    out = _run("verify", "--hub", REPO, "--endpoint", hub_server.url, "--key", hub_keys[1])
    assert out.exit_code == 1, out.output
    assert "FAILED" in out.output and "manifest.json" in out.output
    with pytest.raises(VerificationError, match="more than the 1048576 bytes expected"):
        HubSource(client, REPO, max_record=1 << 20).read_bytes("manifest.json")
