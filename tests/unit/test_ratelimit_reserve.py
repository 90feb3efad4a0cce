"""The budget reserve: when Zendesk's headers say the account's minute is running out (someone else
spends it too), the shared bucket slows down before anyone meets a 429, and never stops."""
import fakeredis
import pytest

from integration.store import keys
from integration.apis.ratelimit import MIN_SHARE, RedisTokenBucket

PER_MINUTE = 62  # one token a second, a burst of two


def bucket(client=None, reserve=20):
    waits = []
    b = RedisTokenBucket(client or fakeredis.FakeRedis(), "zendesk", PER_MINUTE, max_wait=60,
                         sleep=waits.append, reserve_percent=reserve)
    return b, waits


def wait_after_the_burst(b, waits) -> float:
    """The wait for the first call past the bucket's burst: 1 / the refill rate in force."""
    for _ in range(int(b.capacity)):
        b.acquire()
    assert waits == []
    b.acquire()
    return waits[-1]


def headers(remaining, limit=PER_MINUTE * 10, newer=True):
    if newer:
        return {"ratelimit-limit": str(limit), "ratelimit-remaining": str(remaining)}
    return {"X-Rate-Limit": str(limit), "X-Rate-Limit-Remaining": str(remaining)}


def test_full_speed_while_the_account_has_twice_the_reserve_left():
    b, waits = bucket()
    b.observe(headers(remaining=250, limit=620))  # 40% left, reserve 20%
    assert wait_after_the_burst(b, waits) == pytest.approx(1 / b.rate, rel=0.05)


@pytest.mark.parametrize("newer", [True, False])
def test_slows_down_as_the_remaining_budget_nears_the_reserve(newer):
    b, waits = bucket()
    b.observe(headers(remaining=186, limit=620, newer=newer))  # 30% left: half way to the reserve
    assert wait_after_the_burst(b, waits) == pytest.approx(2 / b.rate, rel=0.05)


def test_at_the_reserve_it_trickles_rather_than_stops():
    b, waits = bucket()
    b.observe(headers(remaining=0, limit=620))  # others took all of it
    wait = wait_after_the_burst(b, waits)
    assert wait == pytest.approx(1 / (b.rate * MIN_SHARE), rel=0.05)  # still a call now and then


def test_newer_headers_win_over_the_older_pair():
    b, waits = bucket()
    b.observe({**headers(remaining=0, limit=620, newer=False), **headers(remaining=600, limit=620)})
    assert wait_after_the_burst(b, waits) == pytest.approx(1 / b.rate, rel=0.05)


def test_without_a_reserve_the_headers_change_nothing():
    client = fakeredis.FakeRedis()
    b, waits = bucket(client, reserve=0)
    b.observe(headers(remaining=0, limit=620))
    assert client.get(keys.ratelimit_observed("zendesk")) is None
    assert wait_after_the_burst(b, waits) == pytest.approx(1 / b.rate, rel=0.05)


@pytest.mark.parametrize("bad", [{}, {"ratelimit-limit": "0", "ratelimit-remaining": "0"},
                                 {"X-Rate-Limit": "many", "X-Rate-Limit-Remaining": "1"}])
def test_missing_or_malformed_headers_are_ignored(bad):
    b, waits = bucket()
    b.observe(bad)
    assert wait_after_the_burst(b, waits) == pytest.approx(1 / b.rate, rel=0.05)


def test_an_observation_is_shared_by_every_process_and_expires():
    client = fakeredis.FakeRedis()
    seen_here, _ = bucket(client)
    seen_here.observe(headers(remaining=0, limit=620))
    elsewhere, waits = bucket(client)  # another worker process, same Redis
    assert wait_after_the_burst(elsewhere, waits) > 10 / elsewhere.rate
    ttl = client.pttl(keys.ratelimit_observed("zendesk"))
    assert 0 < ttl <= 5000  # a stale view of the account does not slow us for long
