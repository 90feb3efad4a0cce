"""POST /webhooks/zendesk: Zendesk ticket events from an event-subscribed webhook (and user
events from the second one, handed to web/zendesk_user_webhooks.py once verified).

Verify the signature (and its timestamp), validate the event, keep only the event types the
TICKET_EVENTS setting names, dedupe by the event id, and enqueue the interaction job.
"""
from __future__ import annotations

from flask import Blueprint, request
from marshmallow import ValidationError

from integration import interactions, jobs
from integration.apis.zendesk_events import USER_EVENT_PREFIX
from integration.apis.signatures import verify_zendesk
from web import zendesk_user_webhooks
from web.delivery import enqueue_once, read_json_object, signed_body
from web.responses import ignored, problem
from web.schemas import ZendeskTicketEvent, first_error
from workers.intake import Job

bp = Blueprint("zendesk_webhooks", __name__)
TICKET_EVENT = ZendeskTicketEvent()


@bp.post("/webhooks/zendesk")
def receive():
    ext, raw, refusal = signed_body(
        lambda s, raw: verify_zendesk(s.zendesk_webhook_secret, raw,
                                      request.headers.get("X-Zendesk-Webhook-Signature"),
                                      request.headers.get("X-Zendesk-Webhook-Signature-Timestamp")),
        "missing or wrong X-Zendesk-Webhook-Signature, or a "
        "X-Zendesk-Webhook-Signature-Timestamp more than 5 minutes off")
    if refusal:
        return refusal
    payload, refusal = read_json_object(raw)
    if refusal:
        return refusal
    if str(payload.get("type", "")).startswith(USER_EVENT_PREFIX):  # the user-events webhook's
        return zendesk_user_webhooks.receive(ext, payload)
    try:
        body = TICKET_EVENT.load(payload)
    except ValidationError as exc:
        return problem(400, first_error(exc.messages))

    event_type = body["type"]
    if event_type not in ext.settings.ticket_events:
        return ignored(f"event {event_type} is not acted on (TICKET_EVENTS)")
    activity = interactions.classify(body)
    if activity is None:
        return ignored(f"this {event_type} event is not recorded as an interaction")
    job = interactions.ticket_job(body, activity)
    return enqueue_once(ext, "zendesk", job["event_id"], event_type,
                        Job(jobs.TICKET_INTERACTION, [job]), kind=activity.kind)
