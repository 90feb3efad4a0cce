"""Reconciliation: make Omneo and Zendesk converge when webhooks were lost or users edited by hand.

`run(ctx, erase=...)` is a plain function; the beat task and `omneo-zendesk reconcile run` call it.
One run, under a deployment-wide Redis lease:

1. Omneo side: profiles changed since the Omneo watermark, oldest first. Each page costs one Omneo
   read and one Zendesk `show_many`; a profile with no Zendesk user is synced, one whose user
   drifted from what the profile says is re-synced (bypassing the unchanged-fingerprint
   shortcut), a profile Omneo marks deleted whose user remains is an orphan.
2. Zendesk side: users changed since the export cursor (cursor-based incremental export, which
   has its own 10 requests a minute). A user whose `external_id` names a deleted profile is an
   orphan, erased by the erasure task unless a live profile still claims it; a soft-deleted user
   of a live profile is re-created; a live one is checked for drift.
3. Ticket events: updates in Zendesk's incremental ticket event export since its own watermark
   become the interactions their webhooks would have made, unless those are there already
   (`integration.reconcile.ticket_events`).
4. Link sweep: a profile deleted without a webhook leaves a Zendesk user that may never change
   again, so the export would never show it. A slice of the profiles we synced (their sync
   watermarks) is checked against Omneo each run, resuming a Redis SCAN cursor, so every link is
   looked at every few runs; a profile Omneo no longer has is an orphan as above.

Watermark and cursor only advance over work done: a profile or page that failed for a reason
retrying can fix holds them where they were, so the next run looks again. A permanent failure is
dead-lettered as a replayable sync job and does not hold them. Progress is saved page by page.
Each run leaves a report (counts, duration, errors) in Redis.
"""
from __future__ import annotations

import json
import logging
import time

from integration.store import keys
from integration.wiring import Context
from integration.store.locks import Lease
from integration.reconcile.passes import Run
from integration.reconcile.repairs import Erase
from integration.store.decoding import text
from integration.store import keys
from integration.reconcile import ticket_events
from integration.wiring import Context
from integration.store.locks import Lease
from integration.reconcile.passes import Run
from integration.reconcile.repairs import Erase
from integration.store.decoding import text

log = logging.getLogger(__name__)

LEASE_SECONDS = 300  # extended after every page; frees the lock soon after a holder dies
RUNS_KEPT = 50


def run(ctx: Context, *, erase: Erase, trigger: str = "manual", budget_seconds: float | None = None,
        min_interval_seconds: float | None = None, ticket_events_since: int | None = None) -> dict:
    """Reconcile once, unless another run holds the lock (or, with `min_interval_seconds`, one
    finished that recently: several beat processes then still make one run an interval).
    `ticket_events_since` (unix seconds) moves the ticket-event watermark there first.
    Returns the run's report, also kept under `keys.RECONCILE_RUNS`."""
    lease = Lease(ctx.redis, keys.RECONCILE_LOCK, LEASE_SECONDS)
    if not lease.acquire():
        return {"outcome": "skipped", "reason": "another reconciliation is running"}
    try:
        state = read_state(ctx)
        if min_interval_seconds and state.get("last_finished_at") and \
                time.time() - float(state["last_finished_at"]) < min_interval_seconds:
            return {"outcome": "skipped", "reason": "a reconciliation finished recently"}
        current = Run(ctx, erase, trigger, budget_seconds, lease)
        ticket_events_from = ticket_events.start_time(ctx, ticket_events_since)
        current.omneo_side(state.get("omneo_watermark") or None)
        current.zendesk_side(state.get("zendesk_cursor") or None)
        ticket_events.recover(current, ticket_events_from)
        current.sweep_links(state.get("sweep_bucket") or None)
        report = current.finish()
        pipe = ctx.redis.pipeline()
        pipe.lpush(keys.RECONCILE_RUNS, json.dumps(report))
        pipe.ltrim(keys.RECONCILE_RUNS, 0, RUNS_KEPT - 1)
        if report["complete"]:
            pipe.hset(keys.RECONCILE_STATE, "last_finished_at", str(time.time()))
        pipe.execute()
        log.info("reconciliation finished", extra={"run_id": report["id"], **report["counts"],
                                                   "complete": report["complete"]})
        return report
    finally:
        lease.release()


def read_state(ctx: Context) -> dict:
    raw = ctx.redis.hgetall(keys.RECONCILE_STATE)
    return {text(k): text(v) for k, v in raw.items()}


def last_runs(ctx: Context, limit: int = 10) -> list[dict]:
    return [json.loads(raw) for raw in ctx.redis.lrange(keys.RECONCILE_RUNS, 0, limit - 1)]
