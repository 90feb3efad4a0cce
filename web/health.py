"""Liveness, readiness and Prometheus metrics."""
from __future__ import annotations

import hmac

from flask import Blueprint, Response, current_app, jsonify, request

from web.responses import problem

from integration import jobs
from integration import zendesk_auth
from integration.zendesk_auth_check import auth_problem
from workers import metrics as job_metrics

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
    problem = auth_problem(ext.redis, ext.settings)
    if problem:  # still ready: webhooks are accepted and their jobs wait for the fix
        return jsonify(status="degraded", redis=True, zendesk_auth={
            "ok": False, "error": problem["error"], "setting": problem["setting"],
            "advice": problem["advice"], "since": problem["at"]})
    return jsonify(status="ok", redis=True, zendesk_auth={"ok": True})


METRICS_UNAUTHORIZED = "/metrics wants Authorization: Bearer <METRICS_TOKEN>"


def may_read_metrics(token: str | None, authorization: str | None) -> bool:
    """Anyone when METRICS_TOKEN is unset; else only `Authorization: Bearer <METRICS_TOKEN>`."""
    if not token:
        return True
    return hmac.compare_digest((authorization or "").encode("latin-1", "replace"),
                               f"Bearer {token}".encode())


@bp.get("/metrics")
def metrics():
    ext = current_app.extensions["omneo_zendesk"]
    if not may_read_metrics(ext.settings.metrics_token, request.headers.get("Authorization")):
        body, status = problem(401, METRICS_UNAUTHORIZED)
        body.headers["WWW-Authenticate"] = "Bearer"
        return body, status
    return Response(job_metrics.render(ext.redis, jobs.QUEUES, zendesk_auth.fingerprint(ext.settings)), mimetype=job_metrics.CONTENT_TYPE)
