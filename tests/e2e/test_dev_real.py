"""`omneo-zendesk dev` with real settings in the environment: it runs the receiver, a worker and
beat against the APIs those settings name (here: sandboxes standing in for them, started by the
test), starts no sandbox or Redis of its own, and stops everything on SIGTERM."""
from __future__ import annotations

import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import requests

from integration.sandbox.base import ServerThread
from integration.sandbox.omneo import OmneoSandbox
from integration.sandbox.zendesk import ZendeskSandbox
from integration.apis.signatures import omneo_signature
from integration.sandbox.devstack import DevStack, wait_until
from tests.e2e.helpers import processes_of

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]


def lines_of(stream, into: queue.Queue) -> None:
    for line in stream:
        into.put(line)


def test_dev_with_real_settings_uses_them_and_stops_cleanly(tmp_path):
    zendesk = ServerThread(ZendeskSandbox(email="ops@acme.example", api_token="zd-real-token")).start()
    omneo = ServerThread(OmneoSandbox(token="om-real-token", webhook_secret="om-real-hook-secret")).start()
    redis_stack = DevStack(tmp_path / "redis")
    redis_url = redis_stack.start_redis()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("REDIS_", "OMNEO_", "ZENDESK_", "PROMETHEUS_"))}
    env.update({
        "PYTHONPATH": str(ROOT), "REDIS_URL": redis_url, "OMNEO_TENANT": "acme",
        "OMNEO_BASE_URL": omneo.url + "/api/v3", "OMNEO_API_TOKEN": "om-real-token",
        "OMNEO_WEBHOOK_SECRET": "om-real-hook-secret", "ZENDESK_BASE_URL": zendesk.url,
        "ZENDESK_EMAIL": "ops@acme.example", "ZENDESK_API_TOKEN": "zd-real-token",
        "ZENDESK_WEBHOOK_SECRET": "zd-real-hook-secret", "ZENDESK_APP_SECRET": "zd-app-secret-0123456789abcdef012345"})
    proc = subprocess.Popen([sys.executable, "-m", "web.cli", "dev", "--port", "0", "--log-dir",
                             str(tmp_path / "logs")], env=env, cwd=tmp_path, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out: queue.Queue = queue.Queue()
    threading.Thread(target=lines_of, args=(proc.stdout, out), daemon=True).start()
    seen: list[str] = []
    try:
        def running():
            while not out.empty():
                seen.append(out.get())
            assert proc.poll() is None, "".join(seen)
            return any("running; Ctrl-C" in line for line in seen)

        wait_until(running, 90, 0.1, what="dev to start")
        text = "".join(seen)
        assert "sandbox" not in text and "REDIS_URL" in text
        receiver = re.search(r"^receiver\s+(http://\S+)", text, re.M).group(1)

        requests.post(omneo.url + "/_sandbox/profiles?emit=0", timeout=5, json={
            "id": "p-real", "first_name": "Rea", "email": "real@example.com"}).raise_for_status()
        raw = json.dumps({"id": "p-real"}).encode()
        r = requests.post(receiver + "/webhooks/omneo", data=raw, timeout=10, headers={
            "X-Omneo-Event": "profile.created",
            "X-Omneo-Hmac-SHA256": omneo_signature("om-real-hook-secret", raw)})
        assert r.status_code == 202, r.text
        wait_until(lambda: any(u.get("external_id") == "p-real"
                               for u in zendesk.server.app.users.values()), 60, what="the sync")
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            assert proc.wait(60) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
            redis_stack.stop()
            zendesk.stop()
            omneo.stop()
    assert not processes_of(tmp_path / "logs")
