"""Sentinel failover with nothing accepted lost: a primary, two replicas and three sentinels on
this machine, receivers that answer 202 only once a replica has the job (WAIT), a steady stream
of webhooks, and the primary SIGKILLed mid-stream."""
from __future__ import annotations

import threading
import time

import pytest
import requests

from integration.sandbox.devstack import wait_until
from integration.sandbox.redis_topology import ADMIN_PASSWORD, ADMIN_USER, MASTER_NAME, start_replicated_redis
from tests.e2e.conftest import Stack, new_dev

pytestmark = pytest.mark.e2e

PASSWORD = "acl-user-password-sentinel"
ACCEPTED_AFTER_KILL = 20
OUTAGE_CEILING_SECONDS = 45


@pytest.fixture(scope="module")
def failover_dev(tmp_path_factory):
    dev = new_dev(tmp_path_factory.mktemp("failover-stack"), {
        "REDIS_MIN_REPLICAS_ACKED": "1", "REDIS_WAIT_TIMEOUT_MS": "500",
        "BROKER_VISIBILITY_TIMEOUT_SECONDS": "20"})
    try:
        dev.topology = start_replicated_redis(dev, PASSWORD)
        dev.start_sandboxes()
        dev.start_receiver(processes=2)
        dev.start_worker("worker", concurrency=2)
        dev.start_worker("worker-2", concurrency=2)
        yield dev
    finally:
        dev.stop()


def admin_of_primary(dev):
    from redis.sentinel import Sentinel

    sentinel = Sentinel([("127.0.0.1", p) for p in dev.topology["sentinels"]])
    return sentinel.master_for(MASTER_NAME, username=ADMIN_USER, password=ADMIN_PASSWORD,
                               socket_timeout=2)


class Sender:
    """Posts one profile.created per profile, as Omneo does: retried on a 503 or no answer
    until a 202. Records when each answer came."""

    def __init__(self, stack: Stack, rate_per_second: float = 10):
        self.stack, self.interval = stack, 1 / rate_per_second
        self.accepted: list[str] = []
        self.unavailable: list[float] = []  # when a 503 (or no answer) came
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self):
        n = 0
        while not self.stop.is_set():
            profile = self.stack.put_profile(id=f"p-fo-{n}", first_name="Fay", email=f"fo{n}@example.com")
            while not self.stop.is_set():
                try:
                    status = self.stack.post_omneo("profile.created", profile).status_code
                except requests.RequestException:
                    status = None
                if status == 202:
                    self.accepted.append(profile["id"])
                    break
                assert status in (503, None), status
                self.unavailable.append(time.monotonic())
                time.sleep(0.2)
            n += 1
            time.sleep(self.interval)


def test_primary_killed_mid_stream_loses_no_accepted_webhook(failover_dev):
    dev = failover_dev
    stack = Stack.__new__(Stack)
    stack.dev, stack.env = dev, dev.env
    stack.zendesk, stack.omneo = dev.urls["zendesk_sandbox"], dev.urls["omneo_sandbox"]
    # the first sync creates the tier field: out of the way before the stream
    stack.post_omneo("profile.created", stack.put_profile(id="p-warm", first_name="Warm", tier="gold"))
    wait_until(lambda: stack.zendesk_user("p-warm"), 30, what="the warm-up sync")

    sender = Sender(stack)
    sender.thread.start()
    wait_until(lambda: len(sender.accepted) >= 20, 30, what="the stream to get going")
    before_kill = len(sender.accepted)
    dev.topology["processes"]["redis-primary"].kill()
    # the stream must go on after the failover: wait for it (bounded), not for a fixed time that a
    # loaded machine's slower election can use up
    wait_until(lambda: len(sender.accepted) - before_kill >= ACCEPTED_AFTER_KILL,
               OUTAGE_CEILING_SECONDS + 75, interval=0.5, what="the stream to go on after the failover")
    sender.stop.set()
    sender.thread.join(15)

    # a new primary, elected by the sentinels, and the stream went on after it
    assert admin_of_primary(dev).info("replication")["role"] == "master"
    assert sender.unavailable, "the receivers never answered 503: was the primary killed?"
    outage = sender.unavailable[-1] - sender.unavailable[0]
    after = sender.accepted[before_kill:]
    print(f"\nreceivers answered 503 for {outage:.1f} s; {len(sender.accepted)} webhooks accepted, "
          f"{len(sender.unavailable)} answers 503 or none")
    assert outage < OUTAGE_CEILING_SECONDS
    assert len(after) >= ACCEPTED_AFTER_KILL

    # every webhook answered 202 was processed, by the workers that were running all along
    def all_synced():
        synced = {u.get("external_id") for u in stack.zendesk_users()}
        return all(p in synced for p in sender.accepted)

    wait_until(all_synced, 60, interval=1, what="every accepted webhook's sync")
    assert all(p.alive() for p in dev.processes if p.name.startswith("worker"))
