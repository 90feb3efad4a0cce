"""Zendesk's limit of 30 bulk jobs queued or running per account: the sandbox refuses a job over it
with 429 TooManyJobs, the client tells that from the budget's 429 (no pause of other calls), and a
drain waits for room instead of failing or pausing everyone."""
import functools

import pytest

from integration.bulk import drain, parking, pipeline
from integration.errors import JobLimitReached
from tests.helpers import zendesk_name

USER = {"name": "A", "external_id": "x1", "role": "end-user"}


def test_a_job_over_the_accounts_limit_is_refused_without_pausing_other_calls(ctx, zendesk_sandbox,
                                                                           monkeypatch):
    paused = []
    monkeypatch.setattr(ctx.zendesk.limiter, "pause", lambda seconds: paused.append(seconds))
    zendesk_sandbox.bulk_job_seconds = 30  # ours stay queued
    zendesk_sandbox.job_limit = 2
    ctx.zendesk.create_or_update_many([USER])
    zendesk_sandbox.other_jobs = 1  # someone else's
    with pytest.raises(JobLimitReached) as refused:
        ctx.zendesk.create_or_update_many([USER])
    assert refused.value.body["error"] == "TooManyJobs" and refused.value.retry_after == 5
    assert paused == [] and zendesk_sandbox.stats["job_limited"] == 1


def test_a_drain_waits_for_room_under_the_job_limit(ctx, linked, zendesk_sandbox, monkeypatch):  # noqa: F811
    zendesk_sandbox.other_jobs = zendesk_sandbox.job_limit  # another integration holds all 30
    waited = []

    def sleep(seconds):
        waited.append(seconds)
        zendesk_sandbox.other_jobs = 0  # theirs finish meanwhile

    monkeypatch.setattr(drain, "BulkSync", functools.partial(drain.BulkSync, sleep=sleep))
    for pid in linked:
        parking.park(ctx, pid)
    result = drain.drain(ctx, budget_seconds=5)
    assert result["updated"] == 3 and zendesk_sandbox.stats["job_limited"] == 1
    assert waited[0] == 5  # Retry-After, with none of ours out
    assert [zendesk_name(zendesk_sandbox, p) for p in linked] == ["New 1", "New 2", "New 3"]


def test_a_drain_stops_when_the_job_limit_stays_reached(ctx, linked, zendesk_sandbox, monkeypatch):  # noqa: F811
    from integration.store import keys
    from integration.errors import TransientError

    zendesk_sandbox.other_jobs = zendesk_sandbox.job_limit
    monkeypatch.setattr(drain, "BulkSync", functools.partial(drain.BulkSync, sleep=lambda s: None))
    for pid in linked:
        parking.park(ctx, pid)
    with pytest.raises(TransientError):  # the drain job retries later
        drain.drain(ctx, budget_seconds=5)
    assert sorted(m.decode() for m in ctx.redis.zrange(keys.BULK_WAITING, 0, -1)) == linked


def test_with_many_jobs_out_their_statuses_are_polled_less_often(ctx):
    """One poll answers for every job out: a few are polled each second, many every few seconds."""
    jobs = pipeline.BulkJobs(ctx)
    assert jobs.poll_interval(1) == jobs.poll_interval(pipeline.JOBS_PER_POLL_SECOND) == pipeline.POLL_SECONDS
    assert jobs.poll_interval(12) == 3 * pipeline.POLL_SECONDS
    assert jobs.poll_interval(pipeline.MAX_OUTSTANDING) == pipeline.MAX_POLL_SECONDS
