"""Erasure and the customer's tickets (ERASURE_TICKETS), the pending erasures, and the limits of
one endpoint (permanent deletion, exports) kept apart from the account's budget."""
import time

import pytest
import requests

from integration import retry
from integration.store import keys, pending_erasures
from integration.erasure import audit_records, erase_profile
from integration.errors import PermanentError, RateLimited
from integration.apis.http import Limiter
from integration.onboarding.checks import check_erasures
from tests.helpers import delete_in_omneo, synced_user
from workers.metrics import RedisGauges


def ticket(settings, requester_id, status="open") -> int:
    r = requests.post(settings.zendesk_base_url + "/_sandbox/tickets",
                      json={"requester_id": requester_id, "status": status}, timeout=5)
    r.raise_for_status()
    return r.json()["ticket"]["id"]


def close(settings, ticket_id) -> None:
    requests.post(f"{settings.zendesk_base_url}/_sandbox/tickets/{ticket_id}/events",
                  json={"type": "ticket.status_changed", "status": "closed"}, timeout=5).raise_for_status()


def test_wait_clears_all_but_the_email_and_finishes_once_the_ticket_closes(ctx, omneo_sandbox,
                                                                          zendesk_sandbox, settings):
    user = synced_user(ctx, omneo_sandbox, zendesk_sandbox, "w1", mobile_phone="+61400000001")
    open_id, closed_id = ticket(settings, user["id"]), ticket(settings, user["id"], "closed")
    delete_in_omneo(omneo_sandbox, "w1")

    first = erase_profile(ctx, "w1", requested_at=1.0, job_id="job-w1")

    assert (first["outcome"], first["open_tickets"], first["id"]) == ("pending", 1, "job-w1")
    left = zendesk_sandbox.users[user["id"]]
    assert (left["name"], left["phone"], left["external_id"], left["tags"]) == ("Erased customer", None, None, [])
    assert left["email"] == "w1@example.com"
    assert all(v is None for v in left["user_fields"].values())
    assert audit_records(ctx.redis)[0]["outcome"] == "pending"
    assert pending_erasures.summary(ctx.redis)[0] == 1

    again = erase_profile(ctx, "w1", job_id="recheck-1")  # beat's re-check, the ticket still open
    assert again["outcome"] == "pending" and again["pending_since"] == first["pending_since"]
    assert user["id"] in zendesk_sandbox.users

    close(settings, open_id)
    done = erase_profile(ctx, "w1", job_id="recheck-2")

    assert (done["outcome"], done["id"], done["requested_at"]) == ("erased", "job-w1", 1.0)
    assert done["pending_since"] == first["pending_since"] and done["tickets_deleted"] == 0
    assert user["id"] in zendesk_sandbox.purged
    assert {open_id, closed_id} <= set(zendesk_sandbox.tickets)  # `wait` keeps the tickets
    assert [r["outcome"] for r in audit_records(ctx.redis)] == ["erased"]
    assert pending_erasures.summary(ctx.redis) == (0, 0.0)


def test_wait_with_only_closed_tickets_erases_at_once(ctx, omneo_sandbox, zendesk_sandbox, settings):
    user = synced_user(ctx, omneo_sandbox, zendesk_sandbox, "w2")
    ticket(settings, user["id"], "closed")
    delete_in_omneo(omneo_sandbox, "w2")
    assert erase_profile(ctx, "w2")["outcome"] == "erased"
    assert user["id"] in zendesk_sandbox.purged


def test_delete_purges_every_requested_ticket_then_the_user(ctx, omneo_sandbox, zendesk_sandbox, settings):
    ctx.settings = ctx.settings.replace(erasure_tickets="delete")
    user = synced_user(ctx, omneo_sandbox, zendesk_sandbox, "d1")
    other = synced_user(ctx, omneo_sandbox, zendesk_sandbox, "d2")
    mine = [ticket(settings, user["id"]), ticket(settings, user["id"], "closed")]
    theirs = ticket(settings, other["id"])
    delete_in_omneo(omneo_sandbox, "d1")

    record = erase_profile(ctx, "d1")

    assert (record["outcome"], record["tickets_deleted"]) == ("erased", 2)
    assert set(mine) <= zendesk_sandbox.ticket_deletion.purged
    assert theirs in zendesk_sandbox.tickets and user["id"] in zendesk_sandbox.purged
    assert not ctx.redis.exists(keys.erasure_tickets("d1"))


def test_sandbox_refuses_deleting_a_requester_of_a_ticket_not_closed(ctx, zendesk_sandbox, settings):
    user = ctx.zendesk.create_or_update_user({"name": "Ann", "email": "ann@example.com"})[0]
    ticket(settings, user["id"], "solved")  # solved is not closed
    with pytest.raises(PermanentError) as refused:
        ctx.zendesk.delete_user(user["id"])
    assert refused.value.status == 422 and refused.value.body["error"] == "RecordInvalid"


def test_requested_tickets_follow_the_cursor_across_pages(ctx, settings, zendesk_sandbox):
    user = ctx.zendesk.create_or_update_user({"name": "Bo", "email": "bo@example.com"})[0]
    made = [ticket(settings, user["id"]) for _ in range(3)]
    first = requests.get(f"{settings.zendesk_base_url}/api/v2/users/{user['id']}/tickets/requested",
                         params={"page[size]": 2}, auth=("agent@example.com/token", "zd-token"), timeout=5).json()
    assert first["meta"]["has_more"] and len(first["tickets"]) == 2 and first["links"]["next"]
    assert [t["id"] for t in ctx.zendesk.requested_tickets(user["id"])] == made


def test_a_permanent_deletion_429_pauses_that_endpoint_only(ctx, settings):
    requests.post(settings.zendesk_base_url + "/_sandbox/config",
                  json={"permanent_deletion_limit": 1, "permanent_deletion_window_seconds": 30}, timeout=5)
    paused = []

    class Account(Limiter):
        def pause(self, seconds):
            paused.append(seconds)

    ctx.zendesk.limiter = Account()
    for n in (1, 2):
        user = ctx.zendesk.create_or_update_user({"name": "Cy", "email": f"cy{n}@example.com"})[0]
        ctx.zendesk.delete_user(user["id"])
        if n == 1:
            ctx.zendesk.delete_user_permanently(user["id"])
    with pytest.raises(RateLimited) as limited:
        ctx.zendesk.delete_user_permanently(user["id"])
    assert limited.value.endpoint == "permanent user deletion" and limited.value.retry_after >= 1
    assert paused == [] and ctx.zendesk.purge_limiter.paused_for() > 0
    assert ctx.zendesk.limiter is not ctx.zendesk.purge_limiter
    with pytest.raises(RateLimited):  # the next erasure waits before spending any call
        erase_profile(ctx, "anyone")


def test_an_account_429_still_pauses_the_account(ctx):
    assert not ctx.zendesk._endpoint_limited({"X-Rate-Limit-Remaining": "0", "Retry-After": "5"})
    assert not ctx.zendesk._endpoint_limited({"Retry-After": "5"})
    assert ctx.zendesk._endpoint_limited({"X-Rate-Limit-Remaining": "150"})
    assert ctx.zendesk._endpoint_limited({"zendesk-ratelimit-tickets-index": "total=100; remaining=0; resets=4"})


def test_an_endpoint_limit_is_waited_out_however_long(settings):
    endpoint = RateLimited("zendesk", 300, endpoint="permanent user deletion")
    decision = retry.decide(endpoint, failures=0, waits=retry.MAX_WAITS + 5, settings=settings)
    assert decision.action == "retry" and not decision.counts_as_failure
    account = RateLimited("zendesk", 300)
    assert retry.decide(account, 0, retry.MAX_WAITS, settings).action == "dead_letter"


def test_take_due_sends_each_pending_erasure_once_an_interval(fake_redis):
    pending_erasures.hold(fake_redis, {"profile_id": "p1", "id": "j1", "users": []})
    now = time.time()
    assert pending_erasures.take_due(fake_redis, 60, now=now) == []
    assert pending_erasures.take_due(fake_redis, 60, now=now + 61) == ["p1"]
    assert pending_erasures.take_due(fake_redis, 60, now=now + 62) == []  # another beat, same round


def test_pending_erasures_in_metrics_and_check(fake_redis, settings):
    pending_erasures.hold(fake_redis, {"profile_id": "p1", "id": "j1", "users": []})
    fake_redis.zadd(keys.ERASURE_PENDING_SINCE, {"p1": time.time() - 26 * 86400})
    gauges = {m.name: m.samples[0].value for m in RedisGauges(fake_redis, ["sync"]).collect()
              if m.name.startswith("oz_erasure")}
    assert gauges["oz_erasures_pending"] == 1 and gauges["oz_erasure_oldest_pending_seconds"] > 25 * 86400
    row = check_erasures(settings, fake_redis)
    assert row.status == "warn" and "26 days" in row.detail
    fake_redis.zadd(keys.ERASURE_PENDING_SINCE, {"p1": time.time() - 3 * 86400})
    assert check_erasures(settings, fake_redis).status == "ok"
