"""The shared limiter never lets a minute hold more calls than the API's per-minute budget."""
import fakeredis
import pytest

from integration.apis.ratelimit import RedisTokenBucket


@pytest.mark.parametrize("per_minute", [60, 200, 240, 400, 700, 2500])
def test_a_full_bucket_plus_a_minute_of_refill_fits_the_budget(per_minute):
    bucket = RedisTokenBucket(fakeredis.FakeRedis(), "zendesk", per_minute)
    assert bucket.capacity + 60 * bucket.rate <= per_minute + 1e-9
    assert bucket.capacity > 1 and bucket.rate * 60 >= 0.95 * per_minute


def test_grants_a_burst_then_waits_at_the_refill_rate():
    waits = []
    bucket = RedisTokenBucket(fakeredis.FakeRedis(), "zendesk", 62, sleep=waits.append)
    for _ in range(int(bucket.capacity)):
        bucket.acquire()
    assert waits == []
    bucket.acquire()
    assert len(waits) == 1 and 0 < waits[0] <= 1 / bucket.rate
