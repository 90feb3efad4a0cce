"""The production commands refuse to start without their settings, naming what is missing."""
from __future__ import annotations

import pytest
from click.testing import CliRunner

from web.cli import main
from tests.helpers import GOOD


UNSET = {name: None for name in list(GOOD) + ["FLOWER_BASIC_AUTH", "PROMETHEUS_MULTIPROC_DIR"]}


def run(env, *args):
    return CliRunner().invoke(main, list(args), env=dict(UNSET, **env), catch_exceptions=False)


@pytest.mark.parametrize("command", ["web", "worker", "beat", "flower", "metrics", "check"])
def test_refuses_without_redis_url(command):
    result = run(dict(GOOD, REDIS_URL=None), command)
    assert result.exit_code == 2
    assert result.output.strip() == "omneo-zendesk: setting REDIS_URL: a redis:// URL of the shared Redis"


@pytest.mark.parametrize("command", ["web", "worker", "beat"])
def test_refuses_without_real_api_settings(command):
    result = run(dict(GOOD, OMNEO_API_TOKEN=None), command)
    assert result.exit_code == 2 and "OMNEO_API_TOKEN" in result.output


def test_flower_needs_basic_auth():
    result = run(GOOD, "flower")
    assert result.exit_code == 2 and "FLOWER_BASIC_AUTH" in result.output


def test_flower_basic_auth_is_validated_without_echoing_it():
    result = run(dict(GOOD, FLOWER_BASIC_AUTH="admin:zq7"), "flower")
    assert result.exit_code == 2 and "FLOWER_BASIC_AUTH" in result.output and "zq7" not in result.output


def test_metrics_needs_the_multiprocess_directory():
    result = run(GOOD, "metrics")
    assert result.exit_code == 2 and "PROMETHEUS_MULTIPROC_DIR" in result.output


def test_demo_refuses_real_credentials():
    result = run(GOOD, "dev", "--demo")
    assert result.exit_code == 2 and "sandboxes" in result.output
