"""The base task keeps a job killed at its hard time limit (which Celery acknowledges) as a dead letter."""
from __future__ import annotations

from billiard.exceptions import TimeLimitExceeded, WorkerLostError

import workers.tasks  # noqa: F401  (registers the shared tasks)
from workers import runtime
from workers.celery_app import create_celery
from tests.helpers import add_user, job_for, put


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


def test_a_ticket_event_that_fails_for_good_is_filed_under_its_requester_and_profile(
        settings, ctx, monkeypatch, omneo_sandbox, zendesk_sandbox):
    app = create_celery(settings)
    monkeypatch.setattr(runtime, "context", lambda: ctx)
    user = add_user(zendesk_sandbox, email="k@example.com", external_id="p-k")
    put(omneo_sandbox, id="p-k")
    with zendesk_sandbox.lock:
        zendesk_sandbox.tickets[100] = {"id": 100, "subject": "Rash after the cream",
                                        "requester_id": user["id"], "status": "open"}
    with omneo_sandbox.lock:
        omneo_sandbox.failures = [{"path": "/interactions$", "method": "POST", "status": 422, "count": 1}]
    job = job_for(user["id"])
    result = app.tasks["omneo_zendesk.ticket_interaction"].apply(args=[job]).get()
    assert result["outcome"] == "dead_lettered"
    [entry] = ctx.dead_letters.list()
    assert entry["args"] == [job]
    assert (entry["profile_id"], entry["zendesk_user_id"]) == ("p-k", str(user["id"]))
