"""Crash safety, Redis outages and one job per profile, on a stack of its own: two worker
processes, and a short broker visibility timeout so a dead worker's job comes back within the test."""
from __future__ import annotations

import pytest

from integration.store import keys
from tests.e2e.conftest import Stack, start_stack
from tests.e2e.helpers import CREATE_OR_UPDATE, calls_to, finished, in_flight

pytestmark = pytest.mark.e2e

VISIBILITY_TIMEOUT = 20  # seconds; production keeps the default (see workers/celery_app.py)


@pytest.fixture(scope="module")
def crash_dev(tmp_path_factory):
    dev = start_stack(tmp_path_factory.mktemp("crash-stack"), workers=2, concurrency=1,
                      extra_env={"BROKER_VISIBILITY_TIMEOUT_SECONDS": str(VISIBILITY_TIMEOUT)})
    try:
        yield dev
    finally:
        dev.stop()


@pytest.fixture
def stack(crash_dev):
    s = Stack(crash_dev)
    s.reset()
    # the first sync of an account creates the tier user field: get that out of the way
    s.post_omneo("profile.created", s.put_profile(id="p-warm", first_name="Warm", tier="gold"))
    s.wait(lambda: s.zendesk_user("p-warm"), 30, what="the warm-up sync")
    return s


def identities(stack, profile_id):
    return [i["identifier"] for i in stack.profile(profile_id)["identities"] if i["handle"] == "zendesk"]


def test_two_jobs_on_one_profile_never_interleave(stack):
    calls_before = stack.stats()["calls"]
    stack.configure("zendesk", latency=3)  # holds each Zendesk call for 3 s
    first = stack.post_omneo("profile.created",
                             stack.put_profile(id="p-410", first_name="First", email="lock@example.com"))
    stack.wait(lambda: in_flight(stack, calls_before), 30, what="the first job's Zendesk call")
    # the profile changes while the first job is writing; its webhook starts a second job at once,
    # on the other worker
    second = stack.post_omneo("profile.updated", stack.put_profile(id="p-410", first_name="Second"))
    assert first.status_code == second.status_code == 202
    second_id = second.json()["job_id"]
    end = stack.wait(lambda: finished(stack, second_id), 40, what="the second job")
    stack.configure("zendesk", latency=0)
    assert end["message"] == "job done", end

    assert stack.zendesk_user("p-410")["name"].startswith("Second")
    waited = [r for r in stack.log_records(second_id) if r.get("message") == "job will retry"]
    assert waited and {r["reason"] for r in waited} == {"profile locked"}
    reads = calls_to(stack, "omneo", "GET", "/api/v3/profiles/p-410")
    writes = calls_to(stack, "zendesk", "POST", CREATE_OR_UPDATE)
    linked = calls_to(stack, "omneo", "POST", "/api/v3/profiles/p-410/identities")
    assert len(reads) == 2 and len(linked) == 1
    first_job_end = max(writes[0]["ended"], linked[0]["ended"])
    # the second job read the profile only once the first had finished writing
    assert reads[1]["started"] >= first_job_end


def test_a_worker_killed_mid_job_leaves_the_job_to_a_new_worker(stack):
    dev = stack.dev
    calls_before = stack.stats()["calls"]
    stack.configure("zendesk", latency=4)
    profile = stack.put_profile(id="p-420", first_name="Crash", email="crash@example.com")
    job_id = stack.post_omneo("profile.created", profile).json()["job_id"]
    stack.wait(lambda: in_flight(stack, calls_before), 30, what="the job's Zendesk call")
    holder = stack.wait(lambda: next((p for p in dev.processes if p.name.startswith("worker")
                                      and job_id in p.log()), None), what="the worker holding the job")
    holder.kill()  # SIGKILL to the worker's whole process group, mid-call
    holder.popen.wait(10)
    dev.processes.remove(holder)

    # the message is still Redis's, unacknowledged; the dead holder's lock is still set, and expiring
    assert any(job_id.encode() in raw for raw in stack.redis.hvals("unacked"))
    ttl = stack.redis.pttl(keys.profile_lock("p-420"))
    assert 0 < ttl <= 15_000
    stack.configure("zendesk", latency=0)
    stack.wait(lambda: not stack.redis.exists(keys.profile_lock("p-420")), 30,
               what="the dead holder's lock to expire")

    dev.start_worker("worker-new", concurrency=1)
    outcome = stack.wait(lambda: stack.job_outcome(job_id), VISIBILITY_TIMEOUT + 40,
                         what="the job to be redelivered and complete")
    assert outcome in ("created", "updated")
    user = stack.zendesk_user("p-420")
    assert user["name"].startswith("Crash")
    # nothing lost, nothing doubled: one user for the profile, made once; one identity, written once
    assert [u["external_id"] for u in stack.zendesk_users()].count("p-420") == 1
    assert [c["status"] for c in calls_to(stack, "zendesk", "POST", CREATE_OR_UPDATE)].count(201) == 2  # warm-up + this
    assert identities(stack, "p-420") == [str(user["id"])]
    assert len(calls_to(stack, "omneo", "POST", "/api/v3/profiles/p-420/identities")) == 1
    assert stack.redis.hlen("unacked") == 0


def test_redis_down_means_503_and_everything_recovers_by_itself(stack):
    dev = stack.dev
    profile = stack.put_profile(id="p-430", first_name="Outage", email="outage@example.com")
    port = dev.stop_redis()
    try:
        for _ in range(3):
            down = stack.post_omneo("profile.created", profile)
            assert down.status_code == 503, down.text
        assert stack.wait(lambda: __import__("requests").get(stack.receiver + "/readyz", timeout=5)
                          .status_code == 503)
    finally:
        dev.start_redis(port=port)

    # the sender retries; the receiver takes the delivery once Redis is back, with no restart
    answer = stack.wait(lambda: (r := stack.post_omneo("profile.created", profile)).status_code == 202
                        and r, 30, what="a 202 after Redis is back")
    job_id = answer.json()["job_id"]
    # and the worker, which lost its broker connection, picks the job up with no restart
    stack.wait(lambda: stack.zendesk_user("p-430"), 60, what="the job after the outage")
    assert stack.wait(lambda: stack.job_outcome(job_id), 20) == "created"
