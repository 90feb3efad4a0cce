"""The Celery app: Redis broker, the queues and routes integration.jobs declares, late acks, one
job at a time per process."""
from __future__ import annotations

from celery import Celery
from kombu import Queue

from integration import jobs
from integration.store import connection
from integration.settings.declared import Settings
from workers import runtime

SENTINEL_TRANSPORT = "workers.sentinel_transport:SentinelTransport"


def broker_transport_options(settings: Settings) -> dict:
    """How Redis keeps unacknowledged messages (BROKER_VISIBILITY_TIMEOUT_SECONDS), and with
    Sentinel which master set to follow.

    A message whose worker died (SIGKILL, lost machine) sits in Kombu's `unacked` set and is only
    handed out again once the visibility timeout has passed: shorter means faster recovery. A job
    runs for up to its time limit before it is acknowledged (acks_late), so the timeout must
    outlast that; retries and their delays wait in Redis (workers.due), never unacknowledged in a
    worker, so nothing else holds a message longer. The default, 360 s, is the 300 s time limit
    and a minute's margin for clock skew between machines.
    """
    timeout = settings.broker_visibility_timeout_seconds
    return {
        **connection.celery_broker(settings)["transport_options"],
        "visibility_timeout": timeout,
        # Kombu sweeps for overdue messages every interval x throttle seconds (default 10 x 10);
        # sweep at a twentieth of the timeout instead, so recovery is not left to that default.
        "unacked_restore_interval": max(1, min(60, timeout // 20)),
        "unacked_restore_throttle": 1,
    }


def create_celery(settings: Settings) -> Celery:
    runtime.configure(settings)
    broker = connection.celery_broker(settings)
    app = Celery("omneo_zendesk", broker=broker["broker_url"], include=["workers.tasks"])
    app.conf.update(
        broker_use_ssl=broker["broker_use_ssl"],
        broker_transport=SENTINEL_TRANSPORT if settings.redis_sentinels else None,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_ignore_result=True,
        result_backend=None,
        task_queues=[Queue(name) for name in jobs.QUEUES],
        task_default_queue=jobs.QUEUES[0],
        task_routes={spec.name: {"queue": spec.queue} for spec in jobs.ALL},
        task_time_limit=settings.task_time_limit_seconds,
        task_soft_time_limit=settings.task_time_limit_seconds * 0.9,
        task_serializer="json",
        accept_content=["json"],
        broker_transport_options=broker_transport_options(settings),
        broker_connection_retry_on_startup=True,
        broker_connection_max_retries=None,
        worker_hijack_root_logger=False,
        worker_send_task_events=True,
        # a task-sent event is a second Redis publish per webhook in the receiver (bench/ingest.py);
        # Flower still sees every task from the worker's received/started/succeeded events
        task_send_sent_event=False,
        timezone="UTC",
        beat_schedule=beat_schedule(settings),
    )
    return app


def beat_schedule(settings: Settings) -> dict:
    """What celery beat sends. Several beat processes may run; the reconciliation task itself
    makes sure it runs once (a Redis lease), so beat needs no lock of its own."""
    interval = settings.reconcile_interval_seconds
    return {
        "reconcile": {
            "task": jobs.RECONCILE.name,
            "schedule": float(interval),
            "kwargs": {"trigger": "beat"},
            # a run that waited a whole interval in the queue is stale: the next one is coming
            "options": {"queue": jobs.RECONCILE.queue, "expires": interval},
        },
        "recheck-erasures": {
            "task": jobs.RECHECK_ERASURES.name,
            "schedule": float(settings.erasure_recheck_seconds),
            "options": {"queue": jobs.RECHECK_ERASURES.queue, "expires": settings.erasure_recheck_seconds},
        },
    }
