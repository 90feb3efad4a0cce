"""How the workers and the CLI put a job on its queue (the receivers use workers.intake)."""
from __future__ import annotations

import uuid

from celery import Celery

from integration import jobs
from integration.jobs import TaskSpec
from workers import metrics


def send(app: Celery, task: TaskSpec, *args, headers: dict | None = None, **kwargs) -> str:
    """Queue the task `task` declares with these arguments, as a new job; returns its id."""
    job_id = uuid.uuid4().hex
    app.send_task(task.name, args=list(args), kwargs=kwargs, task_id=job_id, queue=task.queue,
                  headers=headers)
    metrics.JOBS_ENQUEUED.labels(task.name).inc()
    return job_id


def replay(app: Celery, entry: dict) -> str:
    """Run a dead letter's job again by its task name, as a fresh job (its attempts start over)
    that carries the entry's id: the base task removes the entry when the job succeeds, and puts
    it back under the same id if the job fails for good again."""
    from workers.base import DEAD_LETTER

    task = jobs.BY_NAME.get(entry["task"])
    if task is None:
        raise KeyError(f"unknown task {entry['task']}")
    return send(app, task, *(entry.get("args") or []), headers={DEAD_LETTER: entry["id"]},
                **dict(entry.get("kwargs") or {}))
