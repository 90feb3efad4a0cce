"""The shared token bucket: atomic under concurrency, and one 429 pauses every caller."""
from __future__ import annotations

import threading
import time

import fakeredis
import pytest
import responses

from integration.errors import RateLimited
from integration.apis.ratelimit import RedisTokenBucket
from integration.apis.zendesk import ZendeskClient

ZD = "https://acme.zendesk.com"


class Recorder:
    """Stands in for time.sleep: records the waits a caller was told to make, without waiting."""

    def __init__(self):
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


@pytest.fixture
def server():
    return fakeredis.FakeServer()


def bucket(server, per_minute=60, max_wait=600.0, sleep=None):
    # every bucket on its own connection, as in separate worker processes
    return RedisTokenBucket(fakeredis.FakeRedis(server=server), "zendesk", per_minute,
                            max_wait=max_wait, sleep=sleep or Recorder())


def test_concurrent_takers_never_get_more_than_the_budget(server):
    """8 threads, each with its own connection, take 100 tokens at 60/min (capacity 2). Each token
    comes with the time it is due; atomic reservations space those times a second apart."""
    due: list[float] = []
    lock = threading.Lock()
    start = threading.Barrier(8)

    def worker():
        rec = Recorder()
        limiter = bucket(server, sleep=rec)
        start.wait()
        for _ in range(100 // 8 + (1 if threading.current_thread().name.endswith("0") else 0)):
            before = len(rec.waits)
            t = time.time()
            limiter.acquire()
            wait = rec.waits[before] if len(rec.waits) > before else 0.0
            with lock:
                due.append(t + wait)

    threads = [threading.Thread(target=worker, name=f"w{i}") for i in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    due.sort()
    assert len(due) >= 96
    t0 = due[0]
    probe = bucket(server)
    # within the first n seconds, at most a full bucket + n seconds of refill fall due, whatever
    # the interleaving (a lost update would hand the same token to two takers)
    for n in (1, 5, 10, 30, 60):
        assert sum(d < t0 + n for d in due) <= probe.capacity + n * probe.rate + 0.5, n
    # and the bucket does not leave budget unused: the tokens fall due back to back
    assert due[-1] - t0 <= (len(due) - probe.capacity) / probe.rate + 1


def test_a_wait_longer_than_a_caller_accepts_raises_without_taking_a_token(server):
    limiter = bucket(server, per_minute=6, max_wait=600)
    for _ in range(5):
        limiter.acquire()  # capacity 1 token, then reservations 10 s apart
    impatient = bucket(server, per_minute=6, max_wait=5)
    with pytest.raises(RateLimited) as err:
        impatient.acquire()
    assert err.value.retry_after > 5
    # the refused caller took nothing: the next patient caller waits the same as before
    rec = Recorder()
    patient = bucket(server, per_minute=6, sleep=rec)
    patient.acquire()
    # the sixth token: one was in the bucket, then one every 1/rate seconds (about 10)
    assert abs(rec.waits[-1] - 5 / patient.rate) < 1


@responses.activate
def test_a_429_with_retry_after_pauses_every_workers_calls(server):
    """Worker A meets a 429 with Retry-After: 20; worker B (another connection, another client)
    must not call Zendesk until then."""
    responses.post(f"{ZD}/api/v2/users/create_or_update", status=429, headers={"Retry-After": "20"},
                   json={"error": "TooManyRequests"})
    a = ZendeskClient(ZD, email="ops@acme.example", api_token="t", limiter=bucket(server))
    b_sleep = Recorder()
    b = ZendeskClient(ZD, email="ops@acme.example", api_token="t",
                      limiter=bucket(server, max_wait=600, sleep=b_sleep))
    with pytest.raises(RateLimited) as err:
        a.create_or_update_user({"external_id": "p1", "name": "A"})
    assert err.value.retry_after == 20
    responses.replace(responses.POST, f"{ZD}/api/v2/users/create_or_update", status=200,
                      json={"user": {"id": 1}})
    # B is told to wait out the pause before its call goes out...
    b_sleep_calls = []

    def sleep_then_lift(seconds):
        b_sleep_calls.append(seconds)
        server_client.delete("oz:ratelimit:zendesk:paused_until")  # as if the time had passed

    server_client = fakeredis.FakeRedis(server=server)
    b.limiter.sleep = sleep_then_lift
    b.create_or_update_user({"external_id": "p2", "name": "B"})
    assert b_sleep_calls and 19 <= b_sleep_calls[0] <= 20
    assert len(responses.calls) == 2
    # ...and a caller that will not wait that long is refused without calling at all
    a.limiter.pause(20)
    impatient = ZendeskClient(ZD, email="ops@acme.example", api_token="t",
                              limiter=bucket(server, max_wait=1))
    with pytest.raises(RateLimited):
        impatient.create_or_update_user({"external_id": "p3", "name": "C"})
    assert len(responses.calls) == 2


def test_a_pause_only_moves_forward(server):
    limiter = bucket(server)
    limiter.pause(30)
    limiter.pause(5)
    with pytest.raises(RateLimited) as err:
        bucket(server, max_wait=1).acquire()
    assert err.value.retry_after > 25
