"""How the receiver (or the CLI) puts a job on its queue; one place that knows the task names."""
from __future__ import annotations

import uuid

from celery import Celery

from integration.state import State
from workers import metrics
from workers.celery_app import TASK_QUEUES


def send(app: Celery, task: str, *args, job_id: str | None = None, **kwargs) -> str:
    job_id = job_id or uuid.uuid4().hex
    app.send_task(task, args=list(args), kwargs=kwargs, task_id=job_id, queue=TASK_QUEUES[task])
    metrics.JOBS_ENQUEUED.labels(task).inc()
    return job_id


def enqueue_sync(app: Celery, state: State, profile_id: str) -> tuple[str, bool]:
    """Queue a sync unless one for this profile is queued and not started: (job id, coalesced)."""
    job_id = uuid.uuid4().hex
    queued = state.claim_pending_sync(profile_id, job_id)
    if queued:
        return queued, True
    try:
        send(app, "omneo_zendesk.sync_profile", profile_id, job_id=job_id)
    except Exception:
        state.release_pending_sync(profile_id, job_id)
        raise
    return job_id, False


def enqueue_ticket_event(app: Celery, job: dict) -> str:
    """Queue the interaction job of one Zendesk ticket event (see integration.interactions)."""
    return send(app, "omneo_zendesk.ticket_interaction", job)


def enqueue_erasure(app: Celery, profile_id: str, zendesk_user_id: str | None = None,
                    requested_at: float | None = None) -> str:
    """Queue the erasure of a deleted profile (its own queue, so a sync backlog cannot delay it)."""
    return send(app, "omneo_zendesk.erase_profile", profile_id, zendesk_user_id=zendesk_user_id,
                requested_at=requested_at)


def replay(app: Celery, entry: dict) -> str:
    """Run a dead letter's job again by its task name, as a fresh job (its attempts start over)
    that carries the entry's id: the base task removes the entry when the job succeeds, and puts
    it back under the same id if the job fails for good again."""
    from workers.base import DEAD_LETTER

    task = entry["task"]
    if task not in TASK_QUEUES:
        raise KeyError(f"unknown task {task}")
    job_id = uuid.uuid4().hex
    app.send_task(task, args=list(entry.get("args") or []), kwargs=dict(entry.get("kwargs") or {}),
                  task_id=job_id, queue=TASK_QUEUES[task], headers={DEAD_LETTER: entry["id"]})
    metrics.JOBS_ENQUEUED.labels(task).inc()
    return job_id
