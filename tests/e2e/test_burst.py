"""Bursts on a stack of its own: syncs that back up are parked by the receiver and go by Zendesk
bulk jobs, and every guarantee of a single sync holds through duplicates, reorders, an erasure and
a worker SIGKILLed mid-batch."""
from __future__ import annotations

import collections
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from integration.store import keys
from tests.e2e.conftest import Stack, start_stack

pytestmark = pytest.mark.e2e

VISIBILITY_TIMEOUT = 30  # seconds, so the killed worker's drain job comes back within the test
PROFILES = 300
BULK = "/api/v2/users/create_or_update_many"
SINGLE = "/api/v2/users/create_or_update"


@pytest.fixture(scope="module")
def burst_dev(tmp_path_factory):
    dev = start_stack(tmp_path_factory.mktemp("burst-stack"), workers=2, concurrency=2,
                      extra_env={"BROKER_VISIBILITY_TIMEOUT_SECONDS": str(VISIBILITY_TIMEOUT),
                                 "BULK_SYNC_THRESHOLD": "10",
                                 # the identity writes of 300 new users are not what is tested
                                 "OMNEO_REQUESTS_PER_MINUTE": "6000"})
    try:
        yield dev
    finally:
        dev.stop()


@pytest.fixture
def stack(burst_dev):
    s = Stack(burst_dev)
    s.reset()
    s.configure("zendesk", bulk_job_seconds=2)  # queued -> working -> completed over 2 s
    return s


def calls(stack, which, method, path):
    return [c for c in stack.calls(which) if c["method"] == method and c["path"] == path]


def drain_holder(stack):
    """The worker running a drain job: it received more of them than it finished."""
    for proc in stack.dev.processes:
        if not proc.name.startswith("worker") or not proc.alive():
            continue
        received = sum(1 for line in proc.log().splitlines()
                       if "omneo_zendesk.sync_batch[" in line and "received" in line.lower())
        done = sum(1 for r in _records(proc) if r.get("task") == "omneo_zendesk.sync_batch"
                   and r.get("message") in ("job done", "job dead-lettered"))
        if received > done:
            return proc
    return None


def _records(proc):
    import json

    out = []
    for line in proc.log().splitlines():
        if line.startswith("{"):
            try:
                out.append(json.loads(line))
            except ValueError:
                pass
    return out


def test_a_lone_update_syncs_alone(stack):
    stack.post_omneo("profile.created", stack.put_profile(id="p-lone", first_name="Lone", tier="gold"))
    stack.wait(lambda: stack.zendesk_user("p-lone"), 30, what="the lone sync")
    assert len(calls(stack, "zendesk", "POST", SINGLE)) == 1
    assert calls(stack, "zendesk", "POST", BULK) == []


def test_a_burst_survives_duplicates_reorders_an_erasure_and_a_killed_worker(stack):
    dev = stack.dev
    ids = [f"burst-{n:04d}" for n in range(PROFILES)]
    victim, reordered = ids[PROFILES // 2], ids[:50]
    first = {pid: stack.put_profile(id=pid, first_name=f"V1 {pid}", email=f"{pid}@example.com",
                                    tier="gold") for pid in ids}

    answers = collections.Counter()

    def post(event, body):
        r = stack.post_omneo(event, body)
        assert r.status_code in (200, 202), r.text
        answers["parked" if r.json().get("parked") else r.status_code] += 1

    for n, pid in enumerate(ids):
        post("profile.created", first[pid])
        if n % 10 == 0:  # the sender's retry of a delivery: a duplicate
            post("profile.created", first[pid])

    # past the threshold the receiver parked the syncs itself: no Celery job a webhook
    assert answers["parked"] >= PROFILES // 2, answers

    # a bulk job is out: kill the worker whose drain sent it, mid-batch
    stack.wait(lambda: calls(stack, "zendesk", "POST", BULK), 60, what="the first bulk job")
    holder = stack.wait(lambda: drain_holder(stack), 30, what="the worker running the drain")
    holder.kill()
    holder.popen.wait(10)
    dev.processes.remove(holder)
    assert stack.redis.zcard(keys.BULK_CLAIMED) > 0  # its batch was taken and not finished

    # meanwhile: profiles change twice and their webhooks arrive newest first
    for pid in reordered:
        second = stack.put_profile(id=pid, first_name=f"V2 {pid}")
        third = stack.put_profile(id=pid, first_name=f"V3 {pid}")
        post("profile.updated", third)
        post("profile.updated", second)
    # and one profile is deleted: its erasure, then a stale update about it
    requests.delete(f"{stack.omneo}/_sandbox/profiles/{victim}?emit=0", timeout=5).raise_for_status()
    post("profile.deleted", {"id": victim})
    post("profile.updated", first[victim])

    dev.start_worker("worker-new", concurrency=2)
    live = [pid for pid in ids if pid != victim]

    def newest(pid):
        return f"V3 {pid}" if pid in reordered else f"V1 {pid}"

    def settled():
        users = {u["external_id"]: u for u in stack.zendesk_users() if u.get("external_id")}
        done = all(users.get(pid, {}).get("name") == newest(pid) for pid in live)
        idle = not stack.redis.zcard(keys.BULK_WAITING) and not stack.redis.zcard(keys.BULK_CLAIMED)
        return done and idle and victim not in users
    stack.wait(settled, VISIBILITY_TIMEOUT + 120, what="every profile in its newest state")

    users = stack.zendesk_users()
    per_profile = collections.Counter(u["external_id"] for u in users if u.get("external_id"))
    assert all(per_profile[pid] == 1 for pid in live)  # none lost, none made twice
    assert victim not in per_profile and stack.redis.exists(keys.erased(victim))
    for pid in live:  # each new user's identity written once, naming its user
        profile = stack.profile(pid)
        linked = [i["identifier"] for i in profile["identities"] if i["handle"] == "zendesk"]
        user = next(u for u in users if u.get("external_id") == pid)
        assert linked == [str(user["id"])]
    identity_posts = collections.Counter(c["path"].split("/")[4] for c in stack.calls("omneo")
                                         if c["method"] == "POST" and c["path"].endswith("/identities"))
    assert {pid: n for pid, n in identity_posts.items() if n != 1} == {}
    assert set(identity_posts) >= set(live)
    # the burst went by bulk jobs, Omneo read 100 profiles a call
    assert len(calls(stack, "zendesk", "POST", BULK)) >= PROFILES // 100
    assert len(calls(stack, "zendesk", "POST", SINGLE)) < PROFILES // 4
    in_reads = [c for c in stack.calls("omneo") if c["method"] == "GET" and c["path"] == "/api/v3/profiles"
                and "filter%5Bid%5D%5Bin%5D" in c["query"]]
    assert in_reads
    assert stack.redis.hlen(keys.DLQ_ENTRIES) == 0


def user_writes(stack):
    return requests.get(stack.zendesk + "/_sandbox/user_updates", timeout=5).json()["writes"]


def test_a_burst_over_profiles_linked_without_our_marks_stays_in_bulk(stack):
    """Profiles linked before this deployment (or with its Redis replaced): their identities name
    the users holding their external_id, and no mark of ours says so. One of them is linked to
    another profile's user. The burst goes by bulk jobs, the odd one is dead-lettered as a single
    sync would, and no user is written twice."""
    ids = [f"adopt-{n:03d}" for n in range(60)]
    users = {pid: stack.zendesk_add_user(name=f"Old {pid}", external_id=pid, email=f"{pid}@example.com")
             for pid in ids}
    odd = "adopt-odd"
    profiles = {pid: stack.put_profile(id=pid, first_name=f"New {pid}", email=f"{pid}@example.com",
                                       identities=[{"handle": "zendesk", "identifier": str(users[pid]["id"])}])
                for pid in ids}
    profiles[odd] = stack.put_profile(id=odd, first_name="Odd", email="odd@example.com",
                                      identities=[{"handle": "zendesk", "identifier": str(users[ids[1]]["id"])}])
    assert all(stack.synced_mark(pid) is None for pid in profiles)
    before = user_writes(stack)
    with ThreadPoolExecutor(4) as pool:  # arriving faster than single syncs clear them: a burst
        answers = list(pool.map(lambda body: stack.post_omneo("profile.updated", body), profiles.values()))
    assert all(r.status_code in (200, 202) for r in answers)
    assert sum(bool(r.json().get("parked")) for r in answers) >= 40

    def settled():
        by_ext = {u["external_id"]: u for u in stack.zendesk_users() if u.get("external_id")}
        done = all(by_ext[pid]["name"] == f"New {pid}" for pid in ids)
        idle = not stack.redis.zcard(keys.BULK_WAITING) and not stack.redis.zcard(keys.BULK_CLAIMED)
        return done and idle and stack.redis.hlen(keys.DLQ_ENTRIES) == 1
    stack.wait(settled, 90, what="every profile in its newest state, the odd one dead-lettered")

    after = user_writes(stack)
    assert {u: n - before.get(u, 0) for u, n in after.items() if n - before.get(u, 0) > 1} == {}
    assert set(after) == set(before)  # no user made (the odd one's included)
    assert stack.zendesk_user(odd) is None
    for pid in ids:  # marked from the job's results, naming the linked user
        assert stack.synced_mark(pid)["zendesk_user_id"] == str(users[pid]["id"])
    assert stack.synced_mark(odd) is None
    # in bulk: the single path only for the first few, before syncs backed up (threshold 10)
    assert len(calls(stack, "zendesk", "POST", SINGLE)) < 10
    assert calls(stack, "zendesk", "POST", BULK)
    assert [c for c in stack.calls("omneo") if c["method"] in ("POST", "PUT", "DELETE")
            and "/identities" in c["path"]] == []  # identities already right: none written


def test_a_contact_change_mid_burst_goes_alone_and_a_tier_change_stays_in_bulk(stack):
    """The lone lane's premise: a burst (a tier recalculation) changes the tier, a person's edit in
    CX Manager the contact details. Every body is the whole profile, as Omneo's event context."""
    ids = [f"lane-{n:02d}" for n in range(40)]
    for pid in ids:
        stack.post_omneo("profile.created", stack.put_profile(id=pid, first_name=f"First {pid}",
                                                              email=f"{pid}@example.com", tier="gold"))
    stack.wait(lambda: all(stack.synced_mark(pid) for pid in ids) and not stack.redis.zcard(keys.BULK_CLAIMED),
               60, what="the profiles synced once, their marks holding the contact digest")
    edited, tiered = ids[0], ids[1]
    burst = {pid: stack.put_profile(id=pid, tier="platinum") for pid in ids[2:]}
    with ThreadPoolExecutor(4) as pool:  # the tier recalculation: a burst
        answers = list(pool.map(lambda body: stack.post_omneo("profile.updated", body), burst.values()))
    assert sum(bool(r.json().get("parked")) for r in answers) >= 20
    sent = time.time()
    alone = stack.post_omneo("profile.updated", stack.put_profile(id=edited, last_name="Edited"))
    stays = stack.post_omneo("profile.updated", stack.put_profile(id=tiered, tier="platinum"))
    assert alone.status_code == stays.status_code == 202
    assert not alone.json().get("parked") and stays.json().get("parked")

    def written():
        times = requests.get(stack.zendesk + "/_sandbox/user_updates", timeout=5).json()["updated"]
        return times if all(times.get(pid, 0) > sent for pid in [edited, tiered]) else None
    times = stack.wait(written, 60, what="both changes written")
    assert stack.zendesk_user(edited)["name"] == f"First {edited} Edited"
    # the edit went by a single sync, before the bulk job carrying the tier change had completed
    assert times[edited] < times[tiered]
    job = alone.json()["job_id"]
    assert stack.wait(lambda: stack.job_outcome(job), 30, what="the edit's own sync job") == "updated"
    stack.wait(lambda: not stack.redis.zcard(keys.BULK_WAITING) and not stack.redis.zcard(keys.BULK_CLAIMED),
               60, what="the burst drained")
    assert all((stack.zendesk_user(pid)["user_fields"] or {}).get("omneo_tier") == "platinum"
               for pid in ids[1:])
