"""The retry policy: full-jitter exponential backoff, bounded attempts, waits that are not failures."""
from __future__ import annotations

import random

import pytest

from integration.errors import Conflict, LockBusy, NotFound, PermanentError, RateLimited, TransientError
from integration.settings.declared import Settings
from integration.settings.declared import load_settings
from integration import retry
from tests.helpers import GOOD


class Edge:
    """A stand-in rng that always picks one end of the range."""

    def __init__(self, top: bool):
        self.top = top

    def uniform(self, a, b):
        return b if self.top else a


@pytest.fixture
def defaults() -> Settings:
    return load_settings(GOOD)


def test_backoff_is_full_jitter_under_a_doubling_capped_ceiling():
    assert [retry.backoff(k, 2, 30, Edge(True)) for k in range(6)] == [2, 4, 8, 16, 30, 30]
    assert all(retry.backoff(k, 2, 30, Edge(False)) == 0 for k in range(6))
    rng = random.Random(7)
    draws = [retry.backoff(3, 2, 30, rng) for _ in range(2000)]
    assert min(draws) >= 0 and max(draws) <= 16
    # spread over the whole range, not clustered at the ceiling (that would be "equal jitter")
    assert sum(d < 8 for d in draws) > 800 and sum(d >= 8 for d in draws) > 800


def test_transient_errors_retry_until_the_attempts_run_out(defaults):
    exc = TransientError("zendesk", "POST /users -> 503", 503)
    for failures in range(defaults.task_max_attempts - 1):
        d = retry.decide(exc, failures, 0, defaults, Edge(True))
        assert d.action == "retry" and d.counts_as_failure
        assert d.countdown == min(defaults.retry_max_seconds, defaults.retry_base_seconds * 2 ** failures)
    last = retry.decide(exc, defaults.task_max_attempts - 1, 0, defaults)
    assert last.action == "dead_letter" and str(defaults.task_max_attempts) in last.reason


def test_default_schedule_is_about_eight_attempts_over_about_an_hour(defaults):
    assert defaults.task_max_attempts == 8
    ceilings = [retry.backoff(k, defaults.retry_base_seconds, defaults.retry_max_seconds, Edge(True))
                for k in range(defaults.task_max_attempts - 1)]
    expected_minutes = sum(ceilings) / 2 / 60  # full jitter waits half the ceiling on average
    assert 40 <= expected_minutes <= 80, expected_minutes


@pytest.mark.parametrize("exc", [
    PermanentError("zendesk", "422", 422, {"error": "RecordInvalid"}),
    NotFound("omneo", "404", 404),
    Conflict("zendesk", "email owned by another profile"),
])
def test_permanent_errors_go_straight_to_the_dead_letters(defaults, exc):
    d = retry.decide(exc, 0, 0, defaults)
    assert d.action == "dead_letter" and d.reason == "permanent error"


def test_a_429_waits_its_retry_after_without_spending_an_attempt(defaults):
    d = retry.decide(RateLimited("zendesk", 12), defaults.task_max_attempts - 1, 0, defaults)
    assert d.action == "retry" and not d.counts_as_failure
    assert 12 <= d.countdown <= 12 * 1.25


def test_a_busy_profile_retries_soon_and_outwaits_a_dead_holders_lock(defaults):
    first = retry.decide(LockBusy("p1"), 0, 0, defaults, Edge(True))
    assert first.action == "retry" and not first.counts_as_failure and first.countdown <= 2
    assert sum(retry.decide(LockBusy("p1"), 0, w, defaults, Edge(True)).countdown
               for w in range(5)) < 30
    # even drawing the shortest wait every time, a waiting job outlives a lock nobody releases
    shortest_total = sum(retry.decide(LockBusy("p1"), 0, w, defaults, Edge(False)).countdown
                         for w in range(retry.MAX_WAITS))
    assert shortest_total > 2 * defaults.profile_lock_ttl_seconds
    assert retry.decide(LockBusy("p1"), 0, retry.MAX_WAITS, defaults).action == "dead_letter"


def test_describe_keeps_status_and_body_but_no_secret(defaults):
    exc = PermanentError("zendesk", "POST /users/create_or_update -> 422", 422,
                         {"error": "RecordInvalid", "details": {"email": [{"error": "InvalidFormat"}]}})
    described = retry.describe(exc)
    assert described["status"] == 422 and described["body"]["error"] == "RecordInvalid"
    assert defaults.zendesk_api_token not in repr(described)
