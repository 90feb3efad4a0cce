"""Ticket events the webhook never delivered (receiver or Redis down, a bad deploy, a rotated
secret, Zendesk's circuit breaker open) recovered from Zendesk's incremental ticket event export.

Reconciliation runs this pass under its lease. It reads the export from its own watermark (unix
seconds, `keys.TICKET_EVENTS_WATERMARK` in the reconciliation state), turns each update matching
`TICKET_EVENTS` into the job the webhook would have queued (`ticket_event_export`) and records it
with `interactions.record_ticket_event`, which keys an interaction by ticket and activity: one a
webhook already made is a duplicate, and a webhook arriving later finds this one.

- The watermark starts at the first run's time (or `reconcile run --since`), never at the
  account's beginning, and moves to a page's `end_time` only once every update of that page and
  of the pages before it is recorded, skipped or dead-lettered; a failure retrying can fix (an
  outage, a lock, a limit) freezes it for the rest of the run, so the next run reads again.
- The export is held to its own 10 requests a minute by the client's export limiter, beside
  the account budget; its tickets are read 100 a call (`show_many`) where an update does not say
  who requested the ticket or what it is about, and the requesters 100 a call too.
"""
from __future__ import annotations

import time

from integration import jobs, retry
from integration.store import keys
from integration.interactions import interaction_key, record_ticket_event
from integration.apis.paths import ZENDESK_ID, checked
from integration.reconcile.repairs import Repairs
from integration.reconcile.ticket_event_export import update_jobs

SHOW_MANY = 100  # tickets, or users, a `show_many` call (its maximum)


def start_time(ctx, since: int | None = None) -> int:
    """Where this run reads from: `since` when given, else the watermark, else now (saved, so a
    first run that stops early still never reaches back further)."""
    if since is None:
        saved = ctx.redis.hget(keys.RECONCILE_STATE, keys.TICKET_EVENTS_WATERMARK)
        if saved:
            return int(float(saved))
        since = int(time.time())
    ctx.redis.hset(keys.RECONCILE_STATE, keys.TICKET_EVENTS_WATERMARK, str(int(since)))
    return int(since)


def recover(run: Repairs, start: int) -> None:
    """Read the export from `start` to its end (or the run's budget), recording what is missing."""
    ctx = run.ctx
    wanted = set(ctx.settings.ticket_events)
    pages = ctx.zendesk.iter_ticket_events(start)
    seen: set = set()  # updates read this run: consecutive pages share their boundary second
    frozen = False
    while run.keep_going():
        try:
            page = next(pages)
        except StopIteration:
            return
        except Exception as exc:
            run._error(None, exc, "zendesk ticket event export")
            # a refusal (a 403 for a missing scope) is in the report; a continuation would meet it again
            if retry.fault(exc) != retry.PERMANENT:
                run.complete = False
            return
        fresh = [u for u in page.get("ticket_events") or []
                 if isinstance(u, dict) and u.get("id") is not None and u.get("id") not in seen]
        seen.update(u.get("id") for u in fresh)
        run.counts["ticket_updates_read"] += len(fresh)
        found = [job for update in fresh for job in update_jobs(update, wanted)]
        frozen = not _record_all(run, found) or frozen
        if not frozen and page.get("end_time") is not None:
            ctx.redis.hset(keys.RECONCILE_STATE, keys.TICKET_EVENTS_WATERMARK, str(int(page["end_time"])))
        if page.get("end_of_stream"):
            return


def _record_all(run: Repairs, found: list[dict]) -> bool:
    """Record each job not done yet; False when one failed in a way retrying can fix."""
    ctx = run.ctx
    if not found:
        return True
    done = ctx.redis.mget([keys.interaction_done(interaction_key(j)) for j in found])
    pending = [job for job, mark in zip(found, done) if not mark]
    run.counts["ticket_events_already_recorded"] += len(found) - len(pending)
    # the tickets say the requester an update may not name, and the subject as it is now
    wanted = sorted({j["ticket_id"] for j in pending if _fits(j["ticket_id"])}, key=int)
    try:
        tickets = _many(wanted, ctx.zendesk.show_many_tickets)
        for i, job in enumerate(pending):
            ticket = tickets.get(job["ticket_id"])
            if ticket is not None and not job["requester_id"]:  # absent: record_ticket_event asks
                pending[i] = dict(job, requester_id=str(ticket["requester_id"]) if ticket.get("requester_id") else None)
        requesters = sorted({j["requester_id"] for j in pending if j["requester_id"] and _fits(j["requester_id"])},
                            key=int)
        users = _many(requesters, lambda ids: ctx.zendesk.show_many(ids=ids))
    except Exception as exc:
        run._error(None, exc, "zendesk tickets and requesters")
        return False
    all_ok = True
    for job in pending:
        all_ok = _record(run, job, users.get(job["requester_id"]), tickets.get(job["ticket_id"])) and all_ok
    return all_ok


def _many(ids: list[str], show_many) -> dict[str, dict]:
    """Records by id, read `SHOW_MANY` a call."""
    found: dict[str, dict] = {}
    for i in range(0, len(ids), SHOW_MANY):
        for record in show_many(ids[i:i + SHOW_MANY]):
            found[str(record.get("id"))] = record
    return found


def _fits(zendesk_id) -> bool:
    return isinstance(zendesk_id, str) and bool(ZENDESK_ID.fullmatch(zendesk_id))


def _record(run: Repairs, job: dict, requester: dict | None, ticket: dict | None) -> bool:
    ctx = run.ctx
    try:
        checked("zendesk", "Zendesk ticket id", job["ticket_id"], ZENDESK_ID)
        result = record_ticket_event(ctx, job, look_first=True, requester=requester, ticket=ticket)
    except Exception as exc:
        profile_id = getattr(exc, "profile_id", None)
        run._error(profile_id, exc, "ticket event")
        if retry.fault(exc) != retry.PERMANENT:
            return False
        ctx.dead_letters.add(task=jobs.TICKET_INTERACTION.name, args=[job], kwargs={},
                             error=dict(retry.describe(exc), reason="ticket event recovery failed"),
                             attempts=1, profile_id=profile_id, zendesk_user_id=job.get("requester_id"))
        run.counts["dead_lettered"] += 1
        return True
    outcome = result["outcome"]
    if outcome == "created":
        run.counts["interactions_recovered"] += 1
    elif outcome == "skipped":
        run.counts["ticket_events_skipped"] += 1
    else:  # made meanwhile by the webhook path (or by an attempt that crashed after posting)
        run.counts["ticket_events_already_recorded"] += 1
    return True
