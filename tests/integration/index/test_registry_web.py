"""`registry serve` in a real headless Chromium (Debian's chromium and chromium-driver, driven
by selenium): the release list, a chunk search, the link to the release that derives from the
chunk's checkpoint, and hostile manifest values shown as text."""

from __future__ import annotations

import dataclasses
import hashlib
import shutil
import threading
import urllib.request
from pathlib import Path

import pytest

from llm360.registry.index import add_release, open_store
from llm360.registry.index.web import make_server
from llm360.registry.manifest.serialize import load_manifest
from llm360.registry.verify.policy import TrustPolicy

CHROMIUM, DRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
HOSTILE = "<script>document.title='pwned'</script><b>bold</b>"


def wait_for_path(browser, path: str) -> None:
    """Wait until the browser has navigated to a page under ``path`` and loaded it."""
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(browser, 60).until(
        lambda b: path in b.current_url
        and b.execute_script("return document.readyState") == "complete")


@pytest.fixture
def browser(tmp_path: Path):
    missing = [p for p in (CHROMIUM, DRIVER) if not Path(p).exists()]
    if missing:
        pytest.fail(f"{', '.join(missing)} not found: install Chromium and its driver "
                    "(`apt-get install chromium chromium-driver`; `make test` does it)",
                    pytrace=False)
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        pytest.fail("selenium is missing: pip install -e '.[test]'", pytrace=False)
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
                 f"--user-data-dir={tmp_path / 'chromium-profile'}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=DRIVER), options=options)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(tmp_path / "chromium-profile", ignore_errors=True)


@pytest.fixture
def served(db_url, releases, hub_keys, derived_release, index):
    """The view of a registry holding amber (added and verified), a release deriving from its
    ckpt_001, and one whose name and metadata hold markup."""
    store = open_store(db_url)
    add_release(store, str(releases["amber"]), policy=TrustPolicy(key=hub_keys[1]))
    raw = (releases["amber"] / "manifest.json").read_bytes()
    amber = load_manifest(releases["amber"] / "manifest.json")
    index(store, derived_release(amber, hashlib.sha256(raw).hexdigest(), at="ckpt_001"),
          "ee" * 32, "hub:acme/amber-ft@main")
    # release names cannot hold markup (the schema), versions and descriptions can; the view
    # escapes whatever reaches it, so the name is tried too, past the schema
    hostile = dataclasses.replace(amber, release=dataclasses.replace(
        amber.release, name=HOSTILE, version=HOSTILE, description=HOSTILE))
    index(store, hostile, "dd" * 32, HOSTILE)
    server = make_server(store, port=0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", amber
    finally:
        server.shutdown()
        server.server_close()
        store.close()


def test_list_search_chunk_follow_to_the_derived_release(browser, served):
    from selenium.webdriver.common.by import By

    url, amber = served
    browser.get(url + "/")
    rows = browser.find_elements(By.CSS_SELECTOR, "#releases tbody tr")
    names = [r.find_element(By.CSS_SELECTOR, "td").text for r in rows]
    assert "amber" in names and "amber-ft" in names and HOSTILE in names
    amber_row = rows[names.index("amber")]
    assert "verified" in amber_row.text and "key " in amber_row.text

    box = browser.find_element(By.ID, "chunk-q")
    box.send_keys(amber.data.chunks[0].sha256)
    browser.find_element(By.ID, "chunk-go").click()
    wait_for_path(browser, "/chunk")
    trained = browser.find_elements(By.CSS_SELECTOR, "#trained tbody tr")
    assert {r.find_element(By.CSS_SELECTOR, "td").text for r in trained} == \
        {"amber 0.1.0", f"{HOSTILE} {HOSTILE}"}
    link = browser.find_element(By.CSS_SELECTOR, "#derived a.derived-release")
    assert link.text == "amber-ft 0.1.0"
    link.click()
    wait_for_path(browser, "/release/")
    assert browser.find_element(By.ID, "release-name").text == "amber-ft"
    page = browser.find_element(By.TAG_NAME, "main").text
    assert "acme/amber@ckpt_001" in page and "ckpt_000-ft" in page
    # the lineage graph draws the parent release's checkpoint as a linked node
    assert browser.find_elements(By.CSS_SELECTOR, "#lineage a[href^='/checkpoint/']")


def test_markup_in_manifest_values_is_shown_as_text(browser, served):
    from selenium.webdriver.common.by import By

    url, _ = served
    browser.get(url + "/")
    assert browser.title != "pwned"
    assert not browser.find_elements(By.CSS_SELECTOR, "main script, main b")
    link = [a for a in browser.find_elements(By.CSS_SELECTOR, "a.release-link")
            if a.text == HOSTILE]
    assert link, "the hostile release name is not shown as text"
    link[0].click()
    wait_for_path(browser, "/release/")
    assert browser.find_element(By.ID, "release-name").text == HOSTILE
    assert browser.find_element(By.ID, "description").text == HOSTILE
    assert browser.title != "pwned"
    assert not browser.find_elements(By.CSS_SELECTOR, "main script, main b")


def test_pages_are_read_only_and_carry_no_script(served):
    url, _ = served
    with urllib.request.urlopen(url + "/", timeout=30) as resp:
        assert "script-src" not in resp.headers["Content-Security-Policy"]
        assert resp.headers["Content-Security-Policy"].startswith("default-src 'none'")
        body = resp.read().decode()
    assert "<script>" not in body and "&lt;script&gt;" in body
    for path, status in (("/release/999999", 404), ("/nowhere", 404),
                         ("/chunk?q=not-hex", 400)):
        try:
            urllib.request.urlopen(url + path, timeout=30)
        except urllib.error.HTTPError as exc:
            assert exc.code == status, path
        else:
            raise AssertionError(f"{path} answered 200")
    request = urllib.request.Request(url + "/", data=b"x", method="POST")
    try:
        urllib.request.urlopen(request, timeout=30)
    except urllib.error.HTTPError as exc:
        assert exc.code == 501
    else:
        raise AssertionError("POST answered 200")


def test_serve_command_listens_on_localhost_until_interrupted(db_url, releases, hub_keys):
    import json
    import signal
    import subprocess
    import sys

    with open_store(db_url) as store:
        add_release(store, str(releases["amber"]), policy=TrustPolicy(key=hub_keys[1]))
    proc = subprocess.Popen([sys.executable, "-m", "llm360.cli.main", "registry", "serve",
                             "--port", "0", "--db", db_url, "--json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        lines = []
        while not lines or lines[-1].strip() != "}":
            line = proc.stdout.readline()
            assert line, proc.stderr.read()
            lines.append(line)
        url = json.loads("".join(lines))["url"]
        assert url.startswith("http://127.0.0.1:")
        with urllib.request.urlopen(url, timeout=30) as resp:
            assert "amber" in resp.read().decode()
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=60) == 0, proc.stderr.read()
