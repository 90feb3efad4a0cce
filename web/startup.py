"""How each kind of process starts: one common step, then what that kind runs.

The common step, named for the process kind: the metrics directory (before a metric is touched),
logging, Sentry, the warning about deprecated Zendesk credentials, and Redis's eviction policy and
memory (a loud warning when Redis may drop our keys). The CLI's commands and
web.wsgi start their processes through these functions only."""
from __future__ import annotations

from celery import Celery
from flask import Flask

from integration.store import connection, redis_memory
from integration.settings.declared import Settings
from integration.onboarding.zendesk_auth_check import warn_if_deprecated
from web.app import create_app
from workers.celery_app import create_celery
from workers.logs import configure_logging
from workers.metrics import ensure_multiproc_dir
from workers.sentry import init_sentry


def common(settings: Settings, component: str, loglevel: str = "INFO") -> None:
    ensure_multiproc_dir(settings.prometheus_multiproc_dir)
    configure_logging(settings.log_format, loglevel)
    init_sentry(settings, component)
    warn_if_deprecated(settings, component)
    redis_memory.log_at_start(connection.connect(settings), component)


def receiver(settings: Settings) -> Flask:
    """The receivers and the sidebar API, in each of gunicorn's worker processes (web.wsgi)."""
    common(settings, "web")
    return create_app(settings)


def worker(settings: Settings, loglevel: str) -> Celery:
    common(settings, "worker", loglevel)
    return create_celery(settings)


def beat(settings: Settings, loglevel: str) -> Celery:
    common(settings, "beat", loglevel)
    return create_celery(settings)


def flower(settings: Settings) -> Celery:
    """Flower keeps its own logging, and runs no job whose errors Sentry would want."""
    redis_memory.log_at_start(connection.connect(settings), "flower")
    return create_celery(settings)
