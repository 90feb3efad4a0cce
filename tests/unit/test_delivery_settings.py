"""The broker's visibility timeout: one setting, a little over a job's time limit (retries wait in
Redis, workers.due, not unacknowledged in a worker)."""
from __future__ import annotations

import pytest

from integration.settings.declared import SettingsError, load_settings
from workers.celery_app import create_celery
from tests.helpers import GOOD


def test_default_visibility_timeout_is_a_little_over_a_job_run():
    s = load_settings(GOOD)
    assert s.broker_visibility_timeout_seconds == 360
    assert s.task_time_limit_seconds == 300
    assert s.profile_lock_ttl_seconds < s.broker_visibility_timeout_seconds
    # a profile lock outlives any run that holds it
    assert s.profile_lock_ttl_seconds > s.task_time_limit_seconds
    conf = create_celery(s).conf
    assert conf.broker_transport_options["visibility_timeout"] == s.broker_visibility_timeout_seconds
    assert conf.task_time_limit == s.task_time_limit_seconds
    assert conf.task_soft_time_limit < conf.task_time_limit


def test_a_visibility_timeout_longer_than_the_retries_is_no_longer_needed():
    s = load_settings(dict(GOOD, RETRY_MAX_SECONDS="1800", BROKER_VISIBILITY_TIMEOUT_SECONDS="360"))
    assert s.task_time_limit_seconds == 300


def test_a_visibility_timeout_too_short_for_any_job_is_refused_by_name():
    with pytest.raises(SettingsError) as err:
        load_settings(dict(GOOD, BROKER_VISIBILITY_TIMEOUT_SECONDS="9"))
    message = str(err.value)
    assert "BROKER_VISIBILITY_TIMEOUT_SECONDS" in message
    assert "\n" not in message and GOOD["ZENDESK_API_TOKEN"] not in message


def test_a_short_timeout_for_tests_shortens_the_job_time_limit_and_the_sweep():
    s = load_settings(dict(GOOD, RETRY_BASE_SECONDS="0.2", RETRY_MAX_SECONDS="1",
                           BROKER_VISIBILITY_TIMEOUT_SECONDS="20"))
    assert s.task_time_limit_seconds == 10
    assert s.profile_lock_ttl_seconds < 20
    options = create_celery(s).conf.broker_transport_options
    assert options["visibility_timeout"] == 20
    assert options["unacked_restore_interval"] * options["unacked_restore_throttle"] <= 2
