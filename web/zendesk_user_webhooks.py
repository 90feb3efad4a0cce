"""User events on `POST /webhooks/zendesk` (already verified by its signature): validate, keep
the types we act on, dedupe by the event id, and enqueue the repair job on the sync queue."""
from __future__ import annotations

from marshmallow import ValidationError

from integration import jobs
from integration.profiles import user_events
from integration.apis.zendesk_events import USER_EVENTS
from web.delivery import enqueue_once
from web.responses import ignored, problem
from web.schemas import ZendeskUserEvent, first_error
from workers.intake import Job

USER_EVENT = ZendeskUserEvent()


def receive(ext, payload: dict):
    try:
        body = USER_EVENT.load(payload)
    except ValidationError as exc:
        return problem(400, first_error(exc.messages))
    if body["type"] not in USER_EVENTS:
        return ignored(f"user event {body['type']} is not acted on")
    job = user_events.user_job(body)
    if job is None:
        return ignored(f"this {body['type']} event needs no repair")
    return enqueue_once(ext, "zendesk", job["event_id"], body["type"], Job(jobs.ZENDESK_USER_EVENT, [job]),
                        kind=job["kind"])
