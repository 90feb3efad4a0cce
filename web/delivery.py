"""What both receivers do once a delivery is verified and valid: dedupe it, enqueue its job, and
answer 202, or 200 for a repeat, or 503 when the queue cannot take it (so the sender retries)."""
from __future__ import annotations

import json
import logging
from typing import Callable

import redis
from flask import current_app, request

from integration.settings.declared import Settings
from web.responses import accepted, ignored, problem
from workers.intake import COALESCED, DUPLICATE, PARKED, Job

log = logging.getLogger("omneo_zendesk.web")

BROKER_DOWN = (redis.RedisError, ConnectionError, OSError)


MAX_JSON_DEPTH = 64  # far deeper than any sender's body; deep enough to never need recursion


def read_body():
    """(the raw body, None), or (None, a 413 answer) when it is over MAX_CONTENT_LENGTH: read with
    that bound whether or not the sender gave a Content-Length (a chunked body has none), and never
    cut short to fit."""
    limit = current_app.config["MAX_CONTENT_LENGTH"]
    length, environ = request.content_length, request.environ
    too_large = None, problem(413, f"body is over {limit} bytes")
    if length is not None and length > limit:
        return too_large
    if length is None and "wsgi.input_terminated" not in environ:
        return b"", None  # a server that does not end the stream for us: no length, no body
    stream, want, chunks, size = environ["wsgi.input"], limit + 1 if length is None else length, [], 0
    while size < want:
        chunk = stream.read(min(65536, want - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    if size > limit:
        return too_large
    return b"".join(chunks), None


def signed_body(signed: Callable[[Settings, bytes], bool], refused: str):
    """(the app's extension, the raw body, None), or a refusal in place of None: a body over the
    bound (413), or one `signed(settings, raw)` does not accept (401, saying `refused`)."""
    ext = current_app.extensions["omneo_zendesk"]
    raw, refusal = read_body()
    if refusal is None and not signed(ext.settings, raw):
        refusal = problem(401, refused)
    return ext, raw, refusal


def read_json_object(raw: bytes):
    """(payload, None) for a body that is a JSON object, else (None, the 400 answer saying why)."""
    try:
        payload = json.loads(raw)
    except RecursionError:
        return None, problem(400, f"body is nested more than {MAX_JSON_DEPTH} deep")
    except (ValueError, UnicodeDecodeError):
        return None, problem(400, "body is not valid JSON")
    if not isinstance(payload, dict):
        return None, problem(400, "body must be a JSON object")
    why = _unfit(payload)
    if why:
        return None, problem(400, why)
    return payload, None


def _unfit(payload) -> str | None:
    """Why a parsed body cannot be taken (too deep, or a string that is not text), else None.
    Walked without recursion, so no depth can overflow the stack."""
    todo = [(payload, 1)]
    while todo:
        value, depth = todo.pop()
        if depth > MAX_JSON_DEPTH:
            return f"body is nested more than {MAX_JSON_DEPTH} deep"
        if isinstance(value, dict):
            todo.extend((k, depth) for k in value)
            todo.extend((v, depth + 1) for v in value.values())
        elif isinstance(value, list):
            todo.extend((v, depth + 1) for v in value)
        elif isinstance(value, str):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:  # a lone surrogate (`\ud800`) is valid JSON, not text
                return "body has a string that is not valid Unicode (a lone surrogate)"
    return None


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
    if outcome.status == PARKED:  # stored for a bulk drain: it names the drain it queued, if any
        return accepted(outcome.job_id or "bulk-sync", event=event, parked=True, **extra)
    if job.coalesce_profile:
        extra["coalesced"] = outcome.status == COALESCED
    return accepted(outcome.job_id, event=event, **extra)
