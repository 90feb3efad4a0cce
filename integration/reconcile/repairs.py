"""Reconciliation's repairs: a profile with no user is synced, a drifted user re-synced, an
orphan erased unless a live profile claims it; each counted, and a failure sorted by
`integration.retry` (a permanent one is dead-lettered, any other holds the run's watermark)."""
from __future__ import annotations

import logging
import time
import uuid
from datetime import datetime, timezone
from typing import Callable

from integration import retry
from integration.profiles import mapping, user_rules
from integration.wiring import Context
from integration.errors import ApiError
from integration.store.locks import Lease
from integration.profiles.profile_rules import is_gone
from integration.profiles.requesters import linked_profile
from integration.profiles.sync import sync_profile

log = logging.getLogger("integration.reconcile")  # the name its log lines always had

ERRORS_KEPT = 20
COUNTS = ("profiles_checked", "users_checked", "links_checked", "in_step", "missing_created", "drifted_repaired",
          "orphans_erased", "orphans_claimed", "ticket_updates_read", "interactions_recovered",
          "ticket_events_already_recorded", "ticket_events_skipped", "dead_lettered", "errors")

Erase = Callable[[str, str], None]  # (profile id, Zendesk user id): queue the erasure


class Repairs:
    """One run's repairs of what it finds out of step, and its bookkeeping: counts, errors (kept
    without personal data), the lease and the time budget."""

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
        if not user_rules.is_present(user):
            if live and not self.ctx.state.is_erased(profile_id) \
                    and self.ctx.zendesk.find_user_by_external_id(profile_id) is None:
                return self.resync(profile_id, "missing_created")
            return "in_step"
        if not live:
            return self.orphan(profile_id, user)
        return self.check_profile(profile, user)

    def finish(self) -> dict:
        self.report.update(
            finished_at=_iso(time.time()), duration_seconds=round(self.clock() - self.started, 3),
            complete=self.complete, counts=self.counts, errors=self.errors, outcome="done")
        return self.report


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
