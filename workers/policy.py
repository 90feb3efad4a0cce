"""What a failed job does next: retry (and when), or go to the dead-letter store.

A plain function of the exception and the attempt count, so it is tested without a broker.
"""
from __future__ import annotations

import random
from dataclasses import dataclass

from integration.errors import (ApiError, AuthFailure, LockBusy, PermanentError, RateLimited,
                                TransientError)
from integration.settings import Settings

# Waiting for a profile lock or for the shared API budget is not a failure of the job, so it does
# not spend the job's attempts; this ceiling only stops a job that waits forever.
MAX_WAITS = 60
LOCK_WAIT_CAP = 30.0


@dataclass(frozen=True)
class Decision:
    action: str  # "retry" or "dead_letter"
    countdown: float = 0.0
    counts_as_failure: bool = True
    reason: str = ""


def backoff(attempt: int, base: float, cap: float, rng=random) -> float:
    """Exponential backoff with full jitter: uniform in [0, min(cap, base * 2**attempt)]."""
    return rng.uniform(0, min(cap, base * (2 ** attempt)))


def decide(exc: BaseException, failures: int, waits: int, settings: Settings, rng=random) -> Decision:
    """`failures`: earlier counted failures of this job; `waits`: earlier uncounted waits."""
    if isinstance(exc, LockBusy):
        if waits >= MAX_WAITS:
            return Decision("dead_letter", reason="profile stayed locked")
        # soon at first, then longer: even the shortest draws add up to well past a lock's expiry,
        # so a job outwaits a lock left by a dead holder
        ceiling = min(LOCK_WAIT_CAP, 2.0 + waits)
        return Decision("retry", rng.uniform(ceiling / 2, ceiling),
                        counts_as_failure=False, reason="profile locked")
    if isinstance(exc, RateLimited):
        if waits >= MAX_WAITS:
            return Decision("dead_letter", reason="rate limited for too long")
        wait = min(exc.retry_after, settings.retry_max_seconds)
        return Decision("retry", wait + rng.uniform(0, max(1.0, wait * 0.25)),
                        counts_as_failure=False, reason="rate limited")
    if isinstance(exc, AuthFailure):
        # the deployment's credentials, not the job: wait on the usual schedule for as long as it
        # lasts (never a dead letter, no attempt spent); it goes through once they are fixed
        return Decision("retry", backoff(min(waits, 16), settings.retry_base_seconds,
                                         settings.retry_max_seconds, rng),
                        counts_as_failure=False, reason="zendesk credentials refused")
    if isinstance(exc, PermanentError):
        return Decision("dead_letter", reason="permanent error")
    attempts = failures + 1
    if attempts >= settings.task_max_attempts:
        return Decision("dead_letter", reason=f"gave up after {attempts} attempts")
    reason = "transient error" if isinstance(exc, TransientError) else "unexpected error"
    return Decision("retry", backoff(failures, settings.retry_base_seconds, settings.retry_max_seconds, rng),
                    reason=reason)


def describe(exc: BaseException) -> dict:
    """The error as a dead letter keeps it: type, status, the API's body; never a secret."""
    if isinstance(exc, ApiError):
        return exc.describe()
    return {"type": type(exc).__name__, "message": str(exc)[:500]}
