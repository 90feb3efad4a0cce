"""A dead worker's job is redone within the visibility timeout, by a worker already running, once;
and a retry delay longer than that timeout is delivered once (it waits in Redis, workers.due, not
unacknowledged in a worker). On TLS as the least-privilege ACL user, so Kombu's restore of an
unacknowledged message is shown to need nothing the ACL line leaves out. The timeout is short here (20 s, a job's limit then 10 s); in
production it is 360 s over a 300 s limit, so the bound there is 360 s plus an 18 s sweep."""
from __future__ import annotations

import time

import pytest

from integration.store import keys
from tests.e2e.redis_stacks import start_tls_stack, tls_stack
from integration.sandbox.devstack import wait_until
from tests.e2e.helpers import CREATE_OR_UPDATE, calls_to, finished, in_flight

pytestmark = pytest.mark.e2e

VISIBILITY_TIMEOUT = 20
LONG_DELAY = 35  # a Retry-After longer than the visibility timeout


@pytest.fixture(scope="module")
def dead_dev(tmp_path_factory):
    dev = start_tls_stack(tmp_path_factory.mktemp("dead-worker-stack"), workers=2, concurrency=1,
                          extra_env={"BROKER_VISIBILITY_TIMEOUT_SECONDS": str(VISIBILITY_TIMEOUT),
                                     "RETRY_MAX_SECONDS": "60"})
    try:
        yield dev
    finally:
        dev.stop()


@pytest.fixture
def stack(dead_dev):
    s = tls_stack(dead_dev)
    s.reset()
    s.redis.acl_log_reset()
    s.post_omneo("profile.created", s.put_profile(id="p-warm", first_name="Warm", tier="gold"))
    s.wait(lambda: s.zendesk_user("p-warm"), 30, what="the warm-up sync")
    return s


def done_records(stack, job_id):
    return [r for r in stack.log_records(job_id) if r.get("message") == "job done"]


def test_a_job_on_a_sigkilled_worker_completes_on_the_other_worker_once(stack):
    dev = stack.dev
    calls_before = stack.stats()["calls"]
    stack.configure("zendesk", latency=3)
    profile = stack.put_profile(id="p-dead", first_name="Dee", email="dee@example.com")
    job_id = stack.post_omneo("profile.created", profile).json()["job_id"]
    stack.wait(lambda: in_flight(stack, calls_before), 30, what="the job's Zendesk call")
    holder = stack.wait(lambda: next((p for p in dev.processes if p.name.startswith("worker")
                                      and job_id in p.log()), None), what="the worker holding the job")
    other = next(p for p in dev.processes if p.name.startswith("worker") and p is not holder)
    holder.kill()
    killed_at = time.monotonic()
    holder.popen.wait(10)
    stack.configure("zendesk", latency=0)

    end = stack.wait(lambda: finished(stack, job_id), VISIBILITY_TIMEOUT + 30,
                     what="the job to be redone")
    took = time.monotonic() - killed_at
    print(f"\nthe killed worker's job completed {took:.1f} s after the kill "
          f"(visibility timeout {VISIBILITY_TIMEOUT} s)")
    assert end["message"] == "job done" and job_id in other.log()
    assert took <= VISIBILITY_TIMEOUT + 10
    assert len(done_records(stack, job_id)) == 1
    assert [u["external_id"] for u in stack.zendesk_users()].count("p-dead") == 1
    assert stack.redis.hlen("unacked") == 0
    assert stack.redis.acl_log() == []

    holder.start()  # the fixture's stack keeps two workers
    holder.wait_for_log("ready.", 60)


def test_a_retry_delay_longer_than_the_visibility_timeout_is_delivered_once(stack):
    stack.configure("zendesk", fail=[{"path": CREATE_OR_UPDATE, "method": "POST", "status": 429,
                                      "retry_after": LONG_DELAY, "count": 1}])
    profile = stack.put_profile(id="p-later", first_name="Late", email="late@example.com")
    job_id = stack.post_omneo("profile.created", profile).json()["job_id"]
    stack.wait(lambda: any(r.get("message") == "job will retry" for r in stack.log_records(job_id)),
               20, what="the rate-limited first run")
    # the retry waits in the due set; no message of it is unacknowledged in a worker
    assert stack.redis.zcard(keys.due("sync")) == 1
    assert stack.redis.hlen("unacked") == 0
    end = wait_until(lambda: finished(stack, job_id), LONG_DELAY * 1.25 + 30, interval=0.5,
                     what="the retry")
    assert end["message"] == "job done"
    # one rate-limited call, one that went through: the retry ran once, though it waited longer
    # than the visibility timeout
    statuses = [c["status"] for c in calls_to(stack, "zendesk", "POST", CREATE_OR_UPDATE)]
    assert statuses.count(429) == 1 and statuses.count(201) == 2, statuses  # warm-up + this
    # and no copy of it is left anywhere to be delivered again
    assert stack.redis.zcard(keys.due("sync")) == 0 and stack.redis.hlen("unacked") == 0
    assert stack.redis.llen("sync") == 0
    assert len(done_records(stack, job_id)) == 1
