"""GET /sidebar/profile over HTTP against the real receiver (gunicorn), real Redis and the Omneo
and Zendesk sandbox processes."""
from __future__ import annotations

import pytest
import requests

from integration.store import keys
from tests.e2e.helpers import bearer, sidebar

pytestmark = pytest.mark.e2e


def seed_customer(stack, profile_id: str = "p-e2e", zendesk_user_id: str = "555") -> None:
    stack.zendesk_add_user(id=int(zendesk_user_id), name="Grace Hopper", email="grace@example.com")
    stack.put_profile(id=profile_id, first_name="Grace", last_name="Hopper",
                      email="grace@example.com", tier="silver",
                      identities=[{"handle": "zendesk", "identifier": zendesk_user_id}])
    requests.post(f"{stack.omneo}/_sandbox/profiles/{profile_id}/rewards", timeout=5, json={
        "balances": {"reward_balance": 15, "credit_balance": 20, "point_balance": 300,
                     "point_balance_dollars": 3, "combined_balance_dollars": 18},
        "benefits": [{"name": "Welcome gift", "expires_at": "2099-12-31 23:59:59"},
                     {"name": "Expired", "expires_at": "2000-01-01 00:00:00"}],
        "transactions": [{"transacted_at": "2026-10-0%d 09:30:00" % d, "location": "Sydney CBD",
                          "total": 50 + d, "items": d} for d in range(1, 7)],
    }).raise_for_status()


@pytest.mark.parametrize("case", ["missing", "bad signature", "expired", "too far ahead", "garbage"])
def test_bad_tokens_get_401(stack, case):
    headers = {
        "missing": {},
        "bad signature": bearer(stack, secret="not-the-shared-secret-at-all"),
        "expired": bearer(stack, lifetime=-30),
        "too far ahead": bearer(stack, lifetime=11 * 60),
        "garbage": {"Authorization": "Bearer abc.def.ghi"},
    }[case]
    resp = sidebar(stack, headers)
    assert resp.status_code == 401
    assert resp.json()["status"] == "error"
    assert stack.stats("omneo").get("calls", 0) == 0


def test_found_view_then_cache_hit_without_omneo_calls(stack):
    seed_customer(stack)
    resp = sidebar(stack, bearer(stack))
    assert resp.status_code == 200
    body = resp.json()
    assert body["found"] is True
    assert body["profile"]["name"] == "Grace Hopper" and body["profile"]["tier"] == "Silver"
    assert body["balances"] == {"reward_balance": 15, "credit_balance": 20, "point_balance": 300,
                                "combined_balance_dollars": 18}
    assert body["benefits"] == [{"name": "Welcome gift", "expires_at": "2099-12-31 23:59:59"}]
    assert [t["total"] for t in body["transactions"]] == [56, 55, 54, 53, 52]
    assert body["transactions"][0]["items"] == 6
    assert body["cx_manager_url"] == "https://sandbox.manager.getomneo.com/profiles/p-e2e"
    assert "Access-Control-Allow-Origin" not in resp.headers

    calls = stack.stats("omneo")["calls"]
    assert sidebar(stack, bearer(stack)).json() == body
    assert stack.stats("omneo")["calls"] == calls
    # the cache lives for SIDEBAR_CACHE_SECONDS (60 by default), no longer
    assert 0 < stack.redis.ttl(keys.sidebar_cache("p-e2e")) <= 60


def test_not_a_customer(stack):
    seed_customer(stack)
    stack.zendesk_add_user(id=999, name="Stranger", email="stranger@example.com")
    resp = sidebar(stack, bearer(stack, zendesk_user_id=999))
    assert resp.status_code == 200
    assert resp.json() == {"found": False, "cx_manager_search_url":
                           "https://sandbox.manager.getomneo.com/profiles?search=stranger%40example.com"}


def test_a_requester_zendesk_does_not_know_is_no_customer_and_costs_omneo_nothing(stack):
    seed_customer(stack)
    resp = sidebar(stack, bearer(stack, zendesk_user_id=31337, email="grace@example.com"))
    assert resp.status_code == 200
    assert resp.json() == {"found": False, "cx_manager_search_url": None}
    assert stack.stats("omneo").get("calls", 0) == 0


# issue 30, finding 1: who the requester is comes from Zendesk, not from the agent's page

def test_an_email_claim_does_not_select_a_customer(stack):
    """A token naming a real requester with another customer's email gets the requester's own
    answer (Zendesk's email for them), never that customer's view."""
    seed_customer(stack)  # Grace, requester 555
    stack.zendesk_add_user(id=777, name="Mallory", email="mallory@example.com")
    resp = sidebar(stack, bearer(stack, zendesk_user_id=777, email="grace@example.com"))
    assert resp.status_code == 200
    body = resp.json()
    assert body["found"] is False and "Grace" not in resp.text and "p-e2e" not in resp.text
    assert body["cx_manager_search_url"].endswith("search=mallory%40example.com")


def test_whether_an_address_is_a_customer_cannot_be_tested(stack):
    seed_customer(stack)
    stack.zendesk_add_user(id=778, name="Mallory", email="mallory@example.com")
    # past the short cache (the refresh control), so each answer is a fresh lookup
    answers = [requests.get(stack.receiver + "/sidebar/profile?refresh=1", timeout=20,
                            headers=bearer(stack, zendesk_user_id=778, email=email)).json()
               for email in ("grace@example.com", "nobody-at-all@example.com", None)]
    assert answers[0] == answers[1] == answers[2]


def test_the_requester_is_read_from_zendesk_once_then_cached_briefly(stack):
    seed_customer(stack)
    asked = len([c for c in stack.calls("zendesk") if c["path"].endswith("/users/555")])
    assert sidebar(stack, bearer(stack)).json()["found"] is True
    assert sidebar(stack, bearer(stack)).json()["found"] is True
    reads = [c for c in stack.calls("zendesk") if c["path"].endswith("/users/555")]
    assert len(reads) - asked == 1
    assert 0 < stack.redis.ttl(keys.sidebar_zendesk_user("555")) <= 60


# issue 30, finding 2: what one lookup caches, no other request reads unless Zendesk agrees

def test_a_forged_lookup_does_not_change_what_other_agents_see(stack):
    seed_customer(stack)  # Grace, requester 555
    stack.zendesk_add_user(id=880, name="Ada Real", email="ada@example.com")
    stack.put_profile(id="p-ada", first_name="Ada", last_name="Real", email="ada@example.com")
    # one agent's page names Ada's ticket requester with Grace's email ...
    sidebar(stack, bearer(stack, zendesk_user_id=880, email="grace@example.com"))
    # ... another agent opens Ada's ticket: Ada, fresh and, while Omneo fails, last known
    honest = sidebar(stack, bearer(stack, zendesk_user_id=880, email="ada@example.com")).json()
    assert (honest["found"], honest["profile"]["id"]) == (True, "p-ada")
    stack.configure("omneo", fail=[{"path": ".", "status": 503, "count": 1000}])
    resp = requests.get(stack.receiver + "/sidebar/profile?refresh=1", timeout=20,
                        headers=bearer(stack, zendesk_user_id=880, email="ada@example.com"))
    assert resp.status_code == 200 and resp.json()["profile"]["id"] == "p-ada"


def test_a_link_is_not_followed_once_zendesk_says_otherwise(stack):
    """A requester whose email Zendesk now gives differently is resolved afresh: the link made
    while Zendesk said the old address is not read, by the short cache nor the last-known one."""
    stack.zendesk_add_user(id=881, name="Hedy", email="hedy@example.com")
    stack.put_profile(id="p-hedy", first_name="Hedy", email="hedy@example.com")
    stack.put_profile(id="p-other", first_name="Other", email="other@example.com")
    assert sidebar(stack, bearer(stack, zendesk_user_id=881)).json()["profile"]["id"] == "p-hedy"
    requests.put(f"{stack.zendesk}/_sandbox/users/881", json={"email": "other@example.com"},
                 timeout=5).raise_for_status()
    stack.redis.delete(keys.sidebar_zendesk_user("881"))  # what its TTL does
    assert sidebar(stack, bearer(stack, zendesk_user_id=881)).json()["profile"]["id"] == "p-other"
    stack.configure("omneo", fail=[{"path": ".", "status": 503, "count": 1000}])
    requests.put(f"{stack.zendesk}/_sandbox/users/881", json={"email": "third@example.com"},
                 timeout=5).raise_for_status()
    resp = requests.get(stack.receiver + "/sidebar/profile?refresh=1", timeout=20,
                        headers=bearer(stack, zendesk_user_id=881))
    assert resp.status_code == 502  # nothing known of the requester Zendesk now describes


def test_expired_cache_goes_back_to_omneo(stack):
    seed_customer(stack)
    sidebar(stack, bearer(stack))
    stack.put_profile(id="p-e2e", first_name="Amazing Grace")
    stack.redis.delete(keys.sidebar_cache("p-e2e"))  # what the TTL does
    calls = stack.stats("omneo")["calls"]
    assert sidebar(stack, bearer(stack)).json()["profile"]["name"] == "Amazing Grace Hopper"
    assert stack.stats("omneo")["calls"] > calls


def test_cache_seconds_setting_is_respected(stack):
    """A receiver started with SIDEBAR_CACHE_SECONDS=2 serves from cache, then, once two
    seconds have passed, from Omneo again."""
    from integration.sandbox.devstack import cli_argv, free_port, wait_until

    port = free_port()
    proc = stack.dev._spawn("receiver-ttl", cli_argv("web", "--host", "127.0.0.1", "--port", str(port),
                                                     "--workers", "1"),
                            env={**stack.env, "SIDEBAR_CACHE_SECONDS": "2"})
    url = f"http://127.0.0.1:{port}/sidebar/profile"
    try:
        wait_until(lambda: proc.alive() and requests.get(url, timeout=1).status_code == 401, 30,
                   what="the second receiver")
        seed_customer(stack)
        assert requests.get(url, headers=bearer(stack), timeout=20).json()["found"] is True
        assert 0 < stack.redis.ttl(keys.sidebar_cache("p-e2e")) <= 2
        calls = stack.stats("omneo")["calls"]
        assert requests.get(url, headers=bearer(stack), timeout=20).json()["found"] is True
        assert stack.stats("omneo")["calls"] == calls

        def fetched_again():
            requests.get(url, headers=bearer(stack), timeout=20)
            return stack.stats("omneo")["calls"] > calls

        wait_until(fetched_again, 30, interval=0.5, what="the cached view to expire")
    finally:
        proc.stop()
        stack.dev.processes.remove(proc)


def test_synced_customer_is_shown_and_erasure_drops_the_cached_view(stack):
    """Sync writes the link, the sidebar finds the customer by it, erasure leaves nothing cached."""
    profile = stack.put_profile(id="p-cycle", first_name="Katherine", last_name="Johnson",
                                email="katherine@example.com")
    assert stack.post_omneo("profile.created", profile).status_code == 202
    user = stack.wait(lambda: stack.zendesk_user("p-cycle"), what="the synced Zendesk user")
    stack.wait(lambda: stack.profile("p-cycle")["identities"], what="the zendesk identity")

    headers = bearer(stack, zendesk_user_id=user["id"])  # no email: found by the identity alone
    body = sidebar(stack, headers).json()
    assert (body["found"], body["profile"]["id"]) == (True, "p-cycle")
    assert stack.redis.exists(keys.sidebar_cache("p-cycle"), keys.sidebar_requester(str(user["id"]))) == 2

    requests.delete(f"{stack.omneo}/_sandbox/profiles/p-cycle", timeout=5).raise_for_status()
    r = stack.post_omneo("profile.deleted", {"id": "p-cycle"})
    assert r.status_code == 202, r.text
    assert stack.wait(lambda: stack.job_outcome(r.json()["job_id"]), what="the erasure") == "erased"
    assert not stack.redis.exists(keys.sidebar_cache("p-cycle"))
    assert not stack.redis.exists(keys.sidebar_requester(str(user["id"])))
    assert sidebar(stack, headers).json()["found"] is False
