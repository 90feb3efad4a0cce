"""The base task keeps a job killed at its hard time limit (which Celery acknowledges) as a dead letter."""
from __future__ import annotations

from billiard.exceptions import TimeLimitExceeded, WorkerLostError

import workers.tasks  # noqa: F401  (registers the shared tasks)
from workers import runtime
from workers.celery_app import create_celery


def test_a_job_killed_at_its_time_limit_is_dead_lettered_not_lost(settings, ctx, monkeypatch):
    app = create_celery(settings)
    monkeypatch.setattr(runtime, "context", lambda: ctx)
    task = app.tasks["omneo_zendesk.sync_profile"]
    task.on_failure(TimeLimitExceeded(300), "job-1", ("p-77",), {}, None)
    [entry] = ctx.dead_letters.list()
    assert entry["task"] == "omneo_zendesk.sync_profile" and entry["args"] == ["p-77"]
    assert entry["error"]["reason"] == "time limit exceeded" and entry["profile_id"] == "p-77"


def test_a_lost_worker_is_left_to_the_broker(settings, ctx, monkeypatch):
    # reject_on_worker_lost requeues that message: a dead letter as well would run it twice
    app = create_celery(settings)
    monkeypatch.setattr(runtime, "context", lambda: ctx)
    app.tasks["omneo_zendesk.sync_profile"].on_failure(WorkerLostError("killed"), "job-2", ("p-78",), {}, None)
    assert ctx.dead_letters.list() == []
