"""Backfill: every Omneo profile becomes a Zendesk user, 100 users a request.

Profiles are read in id order with keyset pages (`filter[id][gt]`), each page of 100 mapped and
sent as one `create_or_update_many` job through the shared bulk-job pipeline
(integration/bulk/pipeline.py: jobs polled together; integration/bulk/results.py: per-user results,
email promotion, identities and watermarks, dead letters).

The checkpoint (`keys.BACKFILL_CHECKPOINT`) is the last profile id of the last page whose every
user is finished, saved as pages finish in order; `resume` starts after it. Redoing a page is
harmless: create-or-update by `external_id` never makes a second user.

Accounts without bulk imports answer 403 ("Data imports are not enabled"): the backfill then
syncs one profile at a time with `sync_profile`.
"""
from __future__ import annotations

import json
import threading
import time
from collections import deque
from typing import Callable

from integration.profiles import mapping, tier_field
from integration.store import keys
from integration.bulk.batch import Batch
from integration.bulk.pipeline import BATCH_SIZE, MAX_OUTSTANDING, POLL_SECONDS, BulkJobs, Totals
from integration.wiring import Context
from integration.errors import ApiError, LockBusy
from integration.apis.paging import advance
from integration.profiles.profile_rules import is_gone
from integration.profiles.sync import sync_profile


class Backfill(BulkJobs):
    what = "backfill"
    stopped_message = ("Omneo or Zendesk stayed unavailable; run `omneo-zendesk backfill "
                       "--resume` to go on from the checkpoint")

    def __init__(self, ctx: Context, *, stop: threading.Event | None = None,
                 on_progress: Callable[[int], None] | None = None,
                 jobs: int = MAX_OUTSTANDING, poll_seconds: float = POLL_SECONDS,
                 sleep: Callable[[float], None] = time.sleep):
        super().__init__(ctx, stop=stop, jobs=jobs, poll_seconds=poll_seconds, sleep=sleep)
        self.on_progress = on_progress or (lambda n: None)
        self.checkpoint: dict = {}

    # checkpoint
    def load_checkpoint(self) -> dict | None:
        raw = self.ctx.redis.get(keys.BACKFILL_CHECKPOINT)
        return json.loads(raw) if raw else None

    def _save(self, **changes) -> None:
        self.checkpoint.update(changes, totals=self.totals.as_dict(), saved_at=time.time())
        self.ctx.redis.set(keys.BACKFILL_CHECKPOINT, json.dumps(self.checkpoint))

    def total_profiles(self) -> int | None:
        _, meta = self.ctx.omneo.profiles_page(page_size=1)
        return int(meta["total"]) if meta.get("total") is not None else None

    # the run
    def run(self, resume: bool = False) -> dict:
        """Sync every profile (after the checkpoint with `resume`); returns the totals and
        whether it finished or was stopped."""
        previous = self.load_checkpoint() if resume else None
        if previous and not previous.get("finished"):
            self.checkpoint = previous
            self.totals = Totals(**previous.get("totals", {}))
        else:
            self.checkpoint = {"after_id": None, "started_at": time.time(), "finished": False}
        self._save()
        tier_field.ensure_for_sync(self.ctx)
        outstanding: deque[Batch] = deque()
        after_id = self.checkpoint.get("after_id")
        self.open()
        try:
            while not self.stop.is_set():
                rows, _ = self._call(self.ctx.omneo.profiles_page, page_size=BATCH_SIZE,
                                     after_id=after_id)
                if rows:
                    after_id = advance("omneo", "backfill's profile pages", after_id,
                                       str(rows[-1]["id"]))
                    self.feed(outstanding, self._submit(rows, after_id))
                if len(rows) < BATCH_SIZE:
                    break
            self.drain(outstanding)  # also when stopping: what was submitted is seen through
        finally:
            self.close(outstanding)
        finished = not self.stop.is_set()
        self._save(finished=finished, finished_at=time.time() if finished else None)
        return {"finished": finished, "mode": "bulk" if self.bulk else "one at a time",
                **self.totals.as_dict()}

    def _submit(self, rows: list[dict], last_id: str) -> Batch:
        batch = Batch(last_id=last_id, rows=len(rows))
        attributes = self.ctx.settings.sync_attributes
        for profile in rows:
            profile_id = str(profile["id"])
            if is_gone(profile) or self.ctx.state.is_erased(profile_id):
                self._count("skipped")
                continue
            batch.add(profile, mapping.zendesk_user(profile, attributes))
        return self.send(batch)

    def one_at_a_time(self, batch: Batch) -> None:
        for profile_id in batch.profiles:
            try:
                outcome = sync_profile(self.ctx, profile_id).get("outcome")
            except LockBusy:  # a sync job holds it right now and will finish it
                outcome = "unchanged"
            except ApiError as exc:
                self._dead_letter(profile_id, exc.describe())
                continue
            if outcome == "created":
                self._count("created")
            elif outcome == "updated":
                self._count("updated")
            elif outcome == "skipped":
                self._count("skipped")
            else:
                self._count("unchanged")

    def finished(self, batch: Batch) -> None:
        self._save(after_id=batch.last_id)
        self.on_progress(batch.rows)
