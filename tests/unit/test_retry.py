"""The one retry policy (integration/retry.py): whose fault each failure is, the schedules, and the
task policy, the reconciliation and the bulk pipeline sorting failures alike."""

import pytest

from integration import retry
from integration.reconcile import reconciliation
from integration.errors import (ApiError, AuthFailure, Conflict, LockBusy, NotFound, PermanentError,
                                RateLimited, TransientError)
from integration.settings.declared import load_settings
from tests.helpers import GOOD

WAITS = [LockBusy("p1"), RateLimited("zendesk", 3), AuthFailure("zendesk", "refused", "ZENDESK_API_TOKEN", 401)]
PERMANENTS = [PermanentError("zendesk", "422", 422), NotFound("omneo", "404", 404),
              Conflict("zendesk", "email owned by another profile")]
TRANSIENTS = [TransientError("zendesk", "503", 503), TransientError("omneo", "ReadTimeout"),
              ApiError("omneo", "odd"), RuntimeError("a bug")]


class Top:
    def uniform(self, a, b):
        return b


@pytest.mark.parametrize("exc, kind", [(e, retry.WAIT) for e in WAITS]
                         + [(e, retry.PERMANENT) for e in PERMANENTS]
                         + [(e, retry.TRANSIENT) for e in TRANSIENTS])
def test_every_failure_is_sorted_once(exc, kind):
    assert retry.fault(exc) == kind


@pytest.mark.parametrize("exc", WAITS + PERMANENTS + TRANSIENTS)
def test_the_task_policy_follows_the_sorting(exc):
    decision = retry.decide(exc, 0, 0, load_settings(GOOD))
    kind = retry.fault(exc)
    assert (decision.action == "dead_letter") == (kind == retry.PERMANENT)
    assert decision.counts_as_failure == (kind != retry.WAIT)


def test_schedules_double_under_their_cap():
    assert [retry.ceiling(k, 2, 30) for k in range(6)] == [2, 4, 8, 16, 30, 30]
    assert [retry.backoff(k, 2, 30, Top()) for k in range(6)] == [2, 4, 8, 16, 30, 30]
    assert [retry.pipeline_wait(k) for k in range(retry.PIPELINE_ATTEMPTS)] == [1, 2, 4, 8, 16]


def test_credentials_refused_are_waited_out_without_end():
    settings = load_settings(GOOD)
    late = retry.decide(WAITS[2], settings.task_max_attempts * 10, 10_000, settings, Top())
    assert late.action == "retry" and not late.counts_as_failure
    assert late.countdown == settings.retry_max_seconds


class Lease:
    def extend(self):
        return True


@pytest.mark.parametrize("exc", WAITS + PERMANENTS + TRANSIENTS)
def test_reconciliation_sorts_failures_as_the_tasks_do(ctx, exc):
    run = reconciliation.Run(ctx, lambda p, u: None, "test", None, Lease())

    def step():
        raise exc

    moved_on = run.guarded("p-1", step, "omneo profile")
    permanent = retry.fault(exc) == retry.PERMANENT
    assert moved_on == permanent  # only a permanent failure lets the watermark pass it
    assert ctx.dead_letters.count() == int(permanent) and run.counts["errors"] == 1
