"""`omneo-zendesk dev --demo` from a clean environment: no REDIS_URL, no credentials."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from integration.sandbox.samples import CUSTOMERS
from tests.e2e.helpers import processes_of

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]


def run_demo(tmp_path, *extra) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("REDIS_", "OMNEO_", "ZENDESK_", "PROMETHEUS_"))}
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.run([sys.executable, "-m", "web.cli", "dev", "--demo", "--port", "0",
                           "--log-dir", str(tmp_path / "logs"), *extra],
                          env=env, cwd=tmp_path, capture_output=True, text=True, timeout=240)


def assert_all_synced(result: subprocess.CompletedProcess) -> None:
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    out = result.stdout
    for customer in CUSTOMERS:
        row = next(line for line in out.splitlines() if line.startswith(customer["id"] + " "))
        assert re.search(r"user \d+", row) and " synced " in row, row
    assert "202 job queued" in out and "200 duplicate, ignored" in out
    assert re.search(r"sync_profile\s+succeeded\s+4\b", out), out
    # ticket created, solved and rated for the first customer; created for the second
    interactions = {line.split()[0]: line.split()[-1] for line in out.splitlines()
                    if line.startswith("demo-")}
    assert interactions == {"demo-ada": "3", "demo-grace": "1", "demo-alan": "0", "demo-katherine": "0"}
    assert re.search(r"dead_letters\s+now\s+0\b", out), out


def test_demo_runs_to_completion_on_an_embedded_redis(tmp_path):
    result = run_demo(tmp_path)
    assert_all_synced(result)
    assert "redis-server" in result.stdout
    # the lasting way into Zendesk by default: OAuth client credentials, no API token
    env_file = (tmp_path / "logs" / "dev.env").read_text()
    assert "ZENDESK_CLIENT_ID=" in env_file and "ZENDESK_API_TOKEN" not in env_file
    # it stopped everything it started
    assert not processes_of(tmp_path / "logs")


def test_demo_falls_back_to_the_in_process_redis(tmp_path):
    result = run_demo(tmp_path, "--redis", "fakeredis")
    assert_all_synced(result)
    assert "fakeredis (in-process, slow)" in result.stdout
