"""Parking at intake (workers/intake.py with integration/bulk/parking.py's rule): once syncs are backed
up, the receiver's one Redis call parks the profile and queues at most one drain, instead of a job
a webhook; below the threshold a sync is queued as before."""
import dataclasses

import pytest
from celery import Celery

from integration.bulk import parking
from integration.profiles import mapping
from integration.settings.declared import ALL_SYNC_ATTRIBUTES
from integration.store import keys, marks
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


# the lone lane: a change of contact details mid-burst goes alone, a tier change is parked
LANE_PER_MINUTE = 60.0


@pytest.fixture
def lane_intake(fake_redis):
    return Intake(Celery("test", broker="memory://"), fake_redis, bulk_threshold=THRESHOLD,
                  lane_per_minute=LANE_PER_MINUTE)


def synced(r, pid, contact):
    """A sync mark as a sync leaves it, with the digest of the contact details it synced."""
    mark = {"fingerprint": "ab" * 8, "zendesk_user_id": "36000000001", "updated_at": "2026-12-01 09:00:00",
            "synced_at": 1.0, **({"contact": contact} if contact else {})}
    r.hset(marks.synced_key(pid), pid, marks.pack(mark))


def profile(pid, **fields):
    return {"id": pid, "first_name": "Ann", "last_name": "Lee", "email": f"{pid}@example.com",
            "mobile_phone": None, "mobile_phone_e164": None, "tier": "gold", **fields}


def told(body):
    return Job(SYNC_PROFILE, [body["id"]], coalesce_profile=body["id"],
               contact=mapping.body_contact_digest(body, ALL_SYNC_ATTRIBUTES))


def contact_of(body):
    return mapping.contact_digest(mapping.zendesk_user(body, ALL_SYNC_ATTRIBUTES))


def test_a_contact_change_mid_burst_goes_alone_and_a_tier_change_is_parked(lane_intake, fake_redis, ctx):
    for pid in ("p1", "p2"):
        synced(fake_redis, pid, contact_of(profile(pid)))
    fill(lane_intake)
    edited = lane_intake.accept("omneo", "d1", told(profile("p1", last_name="Lee-Smith")))
    tiered = lane_intake.accept("omneo", "d2", told(profile("p2", tier="platinum")))
    assert (edited.status, tiered.status) == (QUEUED, PARKED)
    assert parked(fake_redis) == ["p2"]
    assert decode(fake_redis.lindex("sync", 0))["task_id"] == edited.job_id
    # the sync task is told once that it goes alone, though syncs are backed up
    at = dataclasses.replace(ctx, settings=dataclasses.replace(ctx.settings, bulk_sync_threshold=THRESHOLD))
    assert not parking.backed_up(at, "sync", "p1")
    assert parking.backed_up(at, "sync", "p1") and parking.backed_up(at, "sync", "p2")


def test_a_profile_without_a_contact_digest_of_ours_is_parked(lane_intake, fake_redis):
    """Never synced by us (a migration), or marked before marks had the digest: nothing tells
    a person's edit from a burst's change, so it stays in bulk; so does a body without the fields."""
    synced(fake_redis, "old", None)
    synced(fake_redis, "p3", contact_of(profile("p3")))
    fill(lane_intake)
    bare = {"id": "p3", "tier": "gold", "email": "new@example.com"}  # no name fields
    for n, body in enumerate([profile("new", first_name="X"), profile("old", first_name="X"), bare]):
        assert lane_intake.accept("omneo", f"d{n}", told(body)).status == PARKED
    assert parked(fake_redis) == ["new", "old", "p3"]


def test_the_lane_lets_a_few_through_then_parks_the_rest_of_a_burst_of_contact_changes(lane_intake, fake_redis):
    ids = [f"c{n}" for n in range(parking.LANE_BURST + 3)]
    for pid in ids:
        synced(fake_redis, pid, contact_of(profile(pid)))
    fill(lane_intake)
    out = [lane_intake.accept("omneo", f"d-{pid}", told(profile(pid, email=f"moved.{pid}@example.com"))).status
           for pid in ids]
    assert out == [QUEUED] * parking.LANE_BURST + [PARKED] * 3  # an import: mostly in bulk


def test_without_a_lane_share_contact_changes_are_parked_too(intake, fake_redis):
    synced(fake_redis, "p1", contact_of(profile("p1")))
    fill(intake)
    assert intake.accept("omneo", "d1", told(profile("p1", first_name="Bo"))).status == PARKED


@pytest.mark.parametrize("digest", ["48956185", "0badc0de", "f7767100"])
def test_a_contact_digest_is_compared_as_packed_whatever_its_digits(lane_intake, fake_redis, digest):
    """The packing keeps a digest of digits alone as a number: an unchanged one is still equal."""
    synced(fake_redis, "p1", digest)
    fill(lane_intake)
    job = Job(SYNC_PROFILE, ["p1"], coalesce_profile="p1", contact=digest)
    assert lane_intake.accept("omneo", "d1", job).status == PARKED
    other = Job(SYNC_PROFILE, ["p1"], coalesce_profile="p1", contact="12345678" if digest != "12345678" else "0")
    assert lane_intake.accept("omneo", "d2", other).status == QUEUED
