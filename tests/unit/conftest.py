"""Fixtures several unit test files share (tests/conftest.py has the sandboxes and the Context)."""
import pytest
import requests
from celery import Celery

from integration.profiles.sync import sync_profile
from integration.sandbox.zaf import TEAM_LEAD_ROLE, ZafSigner, add_sample_agents
from tests.helpers import ADA, BOB, INSTALLATION, TICKET_ADA, TICKET_BOB, put
from web.app import create_app
from integration.store import marks


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


# agent actions from the sidebar
@pytest.fixture(scope="module")
def signer(sandbox_servers):
    return ZafSigner(sandbox_servers[0].url, INSTALLATION)


@pytest.fixture
def action_settings(settings, signer):
    return settings.replace(zendesk_app_public_key=signer.public_pem, zendesk_app_installation_id=INSTALLATION,
                            sidebar_action_roles=("admin", TEAM_LEAD_ROLE), sidebar_reward_definitions=("7", "8"),
                            sidebar_reward_max_value=50.0, sidebar_agent_daily_cap=60.0,
                            sidebar_agent_daily_claims=2)


@pytest.fixture
def world(ctx, sandbox_servers):
    z, o = (s.url for s in sandbox_servers)
    add_sample_agents(z)
    for user_id, name, profile_id in ((ADA, "ada", "p-ada"), (BOB, "bob", "p-bob")):
        requests.post(f"{z}/_sandbox/users", json={"id": user_id, "name": name, "email": f"{name}@example.com"},
                      timeout=5).raise_for_status()
        requests.post(f"{o}/_sandbox/profiles?emit=0", timeout=5, json={
            "id": profile_id, "first_name": name, "email": f"{name}@example.com",
            "identities": [{"handle": "zendesk", "identifier": str(user_id)}]}).raise_for_status()
    for ticket_id, requester in ((TICKET_ADA, ADA), (TICKET_BOB, BOB)):
        requests.post(f"{z}/_sandbox/tickets", json={"id": ticket_id, "requester_id": requester,
                                                     "subject": "Where is my parcel"}, timeout=5).raise_for_status()
    return z, o


@pytest.fixture
def app_ctx(action_settings, fake_redis, ctx):
    return create_app(action_settings, redis_client=fake_redis)


@pytest.fixture
def few_mark_buckets(monkeypatch):
    """A reconciliation sweeps every sync-mark bucket each run: 65,536 HKEYS, which fakeredis
    answers in seconds. The sweep's logic does not depend on how many buckets there are."""
    monkeypatch.setattr(marks, "SYNCED_BUCKETS", 256)
