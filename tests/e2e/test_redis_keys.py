"""Every key the product writes either expires or is one README names as lasting; Redis's
eviction policy is checked by `check`, `/readyz`, the metrics and the start-up logs."""
from __future__ import annotations

import fnmatch
import re
import subprocess
from pathlib import Path

import pytest
import redis
import requests

from integration.sandbox.devstack import cli_argv, free_port, wait_until

pytestmark = pytest.mark.e2e
README = Path(__file__).resolve().parents[2] / "README.md"


def lasting_patterns() -> list[str]:
    """The keys README's Redis section lists as lasting (no TTL), as globs."""
    text = README.read_text()
    section = text[text.index("Keys that last"):]
    section = section[:section.index("\n\n")]
    return [re.sub(r"<[^>]+>", "*", name) for name in re.findall(r"`([^`]+)`", section)]


def test_each_key_written_expires_or_is_listed_as_lasting(stack):
    ticket_hook = stack.subscribe_receiver("zen:event-type:ticket.created")
    assert ticket_hook
    for i in range(3):
        profile = stack.put_profile(id=f"k-{i}", first_name="Kay", email=f"k-{i}@example.com")
        assert stack.post_omneo("profile.created", profile, headers={"X-Omneo-Delivery": f"d-{i}"}
                                ).status_code == 202
    stack.wait(lambda: all(stack.synced_mark(f"k-{i}") for i in range(3)), timeout=60, what="3 syncs")
    user = stack.zendesk_user("k-0")
    ticket = stack.zendesk_add_ticket(user["id"])
    stack.ticket_event(ticket["id"], "zen:event-type:ticket.created")
    stack.wait(lambda: stack.interactions(), timeout=60, what="the interaction")
    requests.delete(f"{stack.omneo}/_sandbox/profiles/k-1", timeout=5).raise_for_status()
    assert stack.post_omneo("profile.deleted", {"id": "k-1"}).status_code == 202
    stack.wait(lambda: stack.redis.llen("oz:audit:erasures"), timeout=60, what="the erasure")
    run = stack.cli("reconcile", "run")
    assert run.returncode == 0, run.stderr

    patterns = lasting_patterns()
    assert "oz:marks:synced:*" in patterns
    lasting = [k.decode() for k in stack.redis.scan_iter(count=1000) if stack.redis.ttl(k) == -1]
    unlisted = [k for k in lasting if not any(fnmatch.fnmatchcase(k, p) for p in patterns)]
    assert lasting and not unlisted, f"keys without a TTL that README does not list: {unlisted}"
    # the dedupe marks are among the keys that expire
    assert stack.redis.keys("oz:marks:seen:*")
    assert all(stack.redis.ttl(k) > 0 for k in stack.redis.keys("oz:marks:seen:*"))


@pytest.fixture
def evicting_redis(tmp_path):
    port = free_port()
    proc = subprocess.Popen(["redis-server", "--port", str(port), "--save", "", "--appendonly", "no",
                             "--maxmemory", "64mb", "--maxmemory-policy", "allkeys-lru"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    client = redis.Redis(port=port)
    try:
        wait_until(lambda: client.ping(), 10, what="the evicting redis-server")
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(10)


def redis_row(output: str) -> str:
    return next(line for line in output.splitlines() if "maxmemory-policy" in line and "redis" in line)


def test_an_evicting_redis_fails_check_and_warns_at_start(stack, evicting_redis):
    env = {**stack.env, "REDIS_URL": evicting_redis}
    checked = stack.cli("check", env=env)
    assert checked.returncode == 1
    row = redis_row(checked.stdout)
    assert "FAIL" in row and "allkeys-lru" in row and "queued jobs" in checked.stdout

    beat = stack.dev._spawn("beat-evicting", cli_argv("beat"), env)
    try:
        beat.wait_for_log("REDIS MAY DROP OUR KEYS", timeout=60)
        assert "maxmemory-policy is allkeys-lru" in beat.log()
    finally:
        beat.stop()


def test_noeviction_passes_and_the_headroom_is_exported(stack):
    row = redis_row(stack.cli("check").stdout)
    assert " ok " in f" {row} " or "| ok" in row, row
    assert "REDIS MAY DROP" not in stack.worker_log()
    assert "maxmemory-policy noeviction" in stack.worker_log()
    ready = requests.get(stack.receiver + "/readyz", timeout=5).json()
    assert ready["redis_memory"]["maxmemory_policy"] == "noeviction" and ready["redis_memory"]["noeviction"]
    metrics = requests.get(stack.receiver + "/metrics", timeout=5).text
    assert "oz_redis_noeviction 1.0" in metrics and "oz_redis_used_memory_bytes" in metrics
    assert "oz_redis_maxmemory_bytes" in metrics
