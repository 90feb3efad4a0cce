"""POST /webhooks/omneo: verify, validate, route on X-Omneo-Event, enqueue."""
from __future__ import annotations

import functools
import hashlib
import time

from flask import Blueprint, request
from marshmallow import ValidationError

from integration import jobs
from integration.apis import paths
from integration.apis.signatures import verify_omneo
from integration.profiles import mapping
from web.delivery import enqueue_once, read_json_object, signed_body
from web.responses import ignored, problem
from web.schemas import (OmneoIdentityEvent, OmneoMergeEvent, OmneoProfileDeleted, OmneoProfileEvent,
                         first_error)
from workers.intake import Job

bp = Blueprint("omneo_webhooks", __name__)

SYNC_EVENTS = {"profile.created", "profile.updated"}


def _sync(settings, body: dict):
    # the contact details' digest lets a person's edit mid-burst go alone (integration/bulk/parking.py)
    return Job(jobs.SYNC_PROFILE, [body["id"]], coalesce_profile=body["id"],
               updated_at=body.get("updated_at"),
               contact=mapping.body_contact_digest(body, settings.sync_attributes)), {}


def _merge(settings, body: dict):
    return (Job(jobs.MERGE_PROFILES, [body["id"], body["merged_ids"]]),
            {"merged_ids": body["merged_ids"]})


def _link(settings, body: dict):
    return Job(jobs.LINK_IDENTITY, [body["profile_id"], body["zendesk_user_id"]]), {}


def _erase(settings, body: dict):
    handle = settings.omneo_identity_handle
    linked = [str(i.get("identifier")) for i in body.get("identities") or []
              if i.get("handle") == handle and paths.is_id(i.get("identifier"), paths.ZENDESK_ID)]
    return Job(jobs.ERASE_PROFILE, [body["id"]],
               {"zendesk_user_id": linked[0] if linked else None, "requested_at": time.time()}), {}


HANDLERS = {event: _sync for event in SYNC_EVENTS}
HANDLERS.update({"profile.merged": _merge, "identity.created": _link, "identity.updated": _link,
                 "profile.deleted": _erase})


@functools.lru_cache(maxsize=32)
def schema_for(event: str, handle: str):
    """The body schema of an event (the profile itself unless named here), built once: a schema
    may load to {"ignore": reason} for a body that is valid but not for us."""
    if event == "profile.merged":
        return OmneoMergeEvent()
    if event in ("identity.created", "identity.updated"):
        return OmneoIdentityEvent(handle=handle)
    if event == "profile.deleted":
        return OmneoProfileDeleted()
    return OmneoProfileEvent()


@bp.post("/webhooks/omneo")
def receive():
    ext, raw, refusal = signed_body(
        lambda s, raw: verify_omneo(s.omneo_webhook_secret, raw, request.headers.get("X-Omneo-Hmac-SHA256")),
        "missing or wrong X-Omneo-Hmac-SHA256 signature")
    if refusal:
        return refusal
    event = (request.headers.get("X-Omneo-Event") or "").strip()
    if not event:
        return problem(400, "X-Omneo-Event header is required")
    payload, refusal = read_json_object(raw)
    if refusal:
        return refusal
    handler = HANDLERS.get(event)
    if handler is None:
        return ignored(f"event {event} is not acted on")
    try:
        body = schema_for(event, ext.settings.omneo_identity_handle).load(payload)
    except ValidationError as exc:
        return problem(400, first_error(exc.messages))
    if body.get("ignore"):
        return ignored(body["ignore"])

    delivery = hashlib.sha256(event.encode() + b"\n" + raw).hexdigest()
    job, extra = handler(ext.settings, body)
    return enqueue_once(ext, "omneo", delivery, event, job, **extra)
