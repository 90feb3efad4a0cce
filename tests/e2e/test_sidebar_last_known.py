"""The sidebar while Omneo fails, over the real stack (receiver under gunicorn, redis-server, a
Celery worker, the Omneo sandbox process): the last-known view served with its fetch time,
answered within the deadline, and dropped by erasure and merges like the short cache."""
from __future__ import annotations

import time

import jwt
import pytest
import requests

from integration.store import keys
from tests.e2e.helpers import delete_profile, erase, omneo_merge, redis_value, subscribe, synced, synced_customer, until, user_ids

pytestmark = pytest.mark.e2e

# the receiver runs with the default SIDEBAR_OMNEO_DEADLINE_SECONDS
DEADLINE = 1.5
ANSWER_WITHIN = 2.5


def view(stack, zendesk_user_id, refresh: bool = False, email: str | None = None):
    claims = {"zendesk_user_id": str(zendesk_user_id), "exp": int(time.time() + 300)}
    if email:
        claims["email"] = email
    token = jwt.encode(claims, stack.env["ZENDESK_APP_SECRET"], algorithm="HS256")
    started = time.perf_counter()
    resp = requests.get(stack.receiver + "/sidebar/profile" + ("?refresh=1" if refresh else ""),
                        headers={"Authorization": f"Bearer {token}"}, timeout=20)
    return resp, time.perf_counter() - started


def rewards(stack, profile_id, reward_balance) -> None:
    requests.post(f"{stack.omneo}/_sandbox/profiles/{profile_id}/rewards", timeout=5, json={
        "balances": {"reward_balance": reward_balance, "currency": "AUD"}}).raise_for_status()


def naming(stack, *needles: str) -> list[str]:
    """Every key of ours whose name or value mentions one of `needles`."""
    found = []
    for key in stack.redis.scan_iter(match="oz:*"):
        value = redis_value(stack.redis, key)
        if any(n.encode() in key or n.encode() in value for n in needles):
            found.append(key.decode())
    return sorted(found)


def test_omneo_down_serves_the_last_known_view_marked_with_its_fetch_time(stack):
    stack.zendesk_add_user(id=8101, name="Lena", email="lena@example.com")
    stack.zendesk_add_user(id=8102, name="New", email="new@example.com")
    stack.put_profile(id="lk-1", first_name="Lena", email="lena@example.com",
                      identities=[{"handle": "zendesk", "identifier": "8101"}])
    rewards(stack, "lk-1", 12)
    first, _ = view(stack, 8101)
    assert first.status_code == 200
    fresh = first.json()
    assert fresh["found"] and "stale" not in fresh and fresh["currency"] == "AUD"
    assert 0 < stack.redis.ttl(keys.sidebar_last_known("lk-1")) <= 86400

    # Omneo errors: the agent's refresh gets what we last knew, with when we knew it
    rewards(stack, "lk-1", 99)
    stack.configure("omneo", fail=[{"path": ".", "status": 503, "count": 1000}])
    resp, took = view(stack, 8101, refresh=True)
    assert resp.status_code == 200 and took < ANSWER_WITHIN
    stale = resp.json()
    assert stale["stale"] == "omneo_error"
    assert stale["fetched_at"] == fresh["fetched_at"]
    assert stale["balances"]["reward_balance"] == 12

    # Omneo hangs: answered at the deadline, not when Omneo gives up
    stack.configure("omneo", fail=[], latency=5)
    resp, took = view(stack, 8101, refresh=True)
    assert resp.status_code == 200 and resp.json()["stale"] == "omneo_timeout"
    assert DEADLINE <= took < ANSWER_WITHIN

    # a requester never seen before has nothing to fall back on: a clear error, as quickly
    resp, took = view(stack, 8102)
    assert resp.status_code == 504 and took < ANSWER_WITHIN
    stack.configure("omneo", latency=0, fail=[{"path": ".", "status": 503, "count": 1000}])
    resp, _ = view(stack, 8102)
    assert resp.status_code == 502

    # Omneo back: the refresh is fresh again, and becomes the new last-known view
    stack.configure("omneo", fail=[])
    resp, _ = view(stack, 8101, refresh=True)
    assert "stale" not in resp.json() and resp.json()["balances"]["reward_balance"] == 99


def test_erasure_drops_the_last_known_view_and_it_is_never_shown_again(stack):
    user = synced_customer(stack, "lk-gone")
    assert view(stack, user["id"])[0].json()["found"]
    assert stack.redis.exists(keys.sidebar_last_known("lk-gone"))
    assert stack.redis.exists(keys.sidebar_last_requester(str(user["id"])))
    delete_profile(stack, "lk-gone")

    job_id = erase(stack, {"id": "lk-gone", "identities": [
        {"handle": "zendesk", "identifier": str(user["id"])}]})
    assert stack.wait(lambda: stack.job_outcome(job_id), what="the erasure") == "erased"

    assert naming(stack, "lk-gone") == [keys.ERASURE_AUDIT, keys.erased("lk-gone")]
    assert not stack.redis.exists(keys.sidebar_last_requester(str(user["id"])))
    # Omneo down: the erased customer's old view is not what the agent gets (erasure deleted
    # their Zendesk user too, so Zendesk no longer names anyone to look up)
    stack.configure("omneo", fail=[{"path": ".", "status": 503, "count": 1000}])
    resp = view(stack, user["id"], refresh=True)[0]
    assert resp.status_code == 200 and resp.json() == {"found": False, "cx_manager_search_url": None}


def test_a_merge_drops_the_losers_last_known_view(stack):
    winner = synced(stack, "lk-w", first_name="Winnie", email="lk-winnie@example.com")
    loser = synced(stack, "lk-l", first_name="Winnie", email="lk-winnie.dup@example.com")
    assert view(stack, loser["id"])[0].json()["profile"]["id"] == "lk-l"
    assert stack.redis.exists(keys.sidebar_last_known("lk-l"))
    subscribe(stack, "profile.merged")

    omneo_merge(stack, "lk-l", "lk-w")

    until(stack, lambda: user_ids(stack) == [winner["id"]], what="the loser's user merged away")
    until(stack, lambda: not stack.redis.exists(keys.sidebar_last_known("lk-l")),
          what="the loser's last-known view dropped")
    assert not stack.redis.exists(keys.sidebar_last_requester(str(loser["id"])))
    assert not stack.redis.exists(keys.sidebar_cache("lk-l"))
    assert [k for k in naming(stack, "lk-l") if ":last-known:" in k or ":cache:" in k] == []
