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
3. Link sweep: a profile deleted without a webhook leaves a Zendesk user that may never change
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
import uuid
from datetime import datetime, timezone
from typing import Callable

from integration import keys, mapping, retry, zendesk_users
from integration.context import Context
from integration.errors import ApiError
from integration.lease import Lease
from integration.paging import PagingStalled
from integration.profiles import is_gone
from integration.requesters import linked_profile
from integration.sync import sync_profile
from integration.redis_values import text

log = logging.getLogger(__name__)

PAGE_SIZE = 100  # Omneo profiles a page, and so external ids a Zendesk show_many
EXPORT_PAGE_SIZE = 1000  # users a page of the incremental export (its maximum)
LEASE_SECONDS = 300  # extended after every page; frees the lock soon after a holder dies
RUNS_KEPT = 50
ERRORS_KEPT = 20

SWEEP_PER_RUN = 2000  # synced profiles checked for deletion a run (one Omneo read per 100)

COUNTS = ("profiles_checked", "users_checked", "links_checked", "in_step", "missing_created", "drifted_repaired",
          "orphans_erased", "orphans_claimed", "dead_lettered", "errors")

Erase = Callable[[str, str], None]  # (profile id, Zendesk user id): queue the erasure


class Watermark:
    """The furthest point before which everything was done.

    `done(point)` moves it to `point` unless something earlier failed; `failed()` freezes it
    for the rest of the run. Points must come in ascending order."""

    def __init__(self, start):
        self.value = start
        self.frozen = False

    def done(self, point) -> None:
        if not self.frozen and point is not None:
            self.value = point

    def failed(self) -> None:
        self.frozen = True


class Run:
    def __init__(self, ctx: Context, erase: Erase, trigger: str, budget_seconds: float | None,
                 lease: Lease, clock: Callable[[], float] = time.monotonic):
        self.ctx, self.erase, self.lease, self.clock = ctx, erase, lease, clock
        self.started = clock()
        self.deadline = self.started + budget_seconds if budget_seconds else None
        self.counts = dict.fromkeys(COUNTS, 0)
        self.errors: list[dict] = []
        self.seen_profiles: set[str] = set()
        self.complete = True
        self.report = {"id": uuid.uuid4().hex[:12], "trigger": trigger, "started_at": _iso(time.time())}

    # time and the lease
    def keep_going(self) -> bool:
        if not self.lease.extend():
            self._error(None, RuntimeError("lost the reconciliation lock"), stage="lease")
            self.complete = False
            return False
        if self.deadline is not None and self.clock() >= self.deadline:
            self.complete = False
            return False
        return True

    # bookkeeping
    def _error(self, profile_id: str | None, exc: BaseException, stage: str) -> None:
        self.counts["errors"] += 1
        if len(self.errors) < ERRORS_KEPT:
            entry = {"stage": stage, "type": type(exc).__name__, "message": str(exc)[:300]}
            if isinstance(exc, ApiError):
                entry.update(api=exc.api, status=exc.status)
            if profile_id:
                entry["profile_id"] = profile_id
            self.errors.append(entry)
        log.warning("reconciliation step failed", extra={
            "stage": stage, "profile_id": profile_id, "error_type": type(exc).__name__,
            "status": getattr(exc, "status", None)})

    def _dead_letter(self, profile_id: str, exc: ApiError) -> None:
        self.ctx.dead_letters.add_failed_sync(profile_id, exc.describe(), "reconciliation repair failed")
        self.counts["dead_lettered"] += 1

    def guarded(self, profile_id: str, step: Callable[[], str], stage: str) -> bool:
        """Run one repair; count its outcome. False when it failed in a way worth retrying."""
        try:
            self.counts[step()] += 1
            return True
        except Exception as exc:
            self._error(profile_id, exc, stage)
            if retry.fault(exc) == retry.PERMANENT:  # retrying cannot fix it: a dead letter
                self._dead_letter(profile_id, exc)
                return True
            # a wait (a sync holds the profile now) or an outage: hold the watermark, carry on
            return False

    # repairs
    def resync(self, profile_id: str, outcome: str) -> str:
        result = sync_profile(self.ctx, profile_id, force=True)
        return outcome if result.get("outcome") in ("created", "updated") else "in_step"

    def orphan(self, profile_id: str, user: dict) -> str:
        """A Zendesk user whose profile is gone: erase it, unless a live profile claims it."""
        claimant = linked_profile(self.ctx, str(user["id"]))
        if claimant is not None and str(claimant.get("id")) != profile_id:
            return "orphans_claimed"
        self.erase(profile_id, str(user["id"]))
        return "orphans_erased"

    def check_profile(self, profile: dict, user: dict | None) -> str:
        profile_id = str(profile["id"])
        if is_gone(profile):
            return self.orphan(profile_id, user) if user else "in_step"
        if self.ctx.state.is_erased(profile_id):
            return "in_step"
        if user is None:
            return self.resync(profile_id, "missing_created")
        wanted = mapping.zendesk_user(profile, self.ctx.settings.sync_attributes)
        if mapping.drifted(wanted, user):
            return self.resync(profile_id, "drifted_repaired")
        return "in_step"

    def check_user(self, user: dict, profile: dict | None) -> str:
        profile_id = str(user["external_id"])
        live = not is_gone(profile)
        if not zendesk_users.is_present(user):
            if live and not self.ctx.state.is_erased(profile_id) \
                    and self.ctx.zendesk.find_user_by_external_id(profile_id) is None:
                return self.resync(profile_id, "missing_created")
            return "in_step"
        if not live:
            return self.orphan(profile_id, user)
        return self.check_profile(profile, user)

    # the two sides
    def omneo_side(self, since: str | None) -> None:
        mark = Watermark(since)
        page, seen_at_since, last_ids, repeats = 1, set(), None, 0
        while self.keep_going():
            try:
                rows, _ = self.ctx.omneo.profiles_page(page=page, page_size=PAGE_SIZE,
                                                       sort="updated_at,id", updated_since=since)
                # moving `since` up may fetch the same page once more; a third time, the API
                # is ignoring the filter and paging would never end
                ids = [str(p["id"]) for p in rows]
                repeats, last_ids = (repeats + 1 if ids and ids == last_ids else 0), ids
                if repeats >= 2:
                    raise PagingStalled("omneo", "reconciliation's profile pages: the API answered "
                                                 "the same page again; stopped")
                fresh = [p for p in rows if str(p["id"]) not in seen_at_since]
                ids = [str(p["id"]) for p in fresh]
                users = {(u.get("external_id") or "").lower(): u
                         for u in self.ctx.zendesk.show_many(external_ids=ids)} if ids else {}
            except Exception as exc:
                self._error(None, exc, "omneo profiles")
                self.complete = False
                return
            for profile in fresh:
                profile_id = str(profile["id"])
                self.counts["profiles_checked"] += 1
                self.seen_profiles.add(profile_id)
                user = users.get(profile_id.lower())
                if self.guarded(profile_id, lambda: self.check_profile(profile, user), "omneo profile"):
                    mark.done(profile.get("updated_at"))
                else:
                    mark.failed()
            if mark.value:
                self.ctx.redis.hset(keys.RECONCILE_STATE, "omneo_watermark", mark.value)
            if len(rows) < PAGE_SIZE:
                return
            # keyset on updated_at; page numbers only within one timestamp shared by many profiles
            last = rows[-1].get("updated_at")
            if last != since:
                since, page = last, 1
                seen_at_since = {str(p["id"]) for p in rows if p.get("updated_at") == last}
            else:
                page += 1
                seen_at_since |= {str(p["id"]) for p in rows}

    def zendesk_side(self, cursor: str | None) -> None:
        pages = self.ctx.zendesk.iter_users_since(start_time=0, cursor=cursor,
                                                  per_page=EXPORT_PAGE_SIZE)
        frozen = False
        while self.keep_going():
            try:
                users, page = next(pages)
            except StopIteration:
                return
            except Exception as exc:
                self._error(None, exc, "zendesk export")
                self.complete = False
                return
            ok = self.check_users(users)
            frozen = frozen or not ok
            if not frozen and page.get("after_cursor"):
                self.ctx.redis.hset(keys.RECONCILE_STATE, "zendesk_cursor", page["after_cursor"])
            if page.get("end_of_stream"):
                return

    def check_users(self, users: list[dict]) -> bool:
        ours = [u for u in users if u.get("external_id") and zendesk_users.is_end_user(u)
                and str(u["external_id"]) not in self.seen_profiles]
        if not ours:
            return True
        try:
            profiles = self.ctx.omneo.find_profiles([str(u["external_id"]) for u in ours])
        except Exception as exc:
            self._error(None, exc, "omneo profiles")
            return False
        all_ok = True
        for user in ours:
            profile_id = str(user["external_id"])
            self.counts["users_checked"] += 1
            self.seen_profiles.add(profile_id)

            def step(user=user, profile_id=profile_id):
                # absent from the batch answer: confirm one by one before calling it deleted
                profile = profiles.get(profile_id) or self.ctx.omneo.find_profile(profile_id)
                return self.check_user(user, profile)

            all_ok = self.guarded(profile_id, step, "zendesk user") and all_ok
        return all_ok

    def sweep_links(self, cursor: str | None) -> None:
        prefix = keys.synced("")
        position, checked = int(cursor or 0), 0
        while checked < SWEEP_PER_RUN and self.keep_going():
            position, found = self.ctx.redis.scan(position, match=prefix + "*", count=500)
            ids = [k for k in (text(key)[len(prefix):] for key in found) if k not in self.seen_profiles]
            if ids and not self.check_links(ids):
                return  # hold the sweep cursor; this slice is looked at again next run
            checked += len(ids)
            self.ctx.redis.hset(keys.RECONCILE_STATE, "sweep_cursor", str(position))
            if position == 0:  # a whole pass is done; the next run starts another
                return

    def check_links(self, ids: list[str]) -> bool:
        try:
            profiles = self.ctx.omneo.find_profiles(ids)
        except Exception as exc:
            self._error(None, exc, "omneo profiles")
            return False
        all_ok = True
        for profile_id in ids:
            self.counts["links_checked"] += 1
            if profile_id in profiles:
                continue

            def step(profile_id=profile_id):
                mark = self.ctx.state.get_synced(profile_id)
                profile = self.ctx.omneo.find_profile(profile_id)
                if mark is None or self.ctx.state.is_erased(profile_id) or \
                        not is_gone(profile):
                    return "in_step"
                return self.orphan(profile_id, {"id": mark["zendesk_user_id"]})

            all_ok = self.guarded(profile_id, step, "link sweep") and all_ok
        return all_ok

    def finish(self) -> dict:
        self.report.update(
            finished_at=_iso(time.time()), duration_seconds=round(self.clock() - self.started, 3),
            complete=self.complete, counts=self.counts, errors=self.errors, outcome="done")
        return self.report


def run(ctx: Context, *, erase: Erase, trigger: str = "manual", budget_seconds: float | None = None,
        min_interval_seconds: float | None = None) -> dict:
    """Reconcile once, unless another run holds the lock (or, with `min_interval_seconds`, one
    finished that recently: several beat processes then still make one run an interval).
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
        current.omneo_side(state.get("omneo_watermark") or None)
        current.zendesk_side(state.get("zendesk_cursor") or None)
        current.sweep_links(state.get("sweep_cursor") or None)
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



def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
