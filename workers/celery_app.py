"""The Celery app: Redis broker, the queues of DESIGN.md, late acks, one job at a time per process."""
from __future__ import annotations

from celery import Celery
from kombu import Queue

from integration.settings import Settings
from workers import runtime

QUEUES = ("sync", "erasure", "interactions", "reconcile")

TASK_QUEUES = {
    "omneo_zendesk.sync_profile": "sync",
    "omneo_zendesk.merge_profiles": "sync",
    "omneo_zendesk.link_identity": "sync",
    "omneo_zendesk.erase_profile": "erasure",
    "omneo_zendesk.ticket_interaction": "interactions",
    "omneo_zendesk.reconcile": "reconcile",
}

TASK_TIME_LIMIT = 300


def visibility_timeout(settings: Settings) -> int:
    """How long Redis waits before handing an unacknowledged message to another worker.

    A message whose worker died is redelivered after this long, so shorter is faster recovery.
    But a retry is an unacknowledged message with an ETA, held by the worker until due, and a
    message still unacknowledged when the timeout passes is delivered a second time. So it must
    exceed the longest retry delay plus the longest run of a job; we add a 10-minute margin.
    """
    return int(settings.retry_max_seconds + TASK_TIME_LIMIT + 600)


def create_celery(settings: Settings) -> Celery:
    runtime.configure(settings)
    app = Celery("omneo_zendesk", broker=settings.redis_url, include=["workers.tasks"])
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_ignore_result=True,
        result_backend=None,
        task_queues=[Queue(name) for name in QUEUES],
        task_default_queue="sync",
        task_routes={name: {"queue": queue} for name, queue in TASK_QUEUES.items()},
        task_time_limit=TASK_TIME_LIMIT,
        task_soft_time_limit=TASK_TIME_LIMIT - 30,
        task_serializer="json",
        accept_content=["json"],
        broker_transport_options={"visibility_timeout": visibility_timeout(settings)},
        broker_connection_retry_on_startup=True,
        broker_connection_max_retries=None,
        worker_hijack_root_logger=False,
        worker_send_task_events=True,
        # a task-sent event is a second Redis publish per webhook in the receiver (bench/ingest.py);
        # Flower still sees every task from the worker's received/started/succeeded events
        task_send_sent_event=False,
        timezone="UTC",
    )
    return app
