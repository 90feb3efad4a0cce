"""What both receivers do once a delivery is verified and valid: dedupe it, enqueue its job, and
answer 202, or 200 for a repeat, or 503 when the queue cannot take it (so the sender retries)."""
from __future__ import annotations

import json
import logging
from typing import Callable

import redis
from kombu.exceptions import OperationalError

from web.responses import accepted, ignored, problem

log = logging.getLogger("omneo_zendesk.web")

BROKER_DOWN = (redis.RedisError, OperationalError, ConnectionError, OSError)


def read_json_object(raw: bytes):
    """(payload, None) for a body that is a JSON object, else (None, the 400 answer saying why)."""
    try:
        payload = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return None, problem(400, "body is not valid JSON")
    if not isinstance(payload, dict):
        return None, problem(400, "body must be a JSON object")
    return payload, None


def enqueue_once(ext, source: str, delivery_id: str, event: str,
                 enqueue: Callable[[], tuple[str, dict]]):
    """Run `enqueue` (-> job id, extra answer fields) for the first delivery of `delivery_id` only.

    The dedupe mark is set before enqueueing and removed again if enqueueing fails, so a failed
    delivery is not mistaken for a repeat when the sender retries it."""
    try:
        if not ext.state.mark_seen(source, delivery_id):
            return ignored("duplicate delivery", duplicate=True)
        try:
            job_id, extra = enqueue()
        except Exception:
            ext.state.unmark_seen(source, delivery_id)
            raise
    except BROKER_DOWN as exc:
        log.error("could not enqueue", extra={"source": source, "event": event,
                                              "error_type": type(exc).__name__})
        return problem(503, "queue unavailable, retry later")
    log.info("webhook accepted", extra={"source": source, "event": event, "job_id": job_id})
    return accepted(job_id, event=event, **extra)
