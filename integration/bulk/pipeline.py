"""Zendesk bulk jobs, shared by the backfill and the burst sync (integration/bulk/drain.py).

Each batch of up to 100 profiles is sent as one `create_or_update_many` job. Up to
`MAX_OUTSTANDING` jobs run at once (Zendesk allows 30 queued or running per account) and are
polled together with one `GET /job_statuses/show_many`, so a budget of R Zendesk requests a minute
moves close to 100 x R users a minute. A completed job's results are written back by a few
threads (integration/bulk/results.py) while the next jobs are sent. Batches finish in the order
they were sent (`finished` is called for each).
"""
from __future__ import annotations

import logging
import threading
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Callable

from integration import retry
from integration.bulk.batch import Batch
from integration.bulk.results import JobResults
from integration.wiring import Context
from integration.errors import JobLimitReached, PermanentError, RateLimited, TransientError

log = logging.getLogger(__name__)

BATCH_SIZE = 100  # Zendesk's maximum for create_or_update_many
# below Zendesk's 30 queued or running jobs, leaving room for others; when others take more, the
# job limit's 429 lowers it (`_start_job`)
MAX_OUTSTANDING = 25
POLL_SECONDS = 1.0
# One poll answers for every job out, so with many out it is polled less often: every
# jobs_out / JOBS_PER_POLL_SECOND seconds, between POLL_SECONDS and MAX_POLL_SECONDS. A few jobs
# (a small burst) are still seen within a second; a burst that keeps 12 jobs out polls every 3 s,
# each poll finding several done, so polls stay a small part of the budget the jobs need
# (one a second was 60 requests a minute, a fifth of R = 400 beside the reserve's fifth).
JOBS_PER_POLL_SECOND = 4
MAX_POLL_SECONDS = 4.0
# Identity writes and watermarks of finished jobs are done by a few threads while the next jobs
# are sent: one Omneo write per newly linked profile would otherwise set the pace, not Zendesk.
LINK_WORKERS = 8


class BackfillStopped(Exception):
    """The run could not go on (an API stayed unavailable)."""


@dataclass
class Totals:
    done: int = 0  # profiles finished (synced, skipped or dead-lettered)
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    failed: int = 0
    emails_promoted: int = 0  # updated users whose new email was made primary

    def as_dict(self) -> dict:
        return dict(self.__dict__)


class BulkJobs:
    """The pipeline: `send` batches, `feed` keeps at most `jobs` of them outstanding, `drain`
    sees the rest through. Subclasses say what to do when bulk imports are off
    (`one_at_a_time`) and when a batch is finished (`finished`)."""

    def __init__(self, ctx: Context, *, stop: threading.Event | None = None,
                 jobs: int = MAX_OUTSTANDING, poll_seconds: float = POLL_SECONDS,
                 sleep: Callable[[float], None] = time.sleep):
        self.ctx = ctx
        self.jobs = max(1, min(jobs, MAX_OUTSTANDING))
        self.stop = stop or threading.Event()  # take no more; what was sent is seen through
        self.abort = threading.Event()  # give up even what was sent (its writes end early)
        self.poll_seconds, self.sleep = poll_seconds, sleep
        self.bulk = True
        self.totals = Totals()
        self._counting = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None
        self._polled_at = float("-inf")
        self._out: deque[Batch] = deque()  # the batches `feed` was last given
        self._results = JobResults(ctx, call=self._call, count=self._count, dead_letter=self._dead_letter,
                                   fold=self.fold, abort=self.abort)

    def fold(self, profile: dict) -> None:
        """A profile whose job landed on a user other than the one it is linked to (the burst's
        drain folds it with the single sync instead)."""
        self._dead_letter(str(profile["id"]), {"type": "LinkMismatch", "api": "zendesk",
                                               "status": None, "message": "linked to another user"})

    def _count(self, name: str) -> None:
        with self._counting:
            setattr(self.totals, name, getattr(self.totals, name) + 1)

    # hooks
    def one_at_a_time(self, batch: Batch) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def finished(self, batch: Batch) -> None:
        """Called once per batch, in the order they were sent, when all its writes are done."""

    # the pipeline
    def open(self) -> None:
        self._pool = ThreadPoolExecutor(LINK_WORKERS, thread_name_prefix="bulk-link")

    def close(self, outstanding: deque[Batch]) -> None:
        self._pool.shutdown(wait=not outstanding, cancel_futures=True)

    def feed(self, outstanding: deque[Batch], batch: Batch) -> None:
        """Add a sent batch; finish what is done; wait while too many are outstanding."""
        self._out = outstanding
        outstanding.append(batch)
        self._finish_head(outstanding)
        while (sum(not b.finished for b in outstanding) >= self.jobs
               or len(outstanding) > self.jobs + 2 * LINK_WORKERS):
            self._wait(outstanding)

    def drain(self, outstanding: deque[Batch]) -> None:
        while outstanding:
            self._wait(outstanding)

    def send(self, batch: Batch) -> Batch:
        """Start the batch's job (or sync it one at a time where bulk imports are off)."""
        if not batch.payloads:
            batch.finished = True
        elif self.bulk:
            try:
                batch.job_id = self._start_job(batch.payloads)
            except PermanentError as exc:
                if exc.status != 403:
                    raise
                log.warning("bulk imports are not enabled on this Zendesk account; "
                            "syncing one profile at a time")
                self.bulk = False
        if not self.bulk and not batch.finished:
            self.one_at_a_time(batch)
            batch.finished = True
        return batch

    def _start_job(self, payloads: list[dict]) -> str:
        """Start a bulk job. Refused for the account's limit of jobs queued or running, the rest
        of it is someone else's: from then on this run keeps no more out than it had, and waits
        for one of its own to finish (with none out, for Retry-After) before asking again; after
        retry.JOB_LIMIT_TRIES refusals the run stops (a drain's batches are parked again)."""
        for _ in range(retry.JOB_LIMIT_TRIES):
            try:
                return self._call(self.ctx.zendesk.create_or_update_many, payloads)["id"]
            except JobLimitReached as exc:
                ours = sum(1 for b in self._out if not b.finished and b.job_id)
                log.warning("Zendesk's job limit reached; keeping fewer bulk jobs out",
                            extra={"jobs_out": ours})
                self.jobs = max(1, ours)
                if self.stop.is_set() or self.abort.is_set():
                    raise BackfillStopped(self.stopped_message) from None
                if not ours:
                    self.sleep(exc.retry_after)
                while ours and sum(1 for b in self._out if not b.finished and b.job_id) >= ours:
                    self._wait(self._out)
        raise BackfillStopped("Zendesk's job limit stayed reached")

    def _wait(self, outstanding: deque[Batch], longest: float | None = None) -> None:
        """One step towards finishing the oldest batch: poll its job, or wait for its writes
        (waiting at most `longest` seconds when nothing was done)."""
        head = outstanding[0]
        if head.finished and head.applied is not None:
            if longest is None:
                head.applied.result()
            else:
                wait([head.applied], timeout=longest)
        else:
            self._poll(outstanding, longest)
        self._finish_head(outstanding)

    def _poll(self, outstanding: deque[Batch], longest: float | None = None) -> None:
        """Poll every outstanding job in one request, no sooner than `poll_interval` after the
        last poll: until then it waits (with `longest`, at most that long, and then returns
        without polling, so a caller looking in often costs no more requests)."""
        waiting = {b.job_id: b for b in outstanding if not b.finished and b.job_id}
        if not waiting:
            return
        due = self._polled_at + self.poll_interval(len(waiting)) - time.monotonic()
        if due > 0:
            if longest is not None:
                self.sleep(min(longest, due))
                return
            self.sleep(due)
        self._polled_at = time.monotonic()
        for status in self._call(self.ctx.zendesk.get_job_statuses, list(waiting)):
            if str(status.get("status", "")).lower() in ("completed", "failed") and status.get("id") in waiting:
                batch = waiting[status["id"]]
                batch.job, batch.finished = status, True
                batch.applied = self._pool.submit(self._results.apply, batch)

    def poll_interval(self, jobs_out: int) -> float:
        """Seconds between polls while `jobs_out` jobs are out (see JOBS_PER_POLL_SECOND)."""
        stretched = self.poll_seconds * jobs_out / JOBS_PER_POLL_SECOND
        return max(self.poll_seconds, min(stretched, MAX_POLL_SECONDS * self.poll_seconds))

    def _finish_head(self, outstanding: deque[Batch]) -> bool:
        """Finish the oldest batches whose jobs are done, in order; True if any was."""
        finished_any = False
        while outstanding and outstanding[0].settled():
            batch = outstanding.popleft()
            if batch.applied is not None:
                batch.applied.result()  # an unexpected error in the writes surfaces here
            self.totals.done += batch.rows
            self.finished(batch)
            finished_any = True
        return finished_any

    what = "bulk sync"  # who failed, as the dead letter's reason says
    stopped_message = "Omneo or Zendesk stayed unavailable"

    def _dead_letter(self, profile_id: str, error: dict) -> None:
        self._count("failed")
        self.ctx.dead_letters.add_failed_sync(profile_id, error, f"{self.what} could not sync this profile")

    def _call(self, fn, *args, **kwargs):
        """One API call of the pipeline. The shared limiter paces it and waits out a 429 pause;
        a short outage is waited out here a few times, then the run stops."""
        for attempt in range(retry.PIPELINE_ATTEMPTS):
            try:
                return fn(*args, **kwargs)
            except JobLimitReached:
                raise  # not the budget: the caller decides (`_start_job`)
            except RateLimited:
                continue  # the limiter now holds every caller until Retry-After has passed
            except TransientError:
                if self.stop.is_set():
                    break
                self.sleep(retry.pipeline_wait(attempt))
        raise BackfillStopped(self.stopped_message)
