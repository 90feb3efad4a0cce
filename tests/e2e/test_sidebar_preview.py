"""`omneo-zendesk dev` serves a page with the sidebar beside a ticket of each sample customer:
the real command in its own process, the page in real Chromium."""
from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from integration.sandbox.samples import CUSTOMERS
from tests.e2e.helpers import ARTIFACTS, processes_of

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def dev_command(tmp_path):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("REDIS_", "OMNEO_", "ZENDESK_", "PROMETHEUS_"))}
    env["PYTHONPATH"] = str(ROOT)
    proc = subprocess.Popen([sys.executable, "-m", "web.cli", "dev", "--port", "0", "--preview-port", "0",
                             "--log-dir", str(tmp_path / "logs")], env=env, cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout], daemon=True).start()
    try:
        yield proc, lines
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
        assert not processes_of(tmp_path / "logs")


def preview_url(lines: queue.Queue) -> str:
    seen = []
    while True:
        line = lines.get(timeout=180)
        seen.append(line)
        found = re.search(r"sidebar preview\s+(http://127\.0\.0\.1:\d+/)", line)
        if found:
            return found.group(1)
        assert "omneo-zendesk dev:" not in line, "".join(seen)


def test_dev_serves_the_sidebar_beside_each_sample_ticket(dev_command, browser):
    _, lines = dev_command
    url = preview_url(lines)
    names = [f"{c['first_name']} {c['last_name']}" for c in CUSTOMERS]
    for scheme, locale in (("light", "en-US"), ("dark", "de")):
        page = browser.new_page(viewport={"width": 1000, "height": 900})
        outside = []
        page.on("request", lambda r: outside.append(r.url) if "127.0.0.1" not in r.url else None)
        page.goto(f"{url}?scheme={scheme}&locale={locale}")
        frames = page.locator("iframe")
        assert frames.count() == len(CUSTOMERS) + 1
        shown = []
        for n in range(len(CUSTOMERS)):
            frame = page.frame_locator("iframe").nth(n)
            frame.locator('#app[data-state="found"]').wait_for(timeout=60_000)
            shown.append(frame.locator('[data-field="name"]').inner_text())
            assert frame.locator("html").get_attribute("data-color-scheme") == scheme
        stranger = page.frame_locator("iframe").nth(len(CUSTOMERS))
        stranger.locator('#app[data-state="not_found"]').wait_for(timeout=60_000)
        assert shown == names
        assert outside == [], "the preview reached beyond this machine"
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"dev-preview-{scheme}.png"), full_page=True)
        page.close()
    # a sample agent of each role: the team lead (custom role 360001) may act
    page = browser.new_page(viewport={"width": 1000, "height": 900})
    page.goto(url)
    assert page.get_by_role("link", name="Sam Agent (agent, may not act)").is_visible()
    page.get_by_role("link", name="Tia Team Lead (custom role 360001, may act)").click()
    first = page.frame_locator("iframe").nth(0)
    first.locator('[data-form="reward"]:not([hidden])').wait_for(timeout=60_000)
    first.locator('[data-form="claim"]:not([hidden])').wait_for(timeout=60_000)
    page.screenshot(path=str(ARTIFACTS / "dev-preview-actions.png"), full_page=True)
    page.close()
