"""sync_profile as a plain function: fakeredis state, in-process sandboxes over HTTP."""
import pytest

from integration.errors import Conflict, LockBusy
from integration.profiles.sync import sync_profile
from tests.helpers import put


def test_first_sync_creates_user_and_identity(ctx, omneo_sandbox, zendesk_sandbox):
    put(omneo_sandbox, id="p1", first_name="Ada", email="ada@example.com", tier="gold")
    result = sync_profile(ctx, "p1")
    assert result["outcome"] == "created"
    user = next(iter(zendesk_sandbox.users.values()))
    assert (user["external_id"], user["email"], user["user_fields"]["omneo_tier"]) == ("p1", "ada@example.com", "gold")
    ids = omneo_sandbox.profiles["p1"]["identities"]
    assert [(i["handle"], i["identifier"]) for i in ids] == [("zendesk", str(user["id"]))]


def test_second_sync_of_unchanged_profile_writes_nothing(ctx, omneo_sandbox, zendesk_sandbox):
    put(omneo_sandbox, id="p2", first_name="Bo", email="bo@example.com")
    sync_profile(ctx, "p2")
    writes = zendesk_sandbox.stats["writes"]
    assert sync_profile(ctx, "p2")["outcome"] == "unchanged"
    assert zendesk_sandbox.stats["writes"] == writes
    put(omneo_sandbox, id="p2", first_name="Bob")
    assert sync_profile(ctx, "p2")["outcome"] == "updated"
    assert zendesk_sandbox.stats["writes"] > writes


def test_deleted_profile_is_skipped(ctx):
    assert sync_profile(ctx, "nobody") == {"outcome": "skipped", "reason": "profile not found"}


def test_merged_profile_makes_no_zendesk_write(ctx, omneo_sandbox, zendesk_sandbox):
    put(omneo_sandbox, id="pm", first_name="Mo", email="mo@example.com", profile_type="merged")
    writes = zendesk_sandbox.stats["writes"]
    assert sync_profile(ctx, "pm") == {"outcome": "skipped", "reason": "profile not found"}
    assert zendesk_sandbox.stats["writes"] == writes
    assert zendesk_sandbox.users == {}
    assert omneo_sandbox.profiles["pm"]["identities"] == []


def test_profile_merged_after_its_sync_keeps_its_user_unchanged(ctx, omneo_sandbox, zendesk_sandbox):
    put(omneo_sandbox, id="pn", first_name="Ned", email="ned@example.com")
    assert sync_profile(ctx, "pn")["outcome"] == "created"
    writes = zendesk_sandbox.stats["writes"]
    put(omneo_sandbox, id="pn", first_name="Nedward", profile_type="merged")
    assert sync_profile(ctx, "pn") == {"outcome": "skipped", "reason": "profile not found"}
    assert zendesk_sandbox.stats["writes"] == writes
    assert [u["name"] for u in zendesk_sandbox.users.values()] == ["Ned"]


def test_email_owned_by_another_profiles_user_is_a_conflict(ctx, omneo_sandbox, zendesk_sandbox):
    with zendesk_sandbox.lock:
        zendesk_sandbox._create({"name": "Other", "email": "shared@example.com", "external_id": "p-other"})
    put(omneo_sandbox, id="p3", first_name="Cy", email="shared@example.com")
    with pytest.raises(Conflict, match="another profile"):
        sync_profile(ctx, "p3")


def test_a_locked_profile_is_not_synced_concurrently(ctx, omneo_sandbox):
    put(omneo_sandbox, id="p4", first_name="Di")
    with ctx.state.profile_lock("p4"):
        with pytest.raises(LockBusy):
            sync_profile(ctx, "p4")
    assert sync_profile(ctx, "p4")["outcome"] == "created"
