"""How the workers and the CLI put a job on its queue (the receivers use workers.intake)."""
from __future__ import annotations

import uuid

from celery import Celery

from workers import metrics
from workers.celery_app import TASK_QUEUES


def send(app: Celery, task: str, *args, **kwargs) -> str:
    job_id = uuid.uuid4().hex
    app.send_task(task, args=list(args), kwargs=kwargs, task_id=job_id, queue=TASK_QUEUES[task])
    metrics.JOBS_ENQUEUED.labels(task).inc()
    return job_id


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
