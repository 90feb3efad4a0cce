"""The one base task: every job applies `integration.retry` here, with its dead letters, logs and metrics."""
from __future__ import annotations

import logging
import time

from billiard.exceptions import TimeLimitExceeded
from celery import Task

from integration import retry
from workers import due, metrics, runtime

log = logging.getLogger("omneo_zendesk.jobs")

# Message headers a job carries across its retries (Celery keeps custom headers on `retry`).
FAILURES = "oz_failures"  # counted failures so far
WAITS = "oz_waits"  # retries that were waits (profile lock, rate limit), not failures
FIRST_AT = "oz_first_at"  # unix time of the first attempt
DEAD_LETTER = "oz_dead_letter"  # id of the dead letter this run replays


class IntegrationTask(Task):
    acks_late = True
    reject_on_worker_lost = True
    ignore_result = True
    max_retries = None  # retry.decide owns the limit
    typing = True

    def about(self, args: tuple, kwargs: dict, exc: BaseException | None = None) -> dict:
        """Whom a job is about, so erasure can find its dead letters: the profile (its first
        argument, else the one it had resolved when it failed) and the Zendesk user it names
        (a ticket event's requester)."""
        profile_id = kwargs.get("profile_id", args[0] if args else None)
        if not isinstance(profile_id, (str, int)):
            profile_id = getattr(exc, "profile_id", None)
        job = next((a for a in (*args, *kwargs.values()) if isinstance(a, dict)), {})
        user_id = kwargs.get("zendesk_user_id") or job.get("requester_id")
        return {"profile_id": _id(profile_id), "zendesk_user_id": _id(user_id)}

    def _header(self, name: str):
        headers = getattr(self.request, "headers", None) or {}
        value = getattr(self.request, name, None)
        return value if value is not None else headers.get(name)

    def _counter(self, name: str) -> int:
        return int(self._header(name) or 0)

    def __call__(self, *args, **kwargs):
        started = time.monotonic()
        try:
            result = self.run(*args, **kwargs)
        except Exception as exc:  # sorted by retry.decide into retry or dead letter
            return self._failed(exc, args, kwargs)
        finally:
            metrics.JOB_SECONDS.labels(self.name).observe(time.monotonic() - started)
        metrics.JOBS.labels(self.name, "succeeded").inc()
        replayed = self._header(DEAD_LETTER)
        if replayed:  # a replayed dead letter leaves the store once it has succeeded
            runtime.context().dead_letters.remove(str(replayed))
        outcome = result.get("outcome") if isinstance(result, dict) else None
        log.info("job done", extra={"task": self.name, "job_id": self.request.id, "outcome": outcome,
                                    "attempt": self._counter(FAILURES) + 1,
                                    "dead_letter_id": replayed})
        return result

    def _failed(self, exc: Exception, args: tuple, kwargs: dict):
        settings = runtime.settings()
        failures, waits = self._counter(FAILURES), self._counter(WAITS)
        first_at = float(self._counter(FIRST_AT) or time.time())
        replayed = self._header(DEAD_LETTER)
        decision = retry.decide(exc, failures, waits, settings)
        error = retry.describe(exc)
        if decision.action == "retry":
            metrics.JOBS.labels(self.name, "retried").inc()
            log.warning("job will retry", extra={
                "task": self.name, "job_id": self.request.id, "reason": decision.reason,
                "attempt": failures + 1, "error_type": error["type"], "status": error.get("status"),
                "countdown": round(decision.countdown, 2)})
            headers = {FAILURES: failures + int(decision.counts_as_failure),
                       WAITS: waits + int(not decision.counts_as_failure),
                       FIRST_AT: int(first_at)}
            if replayed:
                headers[DEAD_LETTER] = replayed
            due.schedule(self, runtime.context().redis, args, kwargs, headers, decision.countdown)
            return {"outcome": "retry_scheduled"}
        # a replay that fails again takes the place of its entry, under the same id
        entry_id = self._dead_letter(self.request.id, args, kwargs, dict(error, reason=decision.reason),
                                     failures + 1, exc, first_at, str(replayed) if replayed else None)
        return {"outcome": "dead_lettered", "dead_letter_id": entry_id}

    def _dead_letter(self, job_id, args, kwargs, error: dict, attempts: int,
                     exc: BaseException | None = None, first_at: float | None = None,
                     entry_id: str | None = None) -> str:
        """Keep the job as a dead letter, counted and logged; returns the entry's id."""
        args, kwargs = tuple(args or ()), dict(kwargs or {})
        entry_id = runtime.context().dead_letters.add(
            task=self.name, args=list(args), kwargs=kwargs, error=error, attempts=attempts,
            **self.about(args, kwargs, exc), first_attempt_at=first_at, entry_id=entry_id)
        metrics.JOBS.labels(self.name, "dead_lettered").inc()
        log.error("job dead-lettered", extra={
            "task": self.name, "job_id": job_id, "dead_letter_id": entry_id,
            "reason": error["reason"], "attempt": attempts, "error_type": error["type"],
            "status": error.get("status")})
        return entry_id

    def on_failure(self, exc, task_id, args, kwargs, einfo):
        """Only a job killed at its hard time limit fails past `__call__`; Celery acknowledges it
        then, so it is kept as a dead letter instead of vanishing. (Runs in the worker's main
        process, where the job's headers are not at hand.)"""
        if not isinstance(exc, TimeLimitExceeded):
            return
        error = {"type": "TimeLimitExceeded", "message": f"ran past its time limit ({exc})",
                 "reason": "time limit exceeded"}
        self._dead_letter(task_id, args, kwargs, error, 1)


def _id(value) -> str | None:
    return str(value) if isinstance(value, (str, int)) and str(value) else None
