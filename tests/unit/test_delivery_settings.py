"""The broker's visibility timeout: one setting, checked against the retry delays it must outlast."""
from __future__ import annotations

import pytest

from integration.settings import SettingsError, load_settings
from tests.unit.test_settings import GOOD
from workers.celery_app import create_celery


def test_default_visibility_timeout_outlasts_the_longest_retry_and_a_job_run():
    s = load_settings(GOOD)
    assert s.broker_visibility_timeout_seconds > s.retry_max_seconds + s.task_time_limit_seconds
    assert s.task_time_limit_seconds == 300
    # a profile lock outlives any run that holds it
    assert s.profile_lock_ttl_seconds > s.task_time_limit_seconds
    conf = create_celery(s).conf
    assert conf.broker_transport_options["visibility_timeout"] == s.broker_visibility_timeout_seconds
    assert conf.task_time_limit == s.task_time_limit_seconds
    assert conf.task_soft_time_limit < conf.task_time_limit


def test_a_visibility_timeout_shorter_than_the_retries_is_refused_by_name():
    env = dict(GOOD, RETRY_MAX_SECONDS="1800", BROKER_VISIBILITY_TIMEOUT_SECONDS="1200")
    with pytest.raises(SettingsError) as err:
        load_settings(env)
    message = str(err.value)
    assert "BROKER_VISIBILITY_TIMEOUT_SECONDS" in message and "RETRY_MAX_SECONDS" in message
    assert "\n" not in message and GOOD["ZENDESK_API_TOKEN"] not in message


def test_a_short_timeout_for_tests_shortens_the_job_time_limit_and_the_sweep():
    s = load_settings(dict(GOOD, RETRY_BASE_SECONDS="0.2", RETRY_MAX_SECONDS="1",
                           BROKER_VISIBILITY_TIMEOUT_SECONDS="20"))
    assert s.retry_max_seconds + s.task_time_limit_seconds < 20
    assert s.profile_lock_ttl_seconds < 20
    options = create_celery(s).conf.broker_transport_options
    assert options["visibility_timeout"] == 20
    assert options["unacked_restore_interval"] * options["unacked_restore_throttle"] <= 2
