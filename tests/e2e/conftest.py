"""A real stack for end-to-end tests: redis-server on a free port, both sandboxes, the receiver
under gunicorn and a Celery worker, all separate processes talking HTTP and Redis."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from datetime import datetime, timezone

import pytest
import redis
import requests

from integration.apis.signatures import omneo_signature, zendesk_signature
from integration.sandbox import traffic
from integration.store import marks
from integration.apis.signatures import omneo_signature, zendesk_signature
from integration.store.state import State
from integration.sandbox.zaf import add_sample_agents
from tests.e2e.helpers import ACTIONS_ENV, CHROMIUM, CHROMIUM_ARGS
from integration.sandbox.devstack import (SANDBOX_ZENDESK_EMAIL, SANDBOX_ZENDESK_TOKEN, DevStack, cli_argv,
                                          wait_until)

FAST_RETRIES = {"RETRY_BASE_SECONDS": "0.2", "RETRY_MAX_SECONDS": "1", "TASK_MAX_ATTEMPTS": "4",
                "LOG_FORMAT": "json"}


CONFORMANCE = "test_zendesk_conformance.py"


def pytest_configure(config):
    """Every Zendesk sandbox this run starts records its traffic, for the conformance check
    (tests/e2e/test_zendesk_conformance.py, run last)."""
    if not os.environ.get(traffic.ENV):
        os.environ[traffic.ENV] = tempfile.mkdtemp(prefix="oz-zendesk-traffic-")
        config.stash[_OWN_TRAFFIC_DIR] = os.environ[traffic.ENV]


def pytest_unconfigure(config):
    own = config.stash.get(_OWN_TRAFFIC_DIR, None)
    if own:
        shutil.rmtree(own, ignore_errors=True)
        os.environ.pop(traffic.ENV, None)


def pytest_collection_modifyitems(session, config, items):
    """The conformance check sees the traffic of every test before it: it runs last."""
    items.sort(key=lambda item: item.path.name == CONFORMANCE)


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    summary = config.stash.get(CONFORMANCE_SUMMARY, None)
    if summary:
        terminalreporter.write_line(summary)


_OWN_TRAFFIC_DIR = pytest.StashKey[str]()
CONFORMANCE_SUMMARY = pytest.StashKey[str]()


class Stack:
    def __init__(self, dev: DevStack):
        self.dev = dev
        self.env = dev.env
        self.redis = redis.Redis.from_url(dev.env["REDIS_URL"])
        self.zendesk = dev.urls["zendesk_sandbox"]
        self.omneo = dev.urls["omneo_sandbox"]

    # the tests' own calls to the Zendesk sandbox (the product itself uses OAuth)
    zendesk_auth = (f"{SANDBOX_ZENDESK_EMAIL}/token", SANDBOX_ZENDESK_TOKEN)

    @property
    def receiver(self) -> str:
        return self.dev.urls["receiver"]

    def reset(self) -> None:
        self.redis.flushall()
        for url in (self.zendesk, self.omneo):
            requests.post(url + "/_sandbox/reset", timeout=5).raise_for_status()
            requests.post(url + "/_sandbox/config", json={"rate_per_minute": None, "fail": [],
                                                          "latency": 0}, timeout=5)

    # Omneo side
    def put_profile(self, **fields) -> dict:
        r = requests.post(self.omneo + "/_sandbox/profiles?emit=0", json=fields, timeout=5)
        r.raise_for_status()
        return r.json()["data"]

    def profile(self, profile_id: str) -> dict:
        r = requests.get(f"{self.omneo}/api/v3/profiles/{profile_id}",
                         headers={"Authorization": f"Bearer {self.env['OMNEO_API_TOKEN']}"}, timeout=5)
        r.raise_for_status()
        return r.json()["data"]

    def post_omneo(self, event: str, body: dict | bytes, secret: str | None = None, headers=None):
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        sig = omneo_signature(secret or self.env["OMNEO_WEBHOOK_SECRET"], raw)
        h = {"Content-Type": "application/json", "X-Omneo-Event": event, "X-Omneo-Hmac-SHA256": sig}
        h.update(headers or {})
        return requests.post(self.receiver + "/webhooks/omneo", data=raw, headers=h, timeout=10)

    # Zendesk side
    def zendesk_state(self) -> dict:
        return requests.get(self.zendesk + "/_sandbox/users", timeout=5).json()

    def zendesk_users(self) -> list[dict]:
        return self.zendesk_state()["users"]

    def zendesk_user(self, external_id: str) -> dict | None:
        return next((u for u in self.zendesk_users() if u.get("external_id") == external_id), None)

    def post_zendesk(self, body: dict | bytes, secret: str | None = None, timestamp: str | None = None,
                     headers=None):
        """POST a ticket event to the receiver, signed as Zendesk signs it (timestamp: now)."""
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        ts = timestamp or datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        sig = zendesk_signature(secret or self.env["ZENDESK_WEBHOOK_SECRET"], ts, raw)
        h = {"Content-Type": "application/json", "X-Zendesk-Webhook-Signature": sig,
             "X-Zendesk-Webhook-Signature-Timestamp": ts}
        h.update(headers or {})
        return requests.post(self.receiver + "/webhooks/zendesk", data=raw, headers=h, timeout=10)

    def zendesk_add_user(self, **fields) -> dict:
        r = requests.post(self.zendesk + "/_sandbox/users", json=dict({"name": "Someone"}, **fields),
                          timeout=5)
        r.raise_for_status()
        return r.json()["user"]

    def zendesk_add_ticket(self, requester_id, subject: str = "Where is my order?") -> dict:
        r = requests.post(self.zendesk + "/_sandbox/tickets",
                          json={"requester_id": requester_id, "subject": subject}, timeout=5)
        r.raise_for_status()
        return r.json()["ticket"]

    def subscribe_receiver(self, *event_types: str) -> str:
        """Register the receiver as an event-subscribed Zendesk webhook, as `setup` would."""
        hook = {"name": "omneo-zendesk", "endpoint": self.receiver + "/webhooks/zendesk",
                "http_method": "POST", "request_format": "json", "status": "active",
                "subscriptions": list(event_types)}
        r = requests.post(self.zendesk + "/api/v2/webhooks", json={"webhook": hook}, timeout=5,
                          auth=self.zendesk_auth)
        r.raise_for_status()
        return r.json()["webhook"]["id"]

    def ticket_event(self, ticket_id, type_: str, **data) -> dict:
        """Make the Zendesk sandbox send a ticket event to its webhooks; answers the deliveries."""
        r = requests.post(f"{self.zendesk}/_sandbox/tickets/{ticket_id}/events",
                          json=dict(data, type=type_), timeout=30)
        r.raise_for_status()
        return r.json()

    def interactions(self) -> list[dict]:
        return requests.get(self.omneo + "/_sandbox/interactions", timeout=5).json()["data"]

    def stats(self, which: str = "zendesk") -> dict:
        return requests.get(getattr(self, which) + "/_sandbox/stats", timeout=5).json()

    def configure(self, which: str, **config) -> None:
        requests.post(getattr(self, which) + "/_sandbox/config", json=config, timeout=5).raise_for_status()

    def worker_log(self) -> str:
        return "".join(p.log() for p in self.dev.processes if p.name.startswith("worker"))

    def job_outcome(self, job_id: str) -> str | None:
        """The outcome a worker logged for this job, once it finished."""
        for line in self.worker_log().splitlines():
            if job_id in line and line.startswith("{"):
                record = json.loads(line)
                if record.get("message") == "job done":
                    return record.get("outcome")
        return None

    def synced_mark(self, profile_id: str) -> dict | None:
        """The profile's sync watermark, read as the workers read it."""
        return State(self.redis, 1000).synced_mark(profile_id)

    def forget_delivery(self, source: str, delivery_id: str) -> None:
        """Drop a delivery's dedupe mark, as if it had expired."""
        hashes, field, _ = marks.seen_keys(source, delivery_id)
        for key in hashes[:-1]:
            self.redis.hdel(key, field)

    def wait(self, predicate, timeout: float = 20.0, what: str = "condition"):
        return wait_until(predicate, timeout, what=what)

    def calls(self, which: str = "zendesk") -> list[dict]:
        """The sandbox's log of API calls: method, path, query, status, started, ended."""
        return requests.get(getattr(self, which) + "/_sandbox/calls", timeout=5).json()["calls"]

    def cli(self, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
        """Run the real `omneo-zendesk` command line with the stack's settings."""
        return subprocess.run(cli_argv(*args), env=env or self.env, capture_output=True, text=True,
                              timeout=60)

    def log_records(self, job_id: str | None = None) -> list[dict]:
        """The workers' JSON log records, those naming `job_id` if given."""
        records = []
        for line in self.worker_log().splitlines():
            if line.startswith("{") and (job_id is None or job_id in line):
                try:
                    records.append(json.loads(line))
                except ValueError:
                    pass
        return records


def new_dev(log_dir, extra_env: dict | None = None) -> DevStack:
    """A launcher whose processes see none of this machine's OMNEO_/ZENDESK_/REDIS_ settings."""
    dev = DevStack(log_dir, base_env={
        k: v for k, v in os.environ.items() if not k.startswith(("OMNEO_", "ZENDESK_", "REDIS_"))})
    dev.env.update(FAST_RETRIES)
    dev.env.update(extra_env or {})
    return dev


def start_stack(log_dir, extra_env: dict | None = None, workers: int = 1, concurrency: int = 2,
                zendesk_rate: int | None = None, start_redis=DevStack.start_redis) -> DevStack:
    """A whole stack of real processes; `extra_env` adds settings, `workers` worker processes,
    `start_redis(dev)` the Redis they use (a plain redis-server by default)."""
    dev = new_dev(log_dir, extra_env)
    try:
        start_redis(dev)
        dev.start_sandboxes(zendesk_rate=zendesk_rate)
        dev.start_receiver()
        for i in range(workers):
            dev.start_worker("worker" if i == 0 else f"worker-{i + 1}", concurrency=concurrency)
    except BaseException:
        dev.stop()
        raise
    return dev


@pytest.fixture(scope="session")
def dev_stack(tmp_path_factory):
    dev = start_stack(tmp_path_factory.mktemp("stack"))
    try:
        yield dev
    finally:
        dev.stop()


@pytest.fixture(scope="session")
def actions_dev_stack(tmp_path_factory):
    """A stack set up for agent actions (a ZAF key, roles, definitions, caps), shared by the
    actions e2e tests and the sidebar's browser tests of them."""
    dev = start_stack(tmp_path_factory.mktemp("actions"), extra_env=ACTIONS_ENV)
    try:
        yield dev
    finally:
        dev.stop()


@pytest.fixture
def actions_stack(actions_dev_stack):
    s = Stack(actions_dev_stack)
    s.reset()
    add_sample_agents(s.zendesk)
    return s


@pytest.fixture
def stack(dev_stack):
    s = Stack(dev_stack)
    s.reset()
    return s


@pytest.fixture(scope="session")
def browser():
    """One headless Chromium for every browser test of the run."""
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: .ci/run installs Debian's chromium package")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()
