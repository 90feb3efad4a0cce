"""OAuth client credentials on the real stack: redis-server, both sandboxes, the receiver under
gunicorn and two Celery worker processes sharing one token the Zendesk sandbox grants for
LIFETIME seconds; a Sentry stand-in receives what the processes report."""
from __future__ import annotations

import os
import re
import threading
import time
from http.server import ThreadingHTTPServer

import pytest
import requests

from integration.store import keys
from integration.apis import zendesk_auth
from integration.store import keys
from integration.settings.declared import load_settings
from tests.e2e.conftest import FAST_RETRIES, Stack
from integration.sandbox.devstack import SANDBOX_ZENDESK_CLIENT_SECRET, DevStack
from tests.e2e.helpers import Ingest

pytestmark = pytest.mark.e2e

LIFETIME = 3.0  # seconds the sandbox grants each token (Zendesk's floor is 300)
WRONG_SECRET = "not-the-client-secret-9f3e1a"
WORKERS = ("worker", "worker-2")


@pytest.fixture(scope="module")
def sentry():
    Ingest.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Ingest)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://publickey@127.0.0.1:{server.server_address[1]}/1", Ingest.received
    server.shutdown()


@pytest.fixture(scope="module")
def oauth_dev(tmp_path_factory, sentry):
    dev = DevStack(tmp_path_factory.mktemp("oauth"), base_env={
        k: v for k, v in os.environ.items() if not k.startswith(("OMNEO_", "ZENDESK_", "REDIS_", "SENTRY_"))})
    dev.env.update(FAST_RETRIES, SENTRY_DSN=sentry[0], ZENDESK_TOKEN_LIFETIME_SECONDS="300")
    try:
        dev.start_redis()
        dev.start_sandboxes(token_lifetime=LIFETIME)
        start_product(dev)
        yield dev
    finally:
        dev.stop()


def start_product(dev: DevStack) -> None:
    dev.start_receiver()
    for name in WORKERS:
        dev.start_worker(name, concurrency=2)


def stop_product(dev: DevStack) -> None:
    for proc in [p for p in dev.processes if p.name in ("receiver",) + WORKERS]:
        proc.stop(timeout=20)
        dev.processes.remove(proc)


@pytest.fixture
def stack(oauth_dev):
    s = Stack(oauth_dev)
    s.reset()
    return s


def send_profile(stack: Stack, n: int, prefix: str) -> str:
    pid = f"{prefix}-{n}"
    profile = stack.put_profile(id=pid, first_name="Oauth", last_name=f"Person{n}",
                                email=f"{pid}@example.com")
    r = stack.post_omneo("profile.created", profile)
    assert r.status_code == 202, r.text
    return pid


def synced(stack: Stack, ids: list[str]) -> bool:
    have = {u.get("external_id") for u in stack.zendesk_users()}
    return all(i in have for i in ids)


def test_two_workers_share_one_token_across_lifetimes_and_a_revocation(stack):
    ids, started = [], time.monotonic()
    duration = 7 * LIFETIME
    revoked = False
    while time.monotonic() - started < duration:  # a steady stream: about five profiles a second
        ids.append(send_profile(stack, len(ids), "rot"))
        if not revoked and time.monotonic() - started > duration / 2:
            assert requests.post(stack.zendesk + "/_sandbox/oauth/revoke", timeout=5).json()["revoked"] >= 1
            revoked = True
        time.sleep(0.2)  # the pace of the stream, not a wait for work
    stack.wait(lambda: synced(stack, ids), timeout=60, what="every profile synced")
    elapsed = time.monotonic() - started
    stats = stack.stats()
    lifetimes = elapsed / LIFETIME
    print(f"\n{len(ids)} profiles over {elapsed:.1f}s = {lifetimes:.1f} token lifetimes: "
          f"{stats['oauth_grants']} grants, {stats.get('oauth_invalid_token', 0)} invalid_token answers")
    assert stack.redis.zcard(keys.DLQ_INDEX) == 0
    assert lifetimes >= 5
    # one per lifetime (renewed a tenth early) plus the revocation; four pool processes and the
    # receiver each keeping a token of their own would need four or more per lifetime
    assert stats["oauth_grants"] <= lifetimes * 1.15 + 2, stats
    assert stats["oauth_grants"] >= 4  # it did renew, and more than once
    assert stats.get("oauth_invalid_token", 0) >= 1  # the revocation was met and recovered from


def test_wrong_secret_waits_without_dead_letters_and_goes_through_once_fixed(stack):
    dev = stack.dev
    stop_product(dev)
    dev.env["ZENDESK_CLIENT_SECRET"] = WRONG_SECRET
    try:
        start_product(dev)
        ids = [send_profile(stack, n, "wrong") for n in range(8)]  # every webhook 202
        retried = lambda: [r for r in stack.log_records() if r.get("reason") == "zendesk credentials refused"]
        stack.wait(lambda: len(retried()) >= 3 * len(ids), timeout=60, what="jobs waiting on auth")
        assert stack.redis.zcard(keys.DLQ_INDEX) == 0
        assert not any(u.get("external_id", "").startswith("wrong-") for u in stack.zendesk_users())
        ready = requests.get(stack.receiver + "/readyz", timeout=5)
        assert ready.status_code == 200 and ready.json()["status"] == "degraded"
        assert ready.json()["zendesk_auth"]["setting"] == "ZENDESK_CLIENT_SECRET"
        metrics = requests.get(stack.receiver + "/metrics", timeout=5).text
        assert re.search(r"^oz_zendesk_auth_ok 0\.0$", metrics, re.M)
        # one error line per grant attempt, however many jobs wait
        refused = stack.stats()["oauth_grants_refused"]
        errors = [r for r in stack.log_records() if r.get("message") == "zendesk auth refused"]
        assert 1 <= len(errors) == refused < len(ids)

        check = stack.cli("check")
        assert check.returncode == 1
        line = next(x for x in check.stdout.splitlines() if x.startswith("zendesk: oauth grant"))
        assert "FAIL" in line and "ZENDESK_CLIENT_SECRET" in line
        assert WRONG_SECRET not in check.stdout + check.stderr
    finally:
        stop_product(dev)
        dev.env["ZENDESK_CLIENT_SECRET"] = SANDBOX_ZENDESK_CLIENT_SECRET
        start_product(dev)
    stack.wait(lambda: synced(stack, ids), timeout=60, what="the waiting jobs, once fixed")
    assert stack.redis.zcard(keys.DLQ_INDEX) == 0  # nothing to replay
    assert requests.get(stack.receiver + "/readyz", timeout=5).json()["status"] == "ok"
    metrics = requests.get(stack.receiver + "/metrics", timeout=5).text
    assert re.search(r"^oz_zendesk_auth_ok 1\.0$", metrics, re.M)
    check = stack.cli("check")
    assert check.returncode == 0, check.stdout + check.stderr
    assert re.search(r"^zendesk: oauth token +ok +user 1, scopes users:read", check.stdout, re.M), check.stdout


def test_secret_and_tokens_appear_in_no_log_sentry_event_or_check_output(stack, sentry):
    ids = [send_profile(stack, n, "leak") for n in range(4)]
    stack.wait(lambda: synced(stack, ids), timeout=60, what="the profiles")
    # the client secret rotated in Zendesk under the running stack: refusals, logged and reported
    stack.configure("zendesk", client_secret="rotated-in-admin-center-5b2c")
    requests.post(stack.zendesk + "/_sandbox/oauth/revoke", timeout=5)
    ids += [send_profile(stack, n, "leak2") for n in range(4)]
    stack.wait(lambda: any(b"zendesk auth refused" in body for body in sentry[1]), timeout=60,
               what="the refusal reported to Sentry")
    stack.configure("zendesk", client_secret=SANDBOX_ZENDESK_CLIENT_SECRET)
    fp = zendesk_auth.fingerprint(load_settings(stack.env))
    stack.redis.delete(keys.zendesk_grant_refused(fp))  # not wait out the 30 s memory of the refusal
    stack.wait(lambda: synced(stack, ids), timeout=60, what="the profiles after the refusal")
    check = stack.cli("check")
    with_wrong = stack.cli("check", env=dict(stack.env, ZENDESK_CLIENT_SECRET=WRONG_SECRET))
    assert check.returncode == 0 and with_wrong.returncode == 1
    # a `check` run with a wrong secret says so, and leaves the deployment's own state alone
    assert requests.get(stack.receiver + "/readyz", timeout=5).json()["status"] == "ok"
    assert re.search(r"^oz_zendesk_auth_ok 1\.0$", requests.get(stack.receiver + "/metrics", timeout=5).text,
                     re.M)
    tokens = requests.get(stack.zendesk + "/_sandbox/oauth/tokens", timeout=5).json()["tokens"]
    assert len(tokens) >= 2  # before the revocation and after it (check shares the current one)
    logs = "".join((stack.dev.log_dir / f"{n}.log").read_text() for n in ("receiver",) + WORKERS)
    everything = {"logs": logs, "sentry": b"".join(sentry[1]).decode(errors="replace"),
                  "check": check.stdout + check.stderr + with_wrong.stdout + with_wrong.stderr}
    assert "zendesk oauth token renewed" in logs and "zendesk auth refused" in logs
    for where, text in everything.items():
        for secret in [SANDBOX_ZENDESK_CLIENT_SECRET, WRONG_SECRET, "rotated-in-admin-center-5b2c"] + tokens:
            assert secret not in text, f"a secret or token in {where}"
