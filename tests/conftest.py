"""Fixtures shared by fast tests: in-process sandboxes on local ports and a fakeredis Context."""
from __future__ import annotations

import fakeredis
import pytest
import requests

from integration.wiring import build_context
from integration.sandbox.base import ServerThread
from integration.sandbox.omneo import OmneoSandbox
from integration.sandbox.zendesk import ZendeskSandbox
from integration.settings.declared import load_settings


@pytest.fixture(scope="session")
def sandbox_servers():
    z = ServerThread(ZendeskSandbox(email="agent@example.com", api_token="zd-token")).start()
    o = ServerThread(OmneoSandbox(token="om-token", webhook_secret="om-hook-secret")).start()
    yield z, o
    z.stop()
    o.stop()


@pytest.fixture
def settings(sandbox_servers):
    z, o = sandbox_servers
    return load_settings({
        "REDIS_URL": "redis://fake:6379/0",
        "OMNEO_TENANT": "acme",
        "OMNEO_BASE_URL": o.url + "/api/v3",
        "OMNEO_API_TOKEN": "om-token",
        "OMNEO_WEBHOOK_SECRET": "om-hook-secret",
        "ZENDESK_BASE_URL": z.url,
        "ZENDESK_EMAIL": "agent@example.com",
        "ZENDESK_API_TOKEN": "zd-token",
        "ZENDESK_WEBHOOK_SECRET": "zd-hook-secret",
        "ZENDESK_APP_SECRET": "zd-app-secret-0123456789abcdef012345",
        "ZENDESK_REQUESTS_PER_MINUTE": "100000",
        "OMNEO_REQUESTS_PER_MINUTE": "100000",
    })


@pytest.fixture
def fake_redis():
    return fakeredis.FakeRedis()


@pytest.fixture
def ctx(settings, fake_redis, sandbox_servers):
    for server in sandbox_servers:
        requests.post(server.url + "/_sandbox/reset", timeout=5).raise_for_status()
    return build_context(settings, client=fake_redis)


@pytest.fixture
def zendesk_sandbox(sandbox_servers):
    return sandbox_servers[0].server.app


@pytest.fixture
def omneo_sandbox(sandbox_servers):
    return sandbox_servers[1].server.app
