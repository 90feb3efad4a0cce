"""What erasure does with the customer's Zendesk tickets (ERASURE_TICKETS).

- `wait`: tickets stay. Zendesk will not delete an end user who requests a ticket that is not
  closed ("Deleting end users"; solved is not closed), so while one is left the user is cleared
  of everything we synced but the email the conversation needs (`clear_user`), and the erasure
  waits (`integration.store.pending_erasures`).
- `delete`: every ticket the user requested is deleted, then deleted permanently (Bulk Delete
  Tickets, then Delete Multiple Tickets Permanently: 100 ids a call, each a background job
  followed to its end), before the user goes.

The ids soft-deleted are kept in Redis until their permanent deletion is done, so a run that
stops between the two steps is finished by the next one (a soft-deleted ticket is no longer
listed among the user's tickets).
"""
from __future__ import annotations

import logging
import time

from integration.profiles import tier_field
from integration.store import keys
from integration.wiring import Context
from integration.errors import TransientError

log = logging.getLogger(__name__)

WAIT, DELETE = "wait", "delete"
CLOSED = "closed"
PLACEHOLDER_NAME = "Erased customer"
BATCH = 100  # ids a bulk deletion takes
JOB_POLL_SECONDS = 0.5
JOB_WAIT_SECONDS = 60.0  # a job still running after this is looked at again on the next try


class TicketJobUnfinished(TransientError):
    """A ticket deletion job did not finish in time (or failed); the erasure tries again."""


def open_tickets(ctx: Context, user_id: str) -> int:
    """How many tickets the user requests that are not closed (they hold the user's deletion)."""
    return sum(1 for t in ctx.zendesk.requested_tickets(user_id)
               if str(t.get("status") or "").lower() != CLOSED)


def clear_user(ctx: Context, user_id: str, user: dict | None) -> None:
    """Everything we synced to the user but the email: a neutral name, no phone, no tier field,
    no tags, no external id (so nothing of ours names it any longer)."""
    changes: dict = {"name": PLACEHOLDER_NAME, "phone": None, "tags": [], "external_id": None}
    if tier_field.KEY in ((user or {}).get("user_fields") or {}):
        changes["user_fields"] = {tier_field.KEY: None}
    ctx.zendesk.update_user(user_id, changes)


def delete_all(ctx: Context, profile_id: str, user_id: str) -> int:
    """Delete, then permanently delete, every ticket the user requested; how many were."""
    doomed = keys.erasure_tickets(profile_id)
    listed = [int(t["id"]) for t in ctx.zendesk.requested_tickets(user_id)]
    if listed:
        ctx.redis.sadd(doomed, *listed)  # before the deletion: a crash after it still purges them
    for chunk in _chunks(listed):
        _follow(ctx, ctx.zendesk.delete_tickets(chunk), "deletion")
    pending = sorted(int(i) for i in ctx.redis.smembers(doomed))
    for chunk in _chunks(pending):
        _follow(ctx, ctx.zendesk.delete_tickets_permanently(chunk), "permanent deletion")
    return len(pending)


def _chunks(ids: list[int]) -> list[list[int]]:
    return [ids[i:i + BATCH] for i in range(0, len(ids), BATCH)]


def _follow(ctx: Context, job: dict, what: str, sleep=time.sleep) -> dict:
    """Poll a ticket job's status until it completes; raise TicketJobUnfinished otherwise."""
    deadline = time.monotonic() + JOB_WAIT_SECONDS
    while job.get("status") not in ("completed", "failed"):
        if time.monotonic() > deadline:
            raise TicketJobUnfinished("zendesk", f"ticket {what} job {job.get('id')} still "
                                                 f"{job.get('status')}; erasure tries again")
        sleep(JOB_POLL_SECONDS)
        found = ctx.zendesk.get_job_statuses([job["id"]])
        job = found[0] if found else {"id": job["id"], "status": "missing"}
    if job["status"] != "completed":
        raise TicketJobUnfinished("zendesk", f"ticket {what} job {job.get('id')} failed; "
                                             "erasure tries again")
    failed = [r for r in job.get("results") or [] if isinstance(r, dict) and r.get("success") is False]
    if failed:
        log.warning("tickets not deleted", extra={"job": job.get("id"), "step": what,
                                                  "count": len(failed)})
    return job
