"""Parking at intake (workers/intake.py with integration/bulk/parking.py's rule): once syncs are backed
up, the receiver's one Redis call parks the profile and queues at most one drain, instead of a job
a webhook; below the threshold a sync is queued as before."""
import dataclasses

import pytest
from celery import Celery

from integration.bulk import parking
from integration.store import keys
from integration.jobs import MERGE_PROFILES, SYNC_PROFILE
from integration.store.locks import Lease
from workers.intake import COALESCED, DUPLICATE, PARKED, QUEUED, Intake, Job
from tests.helpers import decode, jobs, post_omneo

THRESHOLD = 3


@pytest.fixture
def intake(fake_redis):
    return Intake(Celery("test", broker="memory://"), fake_redis, bulk_threshold=THRESHOLD)


def sync(pid, updated_at=None):
    return Job(SYNC_PROFILE, [pid], coalesce_profile=pid, updated_at=updated_at)


def fill(intake, n=THRESHOLD):
    """Syncs of other profiles queued one by one until the queue reaches the threshold."""
    for i in range(n):
        assert intake.accept("omneo", f"fill-{i}", sync(f"f{i}")).status == QUEUED


def parked(r):
    return sorted(m.decode() for m in r.zrange(keys.BULK_WAITING, 0, -1))


def test_below_the_threshold_a_sync_is_queued_as_before(intake, fake_redis):
    fill(intake, THRESHOLD - 1)
    out = intake.accept("omneo", "d1", sync("p1"))
    assert out.status == QUEUED and fake_redis.llen("sync") == THRESHOLD
    assert parked(fake_redis) == [] and fake_redis.llen("reconcile") == 0


def test_backed_up_a_sync_is_parked_with_one_drain_and_no_job_of_its_own(intake, fake_redis):
    fill(intake)
    first = intake.accept("omneo", "d1", sync("p1", "2026-12-01 10:00:00"))
    second = intake.accept("omneo", "d2", sync("p2"))
    assert (first.status, second.status) == (PARKED, PARKED)
    assert fake_redis.llen("sync") == THRESHOLD  # no job of their own
    assert parked(fake_redis) == ["p1", "p2"]
    drains = jobs(fake_redis, "reconcile")
    assert [(d["name"], d["task_id"]) for d in drains] == [("omneo_zendesk.sync_batch", first.job_id)]
    assert second.job_id is None  # the drain queued for the first takes it too


def test_no_drain_is_queued_while_one_runs(intake, fake_redis):
    fill(intake)
    assert Lease(fake_redis, keys.BULK_DRAIN_LOCK, 10).acquire()
    out = intake.accept("omneo", "d1", sync("p1"))
    assert (out.status, out.job_id) == (PARKED, None)
    assert fake_redis.llen("reconcile") == 0 and parked(fake_redis) == ["p1"]


def test_the_parked_count_alone_keeps_intake_parking(intake, fake_redis):
    """Parked by earlier deliveries, the sync queue empty: still backed up."""
    for n in range(THRESHOLD):
        fake_redis.zadd(keys.BULK_WAITING, {f"w{n}": n})
    assert intake.accept("omneo", "d1", sync("p1")).status == PARKED
    assert fake_redis.llen("sync") == 0


def test_a_profile_with_a_sync_queued_coalesces_into_it_even_when_backed_up(intake, fake_redis):
    first = intake.accept("omneo", "d0", sync("p1"))
    fill(intake, THRESHOLD - 1)
    assert intake.accept("omneo", "d9", sync("p9")).status == PARKED  # backed up now
    again = intake.accept("omneo", "d1", sync("p1"))
    assert (again.status, again.job_id) == (COALESCED, first.job_id)
    assert parked(fake_redis) == ["p9"]


def test_a_repeat_delivery_is_parked_once(intake, fake_redis):
    fill(intake)
    assert intake.accept("omneo", "d1", sync("p1")).status == PARKED
    assert intake.accept("omneo", "d1", sync("p1")).status == DUPLICATE
    assert intake.accept("omneo", "d2", sync("p1")).status == PARKED  # another change: still once
    assert parked(fake_redis) == ["p1"] and fake_redis.llen("reconcile") == 1


def test_the_newest_announced_updated_at_is_kept_and_an_unknown_one_forgets_it(intake, fake_redis):
    fill(intake)
    intake.accept("omneo", "d1", sync("p1", "2026-12-01 10:00:05"))
    intake.accept("omneo", "d2", sync("p1", "2026-12-01 10:00:01"))  # reordered: older, later
    assert fake_redis.hget(keys.BULK_ANNOUNCED, "p1") == b"2026-12-01 10:00:05"
    intake.accept("omneo", "d3", sync("p1"))  # a body without it: the drain must read the profile
    assert fake_redis.hget(keys.BULK_ANNOUNCED, "p1") is None


def test_off_never_parks(fake_redis):
    intake = Intake(Celery("test", broker="memory://"), fake_redis)  # threshold 0
    for n in range(5):
        assert intake.accept("omneo", f"d{n}", sync(f"p{n}")).status == QUEUED
    assert parked(fake_redis) == [] and fake_redis.llen("sync") == 5


def test_only_syncs_are_parked(intake, fake_redis):
    fill(intake)
    out = intake.accept("omneo", "m1", Job(MERGE_PROFILES, ["p1", ["p2"]]))
    assert out.status == QUEUED and parked(fake_redis) == []
    assert decode(fake_redis.lindex("sync", 0))["name"] == "omneo_zendesk.merge_profiles"


def test_intake_and_the_sync_task_share_one_rule(intake, ctx, fake_redis):
    at = dataclasses.replace(ctx, settings=dataclasses.replace(ctx.settings, bulk_sync_threshold=THRESHOLD))
    fill(intake, THRESHOLD - 1)
    assert not parking.backed_up(at, "sync")
    assert intake.accept("omneo", "d1", sync("p1")).status == QUEUED
    assert parking.backed_up(at, "sync")
    assert intake.accept("omneo", "d2", sync("p2")).status == PARKED


def test_the_receiver_answers_202_for_a_parked_sync_once_it_is_stored(settings, fake_redis, ctx):
    from web.app import create_app
    app = create_app(dataclasses.replace(settings, bulk_sync_threshold=THRESHOLD),
                     celery=Celery("test", broker="memory://"), redis_client=fake_redis)
    client = app.test_client()
    for n in range(THRESHOLD):
        assert post_omneo(client, "profile.updated", {"id": f"f{n}"}).status_code == 202
    r = post_omneo(client, "profile.updated", {"id": "p1", "updated_at": "2026-12-01 10:00:00"})
    assert r.status_code == 202 and r.get_json()["parked"] is True
    assert r.get_json()["job_id"] == r.headers["X-Job-Id"] == jobs(fake_redis, "reconcile")[0]["task_id"]
    assert parked(fake_redis) == ["p1"] and fake_redis.llen("sync") == THRESHOLD
    assert fake_redis.hget(keys.BULK_ANNOUNCED, "p1") == b"2026-12-01 10:00:00"


def test_profiles_a_drain_has_taken_count_as_backed_up(intake, fake_redis):
    fake_redis.zadd(keys.BULK_CLAIMED, {f"c{n}": n for n in range(THRESHOLD)})  # being synced
    assert intake.accept("omneo", "d1", sync("p1")).status == PARKED
