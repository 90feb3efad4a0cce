"""What both receivers do once a delivery is verified and valid: dedupe it, enqueue its job, and
answer 202, or 200 for a repeat, or 503 when the queue cannot take it (so the sender retries)."""
from __future__ import annotations

import json
import logging

import redis

from web.responses import accepted, ignored, problem
from workers.intake import COALESCED, DUPLICATE, Job

log = logging.getLogger("omneo_zendesk.web")

BROKER_DOWN = (redis.RedisError, ConnectionError, OSError)


def read_json_object(raw: bytes):
    """(payload, None) for a body that is a JSON object, else (None, the 400 answer saying why)."""
    try:
        payload = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return None, problem(400, "body is not valid JSON")
    if not isinstance(payload, dict):
        return None, problem(400, "body must be a JSON object")
    return payload, None


def enqueue_once(ext, source: str, delivery_id: str, event: str, job: Job, **extra):
    """Queue `job` for the first delivery of `delivery_id` only: 202 naming the job (or, for a sync
    coalesced into one already queued, naming that one), 200 for a repeat, 503 when Redis cannot
    take it, so the sender retries."""
    try:
        outcome = ext.intake.accept(source, delivery_id, job)
    except BROKER_DOWN as exc:
        log.error("could not enqueue", extra={"source": source, "event": event,
                                              "error_type": type(exc).__name__})
        return problem(503, "queue unavailable, retry later")
    if outcome.status == DUPLICATE:
        return ignored("duplicate delivery", duplicate=True)
    if job.coalesce_profile:
        extra["coalesced"] = outcome.status == COALESCED
    return accepted(outcome.job_id, event=event, **extra)
