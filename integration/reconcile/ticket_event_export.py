"""What a ticket update in Zendesk's incremental ticket event export means to Omneo: the same
interaction jobs the webhook path makes (`interactions.ticket_job`), so both paths post the same
interaction and share its key.

An update (`event_type` "Audit") lists what changed in it as `child_events`, each naming the
field it set as a key of its own, with `previous_value` on a change:
- `Create` children: the ticket was created (`subject`, `requester_id`, `status`, ...);
- a `Change` of `status` to solved: "Ticket solved", as a `ticket.status_changed` to SOLVED;
- a `Change` of `satisfaction_score` to good or bad (or a `SatisfactionRating` child with a
  `score`): "Ticket rated good|bad", as a `ticket.csat_received`;
- a `Comment` outside a creation: "Ticket comment added" (without the `comment_events`
  sideload only `comment_present`/`comment_public` are shown, never the comment).
An update carries only what changed: who requested the ticket and its subject are known only
when the update created it; `None` here means "read it from the ticket".
"""
from __future__ import annotations

from datetime import datetime, timezone

from integration.interactions import ACTIVITIES, SOLVED, satisfaction_score
from integration.apis.zendesk_events import (TICKET_COMMENT_ADDED, TICKET_CREATED, TICKET_CSAT_RECEIVED,
                                        TICKET_STATUS_CHANGED)


def _status(value) -> str:
    return str(value or "").strip().upper()


def _time(update: dict) -> str | None:
    if update.get("created_at"):
        return str(update["created_at"])
    try:
        return datetime.fromtimestamp(int(update["timestamp"]), timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (KeyError, TypeError, ValueError, OverflowError, OSError):
        return None  # omneo_time then takes the time it is recorded


def _found(child: dict, created: bool) -> tuple[str, str] | None:
    """(webhook event type, activity kind) one child event stands for, or None."""
    kind = child.get("event_type")
    if kind == "Change" and "status" in child:
        if _status(child["status"]) == SOLVED and _status(child.get("previous_value")) != SOLVED:
            return TICKET_STATUS_CHANGED, "solved"
        return None
    if (kind == "Change" and "satisfaction_score" in child) or kind == "SatisfactionRating":
        score = satisfaction_score({"satisfaction_score": child.get("satisfaction_score"),
                                    "score": child.get("score")})
        return (TICKET_CSAT_RECEIVED, f"rated_{score}") if score else None
    if kind == "Comment" and not created:
        return TICKET_COMMENT_ADDED, "commented"
    return None


def update_jobs(update: dict, wanted) -> list[dict]:
    """The interaction jobs one ticket update makes, for the webhook event types in `wanted`
    (the `TICKET_EVENTS` setting)."""
    if update.get("id") is None or update.get("ticket_id") is None:
        return []
    children = [c for c in update.get("child_events") or [] if isinstance(c, dict)]
    created = any(c.get("event_type") == "Create" for c in children)
    requester = subject = None
    for child in children:
        if child.get("event_type") == "Create":
            if child.get("requester_id"):
                requester = str(child["requester_id"])
            if "subject" in child:
                subject = child["subject"]
    found = [(TICKET_CREATED, "created", None)] if created else []
    for child in children:
        hit = _found(child, created)
        if hit:
            found.append((*hit, str(child["id"]) if child.get("id") is not None else None))
    jobs = []
    for event_type, kind, child_id in found:
        if event_type not in wanted or kind not in ACTIVITIES:
            continue
        job = {"event_id": str(update["id"]), "event_type": event_type, "kind": kind,
               "time": _time(update), "ticket_id": str(update["ticket_id"]),
               "requester_id": requester, "subject": subject}
        if kind == "commented":
            job["comment_id"] = child_id
        jobs.append(job)
    return jobs
