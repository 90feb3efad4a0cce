"""workers.intake: one call marks the delivery, coalesces syncs and queues the job, or does nothing."""
import pytest
from celery import Celery

from integration.store import keys
from integration.store import keys, marks
from integration.jobs import ERASE_PROFILE, SYNC_PROFILE, TICKET_INTERACTION
from workers.intake import COALESCED, DUPLICATE, QUEUED, Intake, Job
from tests.helpers import jobs


@pytest.fixture
def intake(fake_redis):
    return Intake(Celery("test", broker="memory://"), fake_redis)


def test_first_delivery_queues_the_job_on_its_queue(intake, fake_redis):
    out = intake.accept("omneo", "d1", Job(ERASE_PROFILE, ["p1"], {"zendesk_user_id": "7"}))
    assert out.status == QUEUED
    assert jobs(fake_redis, "erasure") == [{"name": "omneo_zendesk.erase_profile", "task_id": out.job_id,
                                             "args": ["p1"], "kwargs": {"zendesk_user_id": "7"},
                                             "queue": "erasure"}]
    hashes, field, _ = marks.seen_keys("omneo", "d1")
    assert fake_redis.hexists(hashes[0], field) and fake_redis.ttl(hashes[0]) > 3 * 24 * 3600


def test_a_repeat_delivery_queues_nothing(intake, fake_redis):
    job = Job(TICKET_INTERACTION, [{"event_id": "e1"}])
    assert intake.accept("zendesk", "e1", job).status == QUEUED
    again = intake.accept("zendesk", "e1", job)
    assert (again.status, again.job_id) == (DUPLICATE, None)
    assert fake_redis.llen("interactions") == 1


def test_syncs_of_one_profile_coalesce_until_the_queued_one_starts(intake, fake_redis):
    first = intake.accept("omneo", "d1", Job(SYNC_PROFILE, ["p1"], coalesce_profile="p1"))
    second = intake.accept("omneo", "d2", Job(SYNC_PROFILE, ["p1"], coalesce_profile="p1"))
    other = intake.accept("omneo", "d3", Job(SYNC_PROFILE, ["p2"], coalesce_profile="p2"))
    assert (first.status, second.status, other.status) == (QUEUED, COALESCED, QUEUED)
    assert second.job_id == first.job_id
    assert [j["task_id"] for j in jobs(fake_redis, "sync")] == [first.job_id, other.job_id]
    fake_redis.delete(keys.pending_sync("p1"))  # what the job does when it starts
    third = intake.accept("omneo", "d4", Job(SYNC_PROFILE, ["p1"], coalesce_profile="p1"))
    assert third.status == QUEUED and fake_redis.llen("sync") == 3
