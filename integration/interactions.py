"""Zendesk ticket events become Omneo Interactions: what an event means, whose it is, and once only.

The receiver calls `classify` (is this event one we record, and as what?) and `ticket_job` (the
small job it enqueues); the worker calls `record_ticket_event` with that job.
"""
from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from datetime import datetime, timezone

from integration.profiles import mapping, requesters
from integration.store import keys
from integration.wiring import Context
from integration.errors import NotFound, PermanentError
from integration.profiles.guard import run_on_live_profile
from integration.profiles.profile_rules import set_link
from integration.store.decoding import text
from integration.apis.zendesk_events import (TICKET_COMMENT_ADDED, TICKET_CREATED, TICKET_CSAT_RECEIVED,
                                        TICKET_STATUS_CHANGED)
from integration.profiles.profile_rules import set_link
from integration.store.decoding import text
from integration.apis.zendesk_events import (TICKET_COMMENT_ADDED, TICKET_CREATED, TICKET_CSAT_RECEIVED,
                                        TICKET_STATUS_CHANGED, ticket_status)

log = logging.getLogger(__name__)

SOLVED = "SOLVED"
MARK_TTL = 30 * 24 * 3600  # how long an event is remembered as recorded (or skipped)
SKIPPED_LOG_LENGTH = 1000


@dataclass(frozen=True)
class Activity:
    kind: str
    name: str
    signal: int


# A good rating counts as +1: the customer says outright that the service was good, which is at
# least as positive a signal as the ticket being solved.
ACTIVITIES = {a.kind: a for a in (
    Activity("created", "Ticket created", 0),
    Activity("solved", "Ticket solved", 1),
    Activity("rated_good", "Ticket rated good", 1),
    Activity("rated_bad", "Ticket rated bad", -1),
    Activity("commented", "Ticket comment added", 0),
)}


def satisfaction_score(event: dict) -> str | None:
    """"good" or "bad" from a `ticket.csat_received` event object, else None.

    Zendesk documents the event type but its example body is thin, so every place the score is
    plausibly carried is read: `satisfaction_score`, `current`, `score` or `rating`, each either
    the score itself or an object with a `score`. Legacy scores such as "good_with_comment"
    count by their first word; "offered"/"unoffered" are not ratings.
    """
    for key in ("satisfaction_score", "current", "score", "rating"):
        value = event.get(key)
        if isinstance(value, dict):
            value = value.get("score", value.get("value"))
        if isinstance(value, str):
            word = value.strip().lower()
            if word.startswith("good"):
                return "good"
            if word.startswith("bad"):
                return "bad"
    return None


def classify(payload: dict) -> Activity | None:
    """What a Zendesk ticket event means to Omneo, or None for one we do not record."""
    kind = payload.get("type")
    inner = payload.get("event") if isinstance(payload.get("event"), dict) else {}
    if kind == TICKET_CREATED:
        return ACTIVITIES["created"]
    if kind == TICKET_STATUS_CHANGED:
        if ticket_status(inner.get("current")) == SOLVED and ticket_status(inner.get("previous")) != SOLVED:
            return ACTIVITIES["solved"]
        return None
    if kind == TICKET_CSAT_RECEIVED:
        score = satisfaction_score(inner)
        return ACTIVITIES[f"rated_{score}"] if score else None
    if kind == TICKET_COMMENT_ADDED:
        return ACTIVITIES["commented"]
    return None


def ticket_job(payload: dict, activity: Activity) -> dict:
    """The job the receiver enqueues: ids and the event's kind and time only. No subject, comment
    or email: a job's arguments are shown by Flower and kept by a dead letter, so the worker reads
    the ticket's subject from Zendesk when it writes the interaction."""
    detail = payload.get("detail") or {}
    job = {"event_id": str(payload["id"]), "event_type": payload["type"], "kind": activity.kind,
           "time": payload.get("time"), "ticket_id": str(detail["id"]),
           "requester_id": str(detail["requester_id"]) if detail.get("requester_id") else None}
    if activity.kind == "commented":
        comment = (payload.get("event") or {}).get("comment") or {}
        job["comment_id"] = str(comment["id"]) if isinstance(comment, dict) and comment.get("id") else None
    return job


def interaction_key(job: dict) -> str:
    """What makes an interaction one: its ticket and activity (and, for a comment, the comment).

    The webhook and the incremental export describe the same happening with different ids (a
    webhook event id, an export's audit id), so both paths mark and look up this key instead: an
    event delivered by both makes one interaction, whichever arrives first. A ticket solved again
    after it was reopened therefore counts once."""
    key = f"{job['ticket_id']}:{job['kind']}"
    if job["kind"] == "commented" and job.get("comment_id"):
        key += f":{job['comment_id']}"
    return key


def omneo_time(iso: str | None) -> str:
    """An ISO 8601 event time as Omneo writes timestamps ("2025-06-15 14:32:00", UTC)."""
    try:
        when = datetime.fromisoformat(str(iso).replace("Z", "+00:00"))
    except ValueError:
        when = datetime.now(timezone.utc)
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return when.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def build_interaction(ctx: Context, job: dict, profile_id: str) -> dict:
    s = ctx.settings
    activity = ACTIVITIES[job["kind"]]
    interaction = {
        "profile_id": profile_id, "action": "service", "channel": "support",
        "signal": activity.signal, "name": activity.name, "namespace": s.omneo_namespace,
        "url": f"{s.zendesk_base_url}/agent/tickets/{job['ticket_id']}",
        "interacted_at": omneo_time(job.get("time")),
        "meta": {"zendesk_ticket_id": job["ticket_id"], "zendesk_event_id": job["event_id"],
                 "zendesk_event_type": job["event_type"]},
    }
    if job.get("comment_id"):
        interaction["meta"]["zendesk_comment_id"] = job["comment_id"]
    if job.get("subject"):
        interaction["description"] = job["subject"]
    return interaction


# resolving the requester
@dataclass
class Match:
    profile: dict | None
    user: dict | None
    how: str | None = None
    reason: str | None = None


def resolve_requester(ctx: Context, requester_id: str, user: dict | None = None) -> Match:
    """The Zendesk user (read unless given) and its Omneo profile (`requesters.resolve`, from its
    external_id on)."""
    user = user or ctx.zendesk.find_user(requester_id)
    if user is None:
        return Match(None, None, reason="requester not found in Zendesk")
    found = requesters.resolve(ctx, str(user["id"]), user.get("email"), user.get("external_id"))
    return Match(found.profile, user, found.how, found.reason)


def link_requester(ctx: Context, match: Match) -> list[str]:
    """Write whichever half of the link is missing; never re-point a link that names someone else.

    Returns what was written ("identity", "external_id")."""
    profile_id, user_id = str(match.profile["id"]), str(match.user["id"])
    written = []
    identities = match.profile.get("identities")
    if identities is None:
        identities = ctx.omneo.list_identities(profile_id)
    if not mapping.identity_of({"identities": identities}, ctx.settings.omneo_identity_handle):
        set_link(ctx, profile_id, identities, user_id)
        written.append("identity")
    # An external_id that names no live profile may be another system's (SSO): left alone.
    if not (match.user.get("external_id") or "").strip():
        try:
            ctx.zendesk.update_user(user_id, {"external_id": profile_id})
            written.append("external_id")
        except PermanentError as exc:
            if exc.status != 422:  # 422: another Zendesk user already carries this profile id
                raise
            log.warning("external_id not written: taken by another Zendesk user",
                        extra={"profile_id": profile_id, "zendesk_user_id": user_id})
    return written


# recording
def _skip(ctx: Context, job: dict, reason: str, requester_id: str | None) -> dict:
    """Count and record a ticket event we cannot attribute; no personal data in the record."""
    if not ctx.redis.set(keys.interaction_done(interaction_key(job)), f"skipped: {reason}", nx=True,
                         ex=MARK_TTL):
        return {"outcome": "duplicate", "reason": "already recorded as skipped"}
    record = {"event_id": job["event_id"], "event_type": job["event_type"],
              "ticket_id": job["ticket_id"], "zendesk_user_id": requester_id,
              "reason": reason, "at": time.time()}
    pipe = ctx.redis.pipeline()
    pipe.incr(keys.INTERACTIONS_SKIPPED)
    pipe.lpush(keys.INTERACTIONS_SKIPPED_LOG, json.dumps(record))
    pipe.ltrim(keys.INTERACTIONS_SKIPPED_LOG, 0, SKIPPED_LOG_LENGTH - 1)
    pipe.execute()
    log.info("ticket event skipped", extra={"event_id": job["event_id"], "reason": reason})
    return {"outcome": "skipped", "reason": reason}


def _already_posted(ctx: Context, interaction: dict) -> dict | None:
    """The interaction a crashed attempt (of either path) may have posted: the same ticket,
    activity and comment in meta, or, should Omneo not echo meta, the same name and ticket URL
    (and time, for a comment)."""
    wanted = interaction["meta"]
    comment = wanted.get("zendesk_comment_id")
    for row in ctx.omneo.list_profile_interactions(interaction["profile_id"]):
        meta = row.get("meta") if isinstance(row.get("meta"), dict) else {}
        if meta:
            if (str(meta.get("zendesk_ticket_id")), row.get("name"), meta.get("zendesk_comment_id")) \
                    == (wanted["zendesk_ticket_id"], interaction["name"], comment):
                return row
        elif (row.get("name"), row.get("url")) == (interaction["name"], interaction["url"]) and \
                (comment is None or row.get("interacted_at") == interaction["interacted_at"]):
            return row
    return None


def _create_once(ctx: Context, key: str, interaction: dict, look_first: bool = False) -> tuple[str, str]:
    """Post the interaction unless its key (`interaction_key`) already has one; (outcome,
    interaction id).

    Exactly-once over an at-least-once queue, without a database of our own:
    - `done` (set after the post succeeds) makes a redelivery or re-run a no-op;
    - `intent` (set before the post) marks the one dangerous window: a worker that crashed, or
      lost the answer, after Omneo stored the interaction but before `done` was written. A
      re-run that finds `intent` without `done` first looks for the interaction in the
      profile's recent interactions and records it instead of posting again.
    - The caller holds the profile lock, so two runs of the same event never overlap.
    - `look_first` looks in the profile's interactions before any post: the recovery reads back
      over time whose marks may be gone (expired, or written under an older key).
    What remains: an Omneo that stored the post yet does not list it on the re-run (a lagging
    read), or a lost Redis write of `done`/`intent`; then a second interaction can appear.
    """
    done_key, intent_key = keys.interaction_done(key), keys.interaction_intent(key)
    done = ctx.redis.get(done_key)
    if done:
        return "duplicate", text(done)
    if look_first or ctx.redis.exists(intent_key):
        earlier = _already_posted(ctx, interaction)
        if earlier is not None:
            ctx.redis.set(done_key, str(earlier.get("id")), ex=MARK_TTL)
            ctx.redis.delete(intent_key)
            return "recovered", str(earlier.get("id"))
    ctx.redis.set(intent_key, "1", ex=MARK_TTL)
    created = ctx.omneo.create_interaction(interaction)
    pipe = ctx.redis.pipeline()
    pipe.set(done_key, str(created.get("id")), ex=MARK_TTL)
    pipe.delete(intent_key)
    pipe.execute()
    return "created", str(created.get("id"))


def record_ticket_event(ctx: Context, job: dict, look_first: bool = False,
                        requester: dict | None = None, ticket: dict | None = None) -> dict:
    """Create the one Interaction a ticket event stands for (or record why not). Idempotent, and
    shared by the webhook's jobs and the export's recovery (`interaction_key`; `look_first`: see
    `_create_once`; `requester`, `ticket`: the Zendesk user and ticket, when the caller read them
    already)."""
    key = interaction_key(job)
    done = ctx.redis.get(keys.interaction_done(key))
    if done:
        return {"outcome": "duplicate"}
    # the subject is Zendesk's word, read when the job runs (a webhook's job carries ids only; one
    # enqueued by an older release carried the subject, which is ignored); the export's recovery
    # passes the ticket it read 100 a call
    if ticket is None or str(ticket.get("id")) != job["ticket_id"]:
        try:
            ticket = ctx.zendesk.get_ticket(job["ticket_id"])
        except NotFound:
            return _skip(ctx, job, "ticket not found in Zendesk", job.get("requester_id"))
    requester_id = job.get("requester_id") or (
        str(ticket["requester_id"]) if ticket.get("requester_id") else None)
    job = dict(job, requester_id=requester_id, subject=ticket.get("subject"))
    if not requester_id:
        return _skip(ctx, job, "ticket has no requester", None)

    match = resolve_requester(ctx, requester_id,
                              requester if requester and str(requester.get("id")) == requester_id else None)
    if match.profile is None:
        return _skip(ctx, job, match.reason or "no Omneo profile", requester_id)
    profile_id = str(match.profile["id"])

    def record(_profile: dict) -> dict:
        linked = link_requester(ctx, match)
        outcome, interaction_id = _create_once(ctx, key, build_interaction(ctx, job, profile_id),
                                                   look_first)
        return {"outcome": outcome, "interaction_id": interaction_id, "matched_by": match.how,
                "linked": linked}
    return run_on_live_profile(ctx, profile_id, record, profile=match.profile,
                               skip=lambda reason: _skip(ctx, job, "profile was erased", requester_id))
