"""ERASURE_TICKETS=delete over the real stack, and a mass erasure held to Zendesk's limit on
permanent deletion (scaled down) while profile syncs go on at their usual pace."""
from __future__ import annotations

import time

import pytest
import requests

from integration import jobs
from integration.store import keys
from tests.e2e.conftest import Stack, new_dev
from tests.e2e.helpers import audit_of, delete_profile, erase, synced_customer

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def delete_stack(tmp_path_factory):
    """Erasures on a worker of their own, as README advises for a mass purge. Retries wait as long
    as a 429's Retry-After says (capped at RETRY_MAX_SECONDS, 1 s in the other e2e stacks), as in
    production."""
    dev = new_dev(tmp_path_factory.mktemp("erasure-delete"), {"ERASURE_TICKETS": "delete",
                                                              "RETRY_MAX_SECONDS": "30"})
    try:
        dev.start_redis()
        dev.start_sandboxes()
        dev.start_receiver()
        dev.start_worker("worker", queues=",".join(q for q in jobs.QUEUES if q != "erasure"))
        dev.start_worker("worker-erasure", queues="erasure")
        yield dev
    finally:
        dev.stop()


@pytest.fixture
def stack(delete_stack):
    s = Stack(delete_stack)
    s.reset()
    return s


def tickets(stack) -> dict:
    return requests.get(stack.zendesk + "/_sandbox/tickets", timeout=5).json()


def test_delete_purges_the_customers_tickets_and_then_the_user(stack):
    user = synced_customer(stack, "del-1")
    other = synced_customer(stack, "keep-1")
    mine = [stack.zendesk_add_ticket(user["id"])["id"], stack.zendesk_add_ticket(user["id"])["id"]]
    stack.ticket_event(mine[1], "zen:event-type:ticket.status_changed", status="closed")
    theirs = stack.zendesk_add_ticket(other["id"])["id"]
    delete_profile(stack, "del-1")
    job_id = erase(stack, {"id": "del-1"})

    stack.wait(lambda: user["id"] in stack.zendesk_state()["purged"], timeout=60, what="the user purged")
    state = tickets(stack)
    assert set(mine) <= set(state["purged"]) and not set(mine) & {t["id"] for t in state["deleted"]}
    assert theirs in {t["id"] for t in state["tickets"]}  # another customer's ticket untouched
    assert stack.wait(lambda: stack.job_outcome(job_id), what="the job's outcome") == "erased"
    record = audit_of(stack, "del-1")
    assert (record["outcome"], record["tickets_deleted"]) == ("erased", 2)
    assert stack.redis.zcard(keys.DLQ_INDEX) == 0


def post_updates(stack, ids: list[str], name: str) -> float:
    """Update these customers' names in Omneo; seconds until Zendesk shows every one."""
    started = time.monotonic()
    for profile_id in ids:
        profile = stack.put_profile(id=profile_id, first_name=name, last_name="Sync",
                                    email=f"{profile_id}@example.com")
        assert stack.post_omneo("profile.updated", profile).status_code == 202
    stack.wait(lambda: all((u := stack.zendesk_user(p)) and u["name"].startswith(name) for p in ids),
               timeout=120, what=f"{len(ids)} syncs")
    return time.monotonic() - started


def test_mass_erasure_is_held_to_the_permanent_deletion_limit(stack):
    limit, window, doomed_count = 8, 8, 24
    stack.configure("zendesk", permanent_deletion_limit=limit, permanent_deletion_window_seconds=window)
    doomed = [f"lapsed-{n}" for n in range(doomed_count)]
    live = [f"active-{n}" for n in range(8)]
    users = [synced_customer(stack, p)["id"] for p in doomed]
    for p in live:
        synced_customer(stack, p)

    before = post_updates(stack, live, "Before")  # the same syncs without a purge running
    for p in doomed:
        delete_profile(stack, p)
    started = time.monotonic()
    for p in doomed:
        erase(stack, {"id": p})
    during = post_updates(stack, live, "During")
    stack.wait(lambda: set(users) <= set(stack.zendesk_state()["purged"]), timeout=120,
               what="every user purged")
    took = time.monotonic() - started

    purges = sorted(c["ended"] for c in stack.calls() if c["method"] == "DELETE"
                    and c["path"].startswith("/api/v2/deleted_users/") and c["status"] == 200)
    busiest = max(sum(1 for t in purges if first <= t < first + window) for first in purges)
    refused = stack.stats()["purge_rate_limited"]
    print(f"\n{doomed_count} erasures in {took:.1f}s under {limit} purges / {window}s: "
          f"{refused} 429s from permanent deletion; busiest window {busiest}; "
          f"syncs {before:.2f}s before, {during:.2f}s during")
    assert busiest <= limit + 1  # the sandbox's window and ours start at slightly different times
    assert refused <= doomed_count // 2, f"a 429 storm: {refused}"
    assert during <= 3 * before + 3, (before, during)
    assert stack.redis.zcard(keys.DLQ_INDEX) == 0
    assert all(audit_of(stack, p)["outcome"] == "erased" for p in doomed)
