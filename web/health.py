"""Liveness, readiness and Prometheus metrics."""
from __future__ import annotations

import hmac

from flask import Blueprint, Response, current_app, jsonify, request

from web.responses import problem

from workers import metrics as job_metrics
from workers.celery_app import QUEUES

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz():
    ext = current_app.extensions["omneo_zendesk"]
    try:
        ext.redis.ping()
    except Exception:
        return jsonify(status="unavailable", redis=False), 503
    return jsonify(status="ok", redis=True)


@bp.get("/metrics")
def metrics():
    ext = current_app.extensions["omneo_zendesk"]
    token = ext.settings.metrics_token
    if token and not hmac.compare_digest(request.headers.get("Authorization", "").encode("latin-1"),
                                         f"Bearer {token}".encode()):
        body, status = problem(401, "/metrics wants Authorization: Bearer <METRICS_TOKEN>")
        body.headers["WWW-Authenticate"] = "Bearer"
        return body, status
    return Response(job_metrics.render(ext.redis, QUEUES), mimetype=job_metrics.CONTENT_TYPE)
