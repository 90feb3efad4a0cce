"""Whose fault a failure is, and how long to wait before trying again: the one retry policy.

The Celery base task (`workers.base`), the reconciliation and the bulk-job pipeline of the
backfill and the burst sync all sort failures with `fault`:
- `WAIT`: not the job's fault and not a failure of it: a profile lock held by another job, the
  shared API budget (a 429), or the deployment's refused credentials. Waited out; never a dead
  letter for that reason alone.
- `PERMANENT`: the job's own fault, a 4xx that retrying cannot fix: never retried, kept as a dead
  letter (replayable once someone fixed the cause).
- `TRANSIENT`: an outage (connection errors, timeouts, 5xx) or an unexpected error: retried on
  an exponential schedule under a cap, a bounded number of times.

`decide` turns that into a task's next step (retry when, or dead-letter, and whether the attempt
counts); every attempt is counted by the caller, so the dead letter says how many there were.
Plain functions of the exception and the counts, so all of it is tested without a broker.
"""
from __future__ import annotations

import random
from dataclasses import dataclass

from integration.errors import (ApiError, AuthFailure, LockBusy, PermanentError, RateLimited,
                                TransientError)
from integration.settings.declared import Settings

WAIT, PERMANENT, TRANSIENT = "wait", "permanent", "transient"

# Waits do not spend a job's attempts; this ceiling only stops a job that waits forever.
MAX_WAITS = 60
LOCK_WAIT_CAP = 30.0
# A refused credential is waited out on the task schedule, its ceiling growing no further than this.
AUTH_WAIT_STEPS = 16

# The bulk-job pipeline waits out a short outage in-process (1, 2, 4, 8, 16 s), then stops its run.
PIPELINE_ATTEMPTS = 5
PIPELINE_BASE_SECONDS, PIPELINE_CAP_SECONDS = 1.0, 30.0
# Refusals of a bulk job for the account's job limit (each waited out) before the run stops.
JOB_LIMIT_TRIES = 10


def fault(exc: BaseException) -> str:
    """WAIT, PERMANENT or TRANSIENT (see the module's docstring)."""
    if isinstance(exc, (LockBusy, RateLimited, AuthFailure)):
        return WAIT
    if isinstance(exc, PermanentError):
        return PERMANENT
    return TRANSIENT


def ceiling(attempt: int, base: float, cap: float) -> float:
    """The schedule: `base` doubled each attempt (counted from 0), never above `cap`."""
    return min(cap, base * (2 ** attempt))


def backoff(attempt: int, base: float, cap: float, rng=random) -> float:
    """Exponential backoff with full jitter: uniform in [0, ceiling(attempt)], so jobs failed
    together do not come back together."""
    return rng.uniform(0, ceiling(attempt, base, cap))


def pipeline_wait(attempt: int) -> float:
    """How long the bulk-job pipeline waits after its `attempt`-th outage in a row (from 0).
    No jitter: the sum (31 s) is how long the pipeline bears an outage, which full jitter would
    halve on average."""
    return ceiling(attempt, PIPELINE_BASE_SECONDS, PIPELINE_CAP_SECONDS)


@dataclass(frozen=True)
class Decision:
    action: str  # "retry" or "dead_letter"
    countdown: float = 0.0
    counts_as_failure: bool = True
    reason: str = ""


def decide(exc: BaseException, failures: int, waits: int, settings: Settings, rng=random) -> Decision:
    """A failed job's next step. `failures`: its earlier counted failures; `waits`: its earlier
    waits (which did not count)."""
    kind = fault(exc)
    if kind == WAIT:
        return _wait(exc, waits, settings, rng)
    if kind == PERMANENT:
        return Decision("dead_letter", reason="permanent error")
    attempts = failures + 1
    if attempts >= settings.task_max_attempts:
        return Decision("dead_letter", reason=f"gave up after {attempts} attempts")
    reason = "transient error" if isinstance(exc, TransientError) else "unexpected error"
    return Decision("retry", backoff(failures, settings.retry_base_seconds, settings.retry_max_seconds, rng),
                    reason=reason)


def _wait(exc: BaseException, waits: int, settings: Settings, rng) -> Decision:
    if isinstance(exc, AuthFailure):
        # the deployment's credentials, not the job: wait on the usual schedule for as long as it
        # lasts (never a dead letter); it goes through once they are fixed
        return Decision("retry", backoff(min(waits, AUTH_WAIT_STEPS), settings.retry_base_seconds,
                                         settings.retry_max_seconds, rng),
                        counts_as_failure=False, reason="zendesk credentials refused")
    if isinstance(exc, LockBusy):
        if waits >= MAX_WAITS:
            return Decision("dead_letter", reason="profile stayed locked")
        # soon at first, then longer: even the shortest draws add up to well past a lock's expiry,
        # so a job outwaits a lock left by a dead holder
        top = min(LOCK_WAIT_CAP, 2.0 + waits)
        return Decision("retry", rng.uniform(top / 2, top), counts_as_failure=False,
                        reason="profile locked")
    # an endpoint's own limit (700 permanent deletions every 10 minutes) lets a known number
    # through each window: a mass erasure's jobs each wait their turn, however many turns it takes
    endpoint = getattr(exc, "endpoint", None)
    if waits >= MAX_WAITS and not endpoint:
        return Decision("dead_letter", reason="rate limited for too long")
    wait = min(exc.retry_after, settings.retry_max_seconds)
    return Decision("retry", wait + rng.uniform(0, max(1.0, wait * 0.25)),
                    counts_as_failure=False,
                    reason=f"{endpoint} rate limited" if endpoint else "rate limited")


def describe(exc: BaseException) -> dict:
    """The error as a dead letter keeps it: type, status, the API's body; never a secret."""
    if isinstance(exc, ApiError):
        return exc.describe()
    return {"type": type(exc).__name__, "message": str(exc)[:500]}
