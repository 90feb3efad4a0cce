"""Fixtures several unit test files share (tests/conftest.py has the sandboxes and the Context)."""
import pytest
from celery import Celery

from integration.profiles.sync import sync_profile
from tests.helpers import put
from web.app import create_app


@pytest.fixture
def client(settings, fake_redis):
    """The receiver in-process, over fakeredis, publishing to an in-memory broker."""
    return create_app(settings, celery=Celery("test", broker="memory://"),
                      redis_client=fake_redis).test_client()


@pytest.fixture
def linked(ctx, omneo_sandbox):
    """Three profiles already synced, then changed in Omneo."""
    for n in range(1, 4):
        put(omneo_sandbox, id=f"b{n}", first_name=f"Old {n}", email=f"b{n}@example.com")
        assert sync_profile(ctx, f"b{n}")["outcome"] == "created"
        put(omneo_sandbox, id=f"b{n}", first_name=f"New {n}")
    return [f"b{n}" for n in range(1, 4)]
