"""The sidebar API in process: JWT checks, the assembled view, caching. fakeredis and the
in-process Omneo sandbox (over real HTTP on a local port)."""
from __future__ import annotations

import re
import threading
import time

import jwt
import pytest
import requests

from integration.sidebar.view import requester_view
from integration.store import keys
from integration.sidebar.requester import Requester
from web.app import create_app
from web.sidebar import verify_token, BadToken

SECRET = "zd-app-secret-0123456789abcdef012345"


def token(secret: str = SECRET, lifetime: float = 300, **claims) -> str:
    claims.setdefault("zendesk_user_id", 9001)
    if lifetime is not None:
        claims["exp"] = int(time.time() + lifetime)
    return jwt.encode(claims, secret, algorithm="HS256")


@pytest.fixture
def omneo_url(sandbox_servers):
    return sandbox_servers[1].url


@pytest.fixture(autouse=True)
def ada_in_zendesk(ctx, zendesk_url):
    """Ada, the requester most tests open: user 9001 of the Zendesk sandbox."""
    requester(zendesk_url, 9001, "ada@example.com")


@pytest.fixture
def client(settings, fake_redis, ctx):
    app = create_app(settings, redis_client=fake_redis)
    return app.test_client()


def seed(omneo_url: str, profile: dict, rewards: dict | None = None) -> None:
    requests.post(f"{omneo_url}/_sandbox/profiles?emit=0", json=profile, timeout=5).raise_for_status()
    if rewards is not None:
        requests.post(f"{omneo_url}/_sandbox/profiles/{profile['id']}/rewards", json=rewards,
                      timeout=5).raise_for_status()


@pytest.fixture
def zendesk_url(sandbox_servers):
    return sandbox_servers[0].url


def requester(zendesk_url: str, user_id: int, email: str | None, **fields) -> None:
    """A user of the Zendesk sandbox: who the service reads the requester to be."""
    requests.post(f"{zendesk_url}/_sandbox/users", timeout=5, json={
        "id": user_id, "name": "Someone", **({"email": email} if email else {}), **fields,
    }).raise_for_status()


def calls(omneo_sandbox) -> int:
    return omneo_sandbox.stats["calls"]


ADA_REWARDS = {
    "balances": {"reward_balance": 25, "credit_balance": 40.5, "point_balance": 1200,
                 "point_balance_dollars": 12, "combined_balance_dollars": 37},
    "benefits": [
        {"name": "Birthday $10", "expires_at": "2099-03-01 00:00:00"},
        {"name": "Free shipping", "expires_at": "2099-01-15 00:00:00"},
        {"name": "Old voucher", "expires_at": "2001-01-01 00:00:00"},
        {"name": "Used up", "expires_at": "2099-05-01 00:00:00", "is_redeemable": False},
    ],
    "transactions": [
        {"transacted_at": f"2026-0{m}-10 12:00:00", "location": f"Store {m}", "total": 10 * m,
         "items": [{"name": "Tee", "quantity": 2}, {"name": "Cap", "quantity": 1}]}
        for m in range(1, 8)
    ] + [{"transacted_at": "2026-09-01 12:00:00", "location": "Store V", "total": 99,
          "items": 1, "is_void": True}],
}


def ada(omneo_url, **extra):
    profile = {"id": "p-ada", "first_name": "Ada", "last_name": "Lovelace",
               "email": "ada@example.com", "tier": "gold",
               "identities": [{"handle": "zendesk", "identifier": "9001"}], **extra}
    seed(omneo_url, profile, ADA_REWARDS)


# tokens (made when the test runs, not at collection: a long suite would expire them first)
@pytest.mark.parametrize("header, reason", [
    (None, "missing bearer token"),
    ("Basic abc", "missing bearer token"),
    ("Bearer ", "missing bearer token"),
    ("Bearer not-a-jwt", "invalid token"),
    (lambda: f"Bearer {token(secret='another-secret-0123456789abcdef01234')}", "invalid token"),
    (lambda: f"Bearer {token(lifetime=-60)}", "token expired"),
    (lambda: f"Bearer {token(lifetime=None)}", "invalid token"),
    (lambda: f"Bearer {token(lifetime=3600)}", "token lives longer than 600 seconds"),
    (lambda: f"Bearer {token(zendesk_user_id=None)}", "token has no zendesk_user_id claim"),
    (lambda: f"Bearer {token(zendesk_user_id='1 OR 1=1')}", "zendesk_user_id claim is not a Zendesk user id"),
])
def test_bad_tokens_are_401(client, omneo_sandbox, header, reason):
    header = header() if callable(header) else header
    before = calls(omneo_sandbox)
    resp = client.get("/sidebar/profile", headers={"Authorization": header} if header else {})
    assert resp.status_code == 401
    assert resp.get_json() == {"status": "error", "error": reason}
    assert resp.headers["WWW-Authenticate"].startswith("Bearer")
    assert calls(omneo_sandbox) == before


def test_a_none_algorithm_token_is_refused():
    unsigned = jwt.encode({"zendesk_user_id": 1, "exp": int(time.time()) + 60}, None, algorithm="none")
    with pytest.raises(BadToken, match="invalid token"):
        verify_token(f"Bearer {unsigned}", SECRET)


def test_token_claims_are_normalised_and_only_the_requester_id_is_taken():
    claims = verify_token(f"Bearer {token(zendesk_user_id=' 42', email='a@example.com')}", SECRET)
    assert claims == {"zendesk_user_id": "42"}


# the view
def test_found_by_zendesk_identity(client, omneo_url, settings):
    ada(omneo_url)
    resp = client.get("/sidebar/profile", headers={"Authorization": f"Bearer {token()}"})
    assert resp.status_code == 200
    assert resp.headers["Cache-Control"] == "private, no-store"
    assert "Access-Control-Allow-Origin" not in resp.headers
    body = resp.get_json()
    assert body["found"] is True
    assert body["profile"] == {"id": "p-ada", "name": "Ada Lovelace", "email": "ada@example.com",
                               "tier": "Gold", "joined_at": body["profile"]["joined_at"]}
    assert body["profile"]["joined_at"]
    assert body["balances"] == {"reward_balance": 25, "credit_balance": 40.5,
                                "point_balance": 1200, "combined_balance_dollars": 37}
    assert body["benefits"] == [{"name": "Free shipping", "expires_at": "2099-01-15 00:00:00"},
                                {"name": "Birthday $10", "expires_at": "2099-03-01 00:00:00"}]
    assert [t["location"] for t in body["transactions"]] == ["Store 7", "Store 6", "Store 5",
                                                             "Store 4", "Store 3"]
    assert body["transactions"][0] == {"transacted_at": "2026-07-10 12:00:00",
                                       "location": "Store 7", "total": 70, "currency": None,
                                       "items": 3}
    assert body["cx_manager_url"] == "https://acme.manager.getomneo.com/profiles/p-ada"


def test_found_by_zendesks_email_when_there_is_no_identity(client, omneo_url, zendesk_url):
    requester(zendesk_url, 77, "BO@example.com")
    seed(omneo_url, {"id": "p-bo", "first_name": "Bo", "email": "bo@example.com"})
    resp = client.get("/sidebar/profile", headers={"Authorization": f"Bearer {token(zendesk_user_id=77)}"})
    body = resp.get_json()
    assert (body["found"], body["profile"]["id"], body["profile"]["name"]) == (True, "p-bo", "Bo")
    assert body["balances"] == {"reward_balance": 0, "credit_balance": 0, "point_balance": 0,
                                "combined_balance_dollars": 0}
    assert (body["benefits"], body["transactions"]) == ([], [])


def test_found_by_zendesks_external_id(client, omneo_url, zendesk_url):
    requester(zendesk_url, 78, "other@example.com", external_id="p-cy")
    seed(omneo_url, {"id": "p-cy", "first_name": "Cy", "email": "cy@example.com"})
    resp = client.get("/sidebar/profile", headers={"Authorization": f"Bearer {token(zendesk_user_id=78)}"})
    assert resp.get_json()["profile"]["id"] == "p-cy"


def test_two_profiles_with_one_email_are_not_guessed_between(client, omneo_url, zendesk_url):
    requester(zendesk_url, 5, "twin@example.com")
    seed(omneo_url, {"id": "p-c1", "email": "twin@example.com"})
    seed(omneo_url, {"id": "p-c2", "email": "twin@example.com"})
    resp = client.get("/sidebar/profile", headers={"Authorization": f"Bearer {token(zendesk_user_id=5)}"})
    assert resp.get_json()["found"] is False


def test_an_email_claim_is_not_believed(client, omneo_url, zendesk_url):
    requester(zendesk_url, 6, "mallory@example.com")
    ada(omneo_url)
    resp = client.get("/sidebar/profile",
                      headers={"Authorization": f"Bearer {token(zendesk_user_id=6, email='ada@example.com')}"})
    assert resp.get_json()["found"] is False and "p-ada" not in resp.get_data(as_text=True)


@pytest.mark.parametrize("fields", [{"role": "agent"}, None])
def test_staff_and_users_zendesk_does_not_have_are_no_customers(client, omneo_url, zendesk_url,
                                                               omneo_sandbox, fields):
    if fields:
        requester(zendesk_url, 8, "staff@example.com", **fields)
    seed(omneo_url, {"id": "p-st", "email": "staff@example.com"})
    before = calls(omneo_sandbox)
    resp = client.get("/sidebar/profile", headers={"Authorization": f"Bearer {token(zendesk_user_id=8)}"})
    assert resp.get_json() == {"found": False, "cx_manager_search_url": None}
    assert calls(omneo_sandbox) == before


def test_a_zendesk_rate_limit_is_a_503_naming_zendesk(client, zendesk_sandbox):
    zendesk_sandbox.failures = [{"path": "/users/", "status": 429, "count": 5, "retry_after": 30}]
    resp = client.get("/sidebar/profile", headers={"Authorization": f"Bearer {token()}"})
    assert resp.status_code == 503 and "Zendesk" in resp.get_json()["error"]
    assert int(resp.headers["Retry-After"]) >= 1
    metrics = client.get("/metrics").get_data(as_text=True)
    assert re.search(r'^oz_sidebar_answers_total\{outcome="zendesk_error"\} [1-9]', metrics, re.M)


def test_a_link_made_while_zendesk_said_otherwise_is_not_followed(client, omneo_url, zendesk_url,
                                                                 fake_redis):
    ada(omneo_url)
    seed(omneo_url, {"id": "p-eve", "email": "eve@example.com"})
    # a link another request left (no tag, or one of another Zendesk answer): not followed
    fake_redis.set(keys.sidebar_requester("9001"), "p-eve")
    assert client.get("/sidebar/profile", headers={"Authorization": f"Bearer {token()}"}).get_json(
        )["profile"]["id"] == "p-ada"
    fake_redis.delete(keys.sidebar_cache("p-ada"))
    fake_redis.set(keys.sidebar_requester("9001"), "0123456789abcdef:p-eve")
    body = client.get("/sidebar/profile", headers={"Authorization": f"Bearer {token()}"}).get_json()
    assert body["profile"]["id"] == "p-ada"


def test_not_a_customer(client, omneo_url, zendesk_url):
    requester(zendesk_url, 1, "nobody@example.com")
    seed(omneo_url, {"id": "p-x", "email": "x@example.com"})
    resp = client.get("/sidebar/profile", headers={"Authorization": f"Bearer {token(zendesk_user_id=1)}"})
    assert resp.status_code == 200
    # where the agent can look the requester up in CX Manager and link them
    assert resp.get_json() == {
        "found": False,
        "cx_manager_search_url": "https://acme.manager.getomneo.com/profiles?search=nobody%40example.com"}


def test_omneo_failure_is_a_clear_502_without_personal_data(client, omneo_url, omneo_sandbox):
    ada(omneo_url)
    omneo_sandbox.failures = [{"path": "/balances", "status": 500, "count": 1}]
    resp = client.get("/sidebar/profile", headers={"Authorization": f"Bearer {token()}"})
    assert resp.status_code == 502
    assert "ada" not in resp.get_data(as_text=True).lower()
    # nothing half-built was cached: the retry fetches again and succeeds
    resp = client.get("/sidebar/profile", headers={"Authorization": f"Bearer {token()}"})
    assert resp.get_json()["found"] is True


def test_omneo_rate_limit_is_a_503_with_retry_after(client, omneo_url, omneo_sandbox):
    ada(omneo_url)
    omneo_sandbox.failures = [{"path": "/profiles", "status": 429, "count": 5, "retry_after": 30}]
    resp = client.get("/sidebar/profile", headers={"Authorization": f"Bearer {token()}"})
    assert resp.status_code == 503
    assert int(resp.headers["Retry-After"]) >= 1


# concurrency and the shared limiter
def test_view_calls_run_concurrently_through_the_shared_limiter(ctx, omneo_url):
    ada(omneo_url)
    taken = []
    original_acquire = ctx.omneo.limiter.acquire
    ctx.omneo.limiter.acquire = lambda: (taken.append(1), original_acquire())[1]
    # balances, benefits, transactions and tier progress each wait here for the other three: run
    # one after another, they would break the barrier instead
    together = threading.Barrier(4, timeout=10)
    original_request = ctx.omneo.request

    def request(method, path, **kw):
        if path.rsplit("/", 1)[-1] in ("balances", "benefits", "transactions", "tiers"):
            together.wait()
        return original_request(method, path, **kw)

    ctx.omneo.request = request
    view = requester_view(ctx, Requester("9001", "ada@example.com", None))
    assert view["found"] is True
    assert not together.broken
    # search-id, then the four side by side: one token each from the Redis bucket
    assert len(taken) == 5
    assert ctx.redis.hgetall(keys.ratelimit_bucket("omneo"))


# the cache
def test_a_cache_hit_makes_no_omneo_call(client, omneo_url, omneo_sandbox, fake_redis):
    ada(omneo_url)
    auth = {"Authorization": f"Bearer {token()}"}
    first = client.get("/sidebar/profile", headers=auth).get_json()
    before = calls(omneo_sandbox)
    assert client.get("/sidebar/profile", headers=auth).get_json() == first
    assert calls(omneo_sandbox) == before
    assert fake_redis.exists(keys.sidebar_cache("p-ada"))


def test_cache_lives_for_the_setting_and_is_not_extended_by_hits(settings, fake_redis, omneo_url):
    app = create_app(settings.replace(sidebar_cache_seconds=45), redis_client=fake_redis)
    client = app.test_client()
    ada(omneo_url)
    auth = {"Authorization": f"Bearer {token()}"}
    client.get("/sidebar/profile", headers=auth)
    key = keys.sidebar_cache("p-ada")
    assert 40 <= fake_redis.ttl(key) <= 45
    assert 40 <= fake_redis.ttl(keys.sidebar_requester("9001")) <= 45
    fake_redis.expire(key, 5)
    client.get("/sidebar/profile", headers=auth)
    assert fake_redis.ttl(key) <= 5


def test_a_zero_cache_setting_caches_nothing(settings, fake_redis, omneo_url, omneo_sandbox):
    app = create_app(settings.replace(sidebar_cache_seconds=0), redis_client=fake_redis)
    client = app.test_client()
    ada(omneo_url)
    auth = {"Authorization": f"Bearer {token()}"}
    client.get("/sidebar/profile", headers=auth)
    before = calls(omneo_sandbox)
    assert client.get("/sidebar/profile", headers=auth).get_json()["found"] is True
    assert calls(omneo_sandbox) > before
    assert not fake_redis.keys(f"{keys.PREFIX}:cache:*")
    # nor what Zendesk said: each view asks again
    assert not fake_redis.exists(keys.sidebar_zendesk_user("9001"))


def test_an_expired_cache_fetches_fresh_data(client, omneo_url, omneo_sandbox, fake_redis):
    ada(omneo_url)
    auth = {"Authorization": f"Bearer {token()}"}
    client.get("/sidebar/profile", headers=auth)
    requests.post(f"{omneo_url}/_sandbox/profiles?emit=0", json={"id": "p-ada", "first_name": "Augusta"},
                  timeout=5).raise_for_status()
    fake_redis.delete(keys.sidebar_cache("p-ada"))  # as expiry would
    assert client.get("/sidebar/profile", headers=auth).get_json()["profile"]["name"] == "Augusta Lovelace"


def test_erasure_leaves_nothing_to_show(client, omneo_url, fake_redis, ctx):
    ada(omneo_url)
    auth = {"Authorization": f"Bearer {token()}"}
    assert client.get("/sidebar/profile", headers=auth).get_json()["found"] is True
    # what erasure does: drop the profile's keys, tombstone, Omneo deletes
    assert set(keys.sidebar_views("p-ada")) <= set(keys.profile_keys("p-ada"))
    # the short cache and the last-known view
    assert fake_redis.delete(*keys.profile_keys("p-ada")) == 2
    fake_redis.delete(*keys.zendesk_user_keys("9001"))
    ctx.state.mark_erased("p-ada")
    requests.delete(f"{omneo_url}/_sandbox/profiles/p-ada", timeout=5)
    assert client.get("/sidebar/profile", headers=auth).get_json()["found"] is False
    assert not fake_redis.exists(keys.sidebar_cache("p-ada"))


def test_an_erased_profile_still_in_omneo_is_not_shown_or_cached(client, omneo_url, fake_redis, ctx):
    ada(omneo_url)
    ctx.state.mark_erased("p-ada")
    auth = {"Authorization": f"Bearer {token()}"}
    assert client.get("/sidebar/profile", headers=auth).get_json()["found"] is False
    assert not fake_redis.exists(keys.sidebar_cache("p-ada"))


def test_a_deleted_profile_is_not_a_customer(client, omneo_url):
    ada(omneo_url, profile_type="deleted")
    resp = client.get("/sidebar/profile",
                      headers={"Authorization": f"Bearer {token()}"})
    assert resp.get_json()["found"] is False


def test_a_token_living_exactly_ten_minutes_is_accepted():
    now = int(time.time())
    signed = jwt.encode({"zendesk_user_id": 7, "exp": now + 600}, SECRET, algorithm="HS256")
    assert verify_token(f"Bearer {signed}", SECRET, now=now)["zendesk_user_id"] == "7"
    signed = jwt.encode({"zendesk_user_id": 7, "exp": now + 660}, SECRET, algorithm="HS256")
    with pytest.raises(BadToken, match="longer than 600"):
        verify_token(f"Bearer {signed}", SECRET, now=now)


def test_answers_are_counted_for_metrics(client, omneo_url):
    ada(omneo_url)
    client.get("/sidebar/profile")
    client.get("/sidebar/profile", headers={"Authorization": f"Bearer {token()}"})
    metrics = client.get("/metrics").get_data(as_text=True)
    found = re.search(r'^oz_sidebar_answers_total\{outcome="found"\} (\S+)$', metrics, re.M)
    unauthorized = re.search(r'^oz_sidebar_answers_total\{outcome="unauthorized"\} (\S+)$', metrics, re.M)
    assert found and float(found.group(1)) >= 1
    assert unauthorized and float(unauthorized.group(1)) >= 1
    assert 'oz_sidebar_seconds_bucket{le="0.005",outcome="found"}' in metrics
