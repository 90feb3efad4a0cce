"""Profile sync over the real stack: signed webhook in, Zendesk user and Omneo identity out."""
from __future__ import annotations

import pytest

pytestmark = pytest.mark.e2e


def synced_identity(stack, profile_id):
    ids = [i for i in stack.profile(profile_id)["identities"] if i["handle"] == "zendesk"]
    return ids[0]["identifier"] if ids else None


def test_created_profile_becomes_zendesk_user_with_identity(stack):
    profile = stack.put_profile(id="p-100", first_name="Ada", last_name="Lovelace",
                                email="ada@example.com", mobile_phone="+61400000001", tier="gold")
    r = stack.post_omneo("profile.created", profile)
    assert r.status_code == 202, r.text
    assert r.json()["job_id"]

    user = stack.wait(lambda: stack.zendesk_user("p-100"), what="the Zendesk user")
    assert user["name"] == "Ada Lovelace"
    assert user["email"] == "ada@example.com"
    assert user["phone"] == "+61400000001"
    assert user["role"] == "end-user"
    assert user["user_fields"]["omneo_tier"] == "gold"
    assert "omneo_tier_gold" in user["tags"]
    identifier = stack.wait(lambda: synced_identity(stack, "p-100"), what="the zendesk identity")
    assert identifier == str(user["id"])


def test_update_uses_fresh_profile_not_stale_webhook_body(stack):
    stale = stack.put_profile(id="p-101", first_name="Old", last_name="Name", email="n@example.com")
    stack.put_profile(id="p-101", first_name="New")
    assert stack.post_omneo("profile.updated", stale).status_code == 202
    user = stack.wait(lambda: stack.zendesk_user("p-101"), what="the Zendesk user")
    assert user["name"] == "New Name"


def test_unchanged_profile_synced_again_makes_no_zendesk_write(stack):
    profile = stack.put_profile(id="p-102", first_name="Grace", email="grace@example.com", tier="silver")
    stack.post_omneo("profile.updated", profile)
    stack.wait(lambda: synced_identity(stack, "p-102"), what="first sync")
    writes = stack.stats()["writes"]
    # a different body (so not a duplicate delivery) about the same, unchanged profile
    r = stack.post_omneo("profile.updated", dict(profile, note="resent by hand"))
    assert r.status_code == 202
    job_id = r.json()["job_id"]
    done = stack.wait(lambda: stack.job_outcome(job_id), what="the second job")
    assert done == "unchanged"
    assert stack.stats()["writes"] == writes


def test_email_change_makes_new_address_primary(stack):
    profile = stack.put_profile(id="p-103", first_name="Kay", email="kay@old.example.com")
    stack.post_omneo("profile.created", profile)
    stack.wait(lambda: synced_identity(stack, "p-103"), what="first sync")
    profile = stack.put_profile(id="p-103", email="kay@new.example.com")
    stack.post_omneo("profile.updated", profile)
    user = stack.wait(lambda: (u := stack.zendesk_user("p-103")) and
                      u["email"] == "kay@new.example.com" and u, what="the new primary email")
    assert user["email"] == "kay@new.example.com"


def test_hand_made_zendesk_user_with_same_email_is_linked_not_duplicated(stack):
    import requests

    requests.post(stack.zendesk + "/_sandbox/users", json={"name": "Walk In", "email": "walk@example.com"},
                  timeout=5).raise_for_status()
    profile = stack.put_profile(id="p-104", first_name="Walk", last_name="In", email="walk@example.com")
    stack.post_omneo("profile.created", profile)
    user = stack.wait(lambda: stack.zendesk_user("p-104"), what="the linked user")
    assert len(stack.zendesk_users()) == 1
    assert stack.wait(lambda: synced_identity(stack, "p-104")) == str(user["id"])


def test_receiver_refuses_bad_signature_and_bad_body(stack):
    body = {"id": "p-105"}
    assert stack.post_omneo("profile.updated", body, secret="wrong-secret-value").status_code == 401
    assert stack.post_omneo("profile.updated", b"{not json").status_code == 400
    r = stack.post_omneo("profile.updated", {"first_name": "no id"})
    assert r.status_code == 400 and "id" in r.json()["error"]
    assert stack.post_omneo("profile.updated", b"x" * (1024 * 1024 + 1)).status_code == 413
    assert stack.post_omneo("order.created", {"id": 1}).status_code == 200
    assert stack.redis.llen("sync") == 0
