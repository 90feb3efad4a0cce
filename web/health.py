"""Liveness, readiness and Prometheus metrics."""
from __future__ import annotations

import hmac

from flask import Blueprint, Response, current_app, jsonify, request

from web.responses import problem

from integration import jobs
from integration.store import redis_memory
from integration.onboarding.zendesk_auth_check import auth_problem
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
    memory = _redis_memory(ext.redis)
    problem = auth_problem(ext.redis, ext.settings)
    if problem:  # still ready: webhooks are accepted and their jobs wait for the fix
        return jsonify(status="degraded", redis=True, redis_memory=memory, zendesk_auth={
            "ok": False, "error": problem["error"], "setting": problem["setting"],
            "advice": problem["advice"], "since": problem["at"]})
    # still ready when Redis may evict: nothing is lost yet, and `check` and the logs say so loudly
    status = "ok" if memory.get("noeviction", True) else "degraded"
    return jsonify(status=status, redis=True, redis_memory=memory, zendesk_auth={"ok": True})


def _redis_memory(client) -> dict:
    """The eviction policy and headroom, as INFO memory gives them; {} when it is refused."""
    try:
        memory = redis_memory.read(client)
    except Exception:
        return {}
    problem = redis_memory.eviction_problem(memory)
    return {"maxmemory_policy": memory.policy, "used_memory": memory.used,
            "maxmemory": memory.maxmemory, "noeviction": problem is None,
            **({"problem": problem} if problem else {})}


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
    return Response(job_metrics.render(ext.redis, jobs.QUEUES, ext.settings), mimetype=job_metrics.CONTENT_TYPE)
