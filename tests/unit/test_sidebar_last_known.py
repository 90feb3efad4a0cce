"""The last-known view in process (fakeredis, the Omneo sandbox over local HTTP): what is kept,
when it is served, and that an erased profile's is never served. The real-Redis proof of the
keys erasure and merges drop is tests/e2e/test_sidebar_last_known.py."""
from __future__ import annotations

import pytest
import requests

from integration.store import keys
from integration.errors import ApiError
from integration.sidebar.deadline import answer


@pytest.fixture
def omneo_url(sandbox_servers):
    return sandbox_servers[1].url


@pytest.fixture
def ada(ctx, omneo_url, sandbox_servers):
    for user_id in (9001, 9002, 9003):
        requests.post(f"{sandbox_servers[0].url}/_sandbox/users", timeout=5, json={
            "id": user_id, "name": "Someone", "email": f"{user_id}@example.com"}).raise_for_status()
    requests.post(f"{omneo_url}/_sandbox/profiles?emit=0", timeout=5, json={
        "id": "p-ada", "first_name": "Ada", "email": "ada@example.com",
        "identities": [{"handle": "zendesk", "identifier": "9001"}]}).raise_for_status()
    requests.post(f"{omneo_url}/_sandbox/profiles/p-ada/rewards", timeout=5, json={
        "balances": {"reward_balance": 7, "currency": "NZD"}}).raise_for_status()
    return answer(ctx, "9001")


def omneo_fails(omneo_sandbox) -> None:
    omneo_sandbox.failures = [{"path": ".", "status": 500, "count": 1000}]


def test_a_fresh_view_is_kept_with_its_fetch_time(ctx, fake_redis, ada):
    assert ada["found"] and "stale" not in ada and ada["currency"] == "NZD"
    assert ada["fetched_at"].endswith("Z")
    # tagged with what Zendesk said of the requester
    assert fake_redis.get(keys.sidebar_last_requester("9001")).endswith(b":p-ada")
    assert 86000 < fake_redis.ttl(keys.sidebar_last_known("p-ada")) <= 86400


def test_served_marked_stale_when_omneo_fails(ctx, ada, omneo_sandbox):
    omneo_fails(omneo_sandbox)
    view = answer(ctx, "9001", fresh=True)
    assert view["stale"] == "omneo_error"
    assert view["fetched_at"] == ada["fetched_at"] and view["profile"]["id"] == "p-ada"
    # someone never seen: the error, for the API to answer
    with pytest.raises(ApiError):
        answer(ctx, "9002")


def test_never_served_for_an_erased_profile_even_if_keys_remained(ctx, fake_redis, ada, omneo_sandbox):
    assert fake_redis.exists(keys.sidebar_last_known("p-ada"))
    ctx.state.mark_erased("p-ada")
    omneo_fails(omneo_sandbox)
    with pytest.raises(ApiError):
        answer(ctx, "9001", fresh=True)


def test_off_when_the_setting_is_zero(ctx, fake_redis, omneo_url, ada):
    ctx.settings = ctx.settings.replace(sidebar_last_known_seconds=0)
    requests.post(f"{omneo_url}/_sandbox/profiles?emit=0", timeout=5, json={
        "id": "p-bo", "identities": [{"handle": "zendesk", "identifier": "9003"}]}).raise_for_status()
    assert answer(ctx, "9003")["found"]
    assert not fake_redis.exists(keys.sidebar_last_known("p-bo"))
