"""The Flask app factory: receivers, sidebar API, health and metrics on one small app."""
from __future__ import annotations

from dataclasses import dataclass

import redis
from celery import Celery
from flask import Flask, request
from prometheus_client import Counter
from werkzeug.exceptions import HTTPException

from integration.bulk import parking
from integration.wiring import connect_redis
from integration.settings.declared import Settings
from web.responses import problem
from workers.celery_app import create_celery
from workers.intake import Intake

MAX_BODY_BYTES = 1024 * 1024

WEBHOOKS = Counter("oz_webhooks_total", "Webhook deliveries by source, answer and outcome",
                   ["source", "status", "outcome"])


def webhook_outcome(status: int) -> str:
    """202 accepted; 200 duplicate or not acted on; 503 queue down; other 4xx rejected."""
    if status == 202:
        return "accepted"
    if status < 300:
        return "ignored"
    if status == 503:
        return "unavailable"
    return "rejected" if status < 500 else "error"


WEBHOOK_ROUTES = {"/webhooks/omneo": "omneo", "/webhooks/zendesk": "zendesk"}


def webhook_source() -> str:
    """The route a request matched, never its path: any other path under /webhooks/ shares one
    label, so no request can mint a series (or put what it carries into a label)."""
    rule = request.url_rule
    return WEBHOOK_ROUTES.get(rule.rule if rule is not None else "", "unknown")


@dataclass
class Extension:
    settings: Settings
    redis: redis.Redis
    intake: Intake


def create_app(settings: Settings, celery: Celery | None = None,
               redis_client: redis.Redis | None = None) -> Flask:
    app = Flask("omneo_zendesk")
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    r = redis_client or connect_redis(settings)
    celery = celery or create_celery(settings)
    app.extensions["omneo_zendesk"] = Extension(settings, r, Intake(
        celery, r, settings.redis_min_replicas_acked, settings.redis_wait_timeout_ms,
        settings.bulk_sync_threshold, parking.lane_per_minute(settings)))

    from web import health, omneo_webhooks, request_ids

    request_ids.install(app)

    app.register_blueprint(omneo_webhooks.bp)
    app.register_blueprint(health.bp)
    from web import sidebar
    app.register_blueprint(sidebar.bp)
    from web import sidebar_actions, sidebar_app_page
    app.register_blueprint(sidebar_actions.bp)
    app.register_blueprint(sidebar_app_page.bp)
    from web import zendesk_webhooks
    app.register_blueprint(zendesk_webhooks.bp)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        if exc.code == 413:
            return problem(413, f"body is over {MAX_BODY_BYTES} bytes")
        return problem(exc.code or 500, exc.description or exc.name)

    @app.after_request
    def _count(response):
        if request.path.startswith("/webhooks/"):
            WEBHOOKS.labels(webhook_source(), str(response.status_code),
                            webhook_outcome(response.status_code)).inc()
        return response

    return app
