"""Merges, manual links and the two-link repair as plain functions against the in-process
sandboxes (fakeredis state, real HTTP to the sandboxes)."""
from __future__ import annotations

import pytest
from marshmallow import ValidationError

from integration.store import keys
from integration.errors import Conflict, LockBusy
from integration.profiles.linking import link_identity
from integration.profiles.merge import merge_profiles
from integration.profiles.sync import sync_profile
from web.schemas import OmneoIdentityEvent, OmneoMergeEvent
from tests.helpers import add_user, links, put, user_of


def add_link(omneo, profile_id, user_id, handle="zendesk"):
    """An agent links a Zendesk user in CX Manager: one more identity beside any others."""
    with omneo.lock:
        profile = omneo.profiles[profile_id]
        profile["identities"].append(omneo._identity(profile, handle, str(user_id)))
        profile["updated_at"] = omneo._stamp()


def omneo_merge(omneo, loser_id, winner_id):
    """What CX Manager does on a merge: identities move (marked merged_from), the loser goes."""
    with omneo.lock:
        loser, winner = omneo.profiles.pop(loser_id), omneo.profiles[winner_id]
        for identity in loser["identities"]:
            identity.update(profile_id=winner_id, merged_from=loser_id)
            winner["identities"].append(identity)
        winner["updated_at"] = omneo._stamp()


def ticket_for(zendesk, user_id):
    with zendesk.lock:
        ticket_id = max(zendesk.tickets, default=100) + 1
        zendesk.tickets[ticket_id] = {"id": ticket_id, "requester_id": int(user_id), "subject": "Help"}
        return ticket_id


# merges

def test_merge_folds_losers_user_into_winners_and_moves_tickets(ctx, omneo_sandbox, zendesk_sandbox):
    put(omneo_sandbox, "w1", first_name="Winner", email="w1@example.com")
    put(omneo_sandbox, "l1", first_name="Loser", email="l1@example.com")
    sync_profile(ctx, "w1"), sync_profile(ctx, "l1")
    winner_user, loser_user = user_of(zendesk_sandbox, "w1"), user_of(zendesk_sandbox, "l1")
    ticket = ticket_for(zendesk_sandbox, loser_user["id"])
    omneo_merge(omneo_sandbox, "l1", "w1")

    result = merge_profiles(ctx, "w1", ["l1"])

    assert result["folded"] == [str(loser_user["id"])]
    assert list(zendesk_sandbox.users) == [winner_user["id"]]
    assert zendesk_sandbox.merged_into[loser_user["id"]] == winner_user["id"]
    assert zendesk_sandbox.tickets[ticket]["requester_id"] == winner_user["id"]
    assert links(omneo_sandbox, "w1") == [str(winner_user["id"])]
    # the loser's address stays on the survivor as a secondary identity
    emails = {i["value"] for i in zendesk_sandbox.identities_by_user[winner_user["id"]]}
    assert emails == {"w1@example.com", "l1@example.com"}
    assert winner_user["email"] == "w1@example.com"


def test_merge_again_changes_nothing(ctx, omneo_sandbox, zendesk_sandbox):
    put(omneo_sandbox, "w2", first_name="Winner")
    put(omneo_sandbox, "l2", first_name="Loser")
    sync_profile(ctx, "w2"), sync_profile(ctx, "l2")
    omneo_merge(omneo_sandbox, "l2", "w2")
    merge_profiles(ctx, "w2", ["l2"])
    writes = zendesk_sandbox.stats["writes"]
    assert merge_profiles(ctx, "w2", ["l2"])["outcome"] == "unchanged"
    assert zendesk_sandbox.stats["writes"] == writes


def test_merge_where_only_the_loser_has_a_user_repoints_it(ctx, omneo_sandbox, zendesk_sandbox):
    put(omneo_sandbox, "w3", first_name="Winner", last_name="Three")
    put(omneo_sandbox, "l3", first_name="Loser")
    sync_profile(ctx, "l3")
    loser_user = user_of(zendesk_sandbox, "l3")
    # the sidebar had shown the loser for that user
    ctx.redis.set(keys.sidebar_requester(str(loser_user["id"])), "l3")
    ctx.redis.set(keys.sidebar_cache("l3"), "{}")
    omneo_merge(omneo_sandbox, "l3", "w3")

    result = merge_profiles(ctx, "w3", ["l3"])

    assert result["repointed"] is True and result["folded"] == []
    assert list(zendesk_sandbox.users) == [loser_user["id"]]
    assert loser_user["external_id"] == "w3" and loser_user["name"] == "Winner Three"
    assert links(omneo_sandbox, "w3") == [str(loser_user["id"])]
    assert not ctx.redis.exists(keys.sidebar_requester(str(loser_user["id"])), keys.sidebar_cache("l3"))
    assert ctx.state.synced_mark("l3") is None


def test_merge_where_only_the_winner_has_a_user_keeps_it(ctx, omneo_sandbox, zendesk_sandbox):
    put(omneo_sandbox, "w4", first_name="Winner")
    put(omneo_sandbox, "l4", first_name="Loser")
    sync_profile(ctx, "w4")
    omneo_merge(omneo_sandbox, "l4", "w4")
    merge_profiles(ctx, "w4", ["l4"])
    assert [u["external_id"] for u in zendesk_sandbox.users.values()] == ["w4"]
    assert links(omneo_sandbox, "w4") == [str(user_of(zendesk_sandbox, "w4")["id"])]


def test_merge_refused_by_zendesk_is_a_conflict_and_changes_nothing(ctx, omneo_sandbox, zendesk_sandbox):
    put(omneo_sandbox, "w5", first_name="Winner")
    put(omneo_sandbox, "l5", first_name="Loser")
    sync_profile(ctx, "w5"), sync_profile(ctx, "l5")
    ticket_for(zendesk_sandbox, user_of(zendesk_sandbox, "l5")["id"])
    zendesk_sandbox.merge_ticket_limit = 0
    omneo_merge(omneo_sandbox, "l5", "w5")
    with pytest.raises(Conflict, match="refused to merge") as caught:
        merge_profiles(ctx, "w5", ["l5"])
    assert caught.value.describe()["status"] == 422
    assert len(zendesk_sandbox.users) == 2
    assert ctx.redis.get("oz:lock:profile:w5") is None  # both locks were released
    assert ctx.redis.get("oz:lock:profile:l5") is None


def test_merge_waits_for_either_profiles_lock(ctx, omneo_sandbox):
    put(omneo_sandbox, "w6")
    with ctx.state.profile_lock("l6"):
        with pytest.raises(LockBusy):
            merge_profiles(ctx, "w6", ["l6"])
    assert ctx.redis.get("oz:lock:profile:w6") is None


# manual links

def test_link_points_walk_in_contact_at_profile(ctx, omneo_sandbox, zendesk_sandbox):
    walk_in = add_user(zendesk_sandbox, email="walkin@example.com")
    put(omneo_sandbox, "p1", first_name="Ada", last_name="Link", email="ada@example.com", tier="gold")
    add_link(omneo_sandbox, "p1", walk_in["id"])

    result = link_identity(ctx, "p1", str(walk_in["id"]))

    assert result["repointed"] is True
    assert list(zendesk_sandbox.users) == [walk_in["id"]]
    assert walk_in["external_id"] == "p1" and walk_in["name"] == "Ada Link"
    assert walk_in["email"] == "ada@example.com"
    emails = {i["value"] for i in zendesk_sandbox.identities_by_user[walk_in["id"]]}
    assert "walkin@example.com" in emails  # the address the customer writes from stays
    assert links(omneo_sandbox, "p1") == [str(walk_in["id"])]


def test_link_to_profile_with_a_user_folds_the_contact_into_it(ctx, omneo_sandbox, zendesk_sandbox):
    put(omneo_sandbox, "p2", first_name="Bo", email="bo@example.com")
    sync_profile(ctx, "p2")
    own = user_of(zendesk_sandbox, "p2")
    walk_in = add_user(zendesk_sandbox, email="bo.other@example.com")
    ticket = ticket_for(zendesk_sandbox, walk_in["id"])
    add_link(omneo_sandbox, "p2", walk_in["id"])

    result = link_identity(ctx, "p2", str(walk_in["id"]))

    assert result["folded"] == [str(walk_in["id"])]
    assert list(zendesk_sandbox.users) == [own["id"]]
    assert zendesk_sandbox.tickets[ticket]["requester_id"] == own["id"]
    assert links(omneo_sandbox, "p2") == [str(own["id"])]


def test_link_replacing_the_identity_still_folds_into_the_profiles_user(ctx, omneo_sandbox, zendesk_sandbox):
    put(omneo_sandbox, "p3", first_name="Cy")
    sync_profile(ctx, "p3")
    own = user_of(zendesk_sandbox, "p3")
    walk_in = add_user(zendesk_sandbox)
    with omneo_sandbox.lock:  # the agent edited the identity rather than adding one
        omneo_sandbox.profiles["p3"]["identities"][0]["identifier"] = str(walk_in["id"])
    link_identity(ctx, "p3", str(walk_in["id"]))
    assert list(zendesk_sandbox.users) == [own["id"]]
    assert links(omneo_sandbox, "p3") == [str(own["id"])]


def test_contact_claimed_by_another_live_profile_is_a_conflict(ctx, omneo_sandbox, zendesk_sandbox):
    put(omneo_sandbox, "other", first_name="Other")
    sync_profile(ctx, "other")
    theirs = user_of(zendesk_sandbox, "other")
    put(omneo_sandbox, "p4", first_name="Di")
    add_link(omneo_sandbox, "p4", theirs["id"])
    with pytest.raises(Conflict, match="another live Omneo profile") as caught:
        link_identity(ctx, "p4", str(theirs["id"]))
    assert "other" in str(caught.value)
    assert theirs["external_id"] == "other"
    assert len(zendesk_sandbox.users) == 1


def test_contact_of_a_deleted_profile_may_be_linked(ctx, omneo_sandbox, zendesk_sandbox):
    orphan = add_user(zendesk_sandbox, external_id="gone-profile")
    put(omneo_sandbox, "p5", first_name="Ed")
    add_link(omneo_sandbox, "p5", orphan["id"])
    link_identity(ctx, "p5", str(orphan["id"]))
    assert orphan["external_id"] == "p5"


def test_staff_user_is_never_linked(ctx, omneo_sandbox, zendesk_sandbox):
    agent = add_user(zendesk_sandbox, role="agent")
    put(omneo_sandbox, "p6", first_name="Fi")
    add_link(omneo_sandbox, "p6", agent["id"])
    with pytest.raises(Conflict, match="staff"):
        link_identity(ctx, "p6", str(agent["id"]))
    assert agent["role"] == "agent" and agent["external_id"] is None


def test_link_gone_from_the_profile_is_not_acted_on(ctx, omneo_sandbox, zendesk_sandbox):
    walk_in = add_user(zendesk_sandbox)
    put(omneo_sandbox, "p7", first_name="Gus")
    assert link_identity(ctx, "p7", str(walk_in["id"]))["outcome"] == "skipped"
    assert walk_in["external_id"] is None


# the sync job's repair

def test_sync_repairs_a_profile_with_two_links(ctx, omneo_sandbox, zendesk_sandbox):
    put(omneo_sandbox, "w7", first_name="Winner", email="w7@example.com")
    put(omneo_sandbox, "l7", first_name="Loser", email="l7@example.com")
    sync_profile(ctx, "w7"), sync_profile(ctx, "l7")
    first, second = user_of(zendesk_sandbox, "w7"), user_of(zendesk_sandbox, "l7")
    ticket = ticket_for(zendesk_sandbox, second["id"])
    omneo_merge(omneo_sandbox, "l7", "w7")
    assert len(links(omneo_sandbox, "w7")) == 2

    result = sync_profile(ctx, "w7")

    assert result["folded"] == [str(second["id"])]
    assert list(zendesk_sandbox.users) == [first["id"]]
    assert zendesk_sandbox.tickets[ticket]["requester_id"] == first["id"]
    assert links(omneo_sandbox, "w7") == [str(first["id"])]
    writes = zendesk_sandbox.stats["writes"]
    assert sync_profile(ctx, "w7")["outcome"] == "unchanged"
    assert zendesk_sandbox.stats["writes"] == writes


def test_sync_follows_a_new_link_on_profile_update(ctx, omneo_sandbox, zendesk_sandbox):
    walk_in = add_user(zendesk_sandbox)
    put(omneo_sandbox, "p8", first_name="Hal")
    add_link(omneo_sandbox, "p8", walk_in["id"])
    sync_profile(ctx, "p8")
    assert list(zendesk_sandbox.users) == [walk_in["id"]] and walk_in["external_id"] == "p8"


# webhook bodies

@pytest.mark.parametrize("body", [
    {"id": "w", "merged_profile_id": "l", "profile": {"id": "w", "identities": []}},
    {"winner_id": "w", "loser_id": "l"},
    {"profile_id": "w", "merged_from": "l"},
    {"profile_id": "w", "merged_from": ["l"]},
    {"id": "w", "identities": [{"handle": "zendesk", "identifier": "1", "merged_from": "l"}]},
    {"id": "w", "profile": {"id": "w", "identities": [{"handle": "shopify", "merged_from": "l"}]}},
    {"id": "w", "merged_profile_ids": ["l", "w"]},
    {"id": "w", "merged_profile_id": "l", "profile": None, "identities": None},
])
def test_merge_event_forms(body):
    assert OmneoMergeEvent().load(body) == {"id": "w", "merged_ids": ["l"]}


@pytest.mark.parametrize("body, field", [
    ({"id": "w"}, "merged_profile_id"),
    ({"loser_id": "l"}, "id"),
    ({"id": "w", "merged_profile_id": {"x": 1}}, "merged_profile_id"),
])
def test_merge_event_without_a_fitting_form_names_the_field(body, field):
    with pytest.raises(ValidationError) as caught:
        OmneoMergeEvent().load(body)
    assert field in caught.value.messages


def test_identity_event_forms():
    schema = OmneoIdentityEvent(handle="zendesk")
    identity = {"id": "i1", "profile_id": "p", "handle": "zendesk", "identifier": "123"}
    assert schema.load(identity) == {"profile_id": "p", "zendesk_user_id": "123"}
    assert schema.load(dict(identity, handle="shopify", identifier="x"))["ignore"]
    profile = {"id": "p", "identities": [identity]}
    assert schema.load(profile) == {"profile_id": "p", "zendesk_user_id": None}
    assert schema.load({"id": "p", "identities": []})["ignore"]
    with pytest.raises(ValidationError) as caught:
        schema.load(dict(identity, identifier="not-a-user"))
    assert "identifier" in caught.value.messages
    with pytest.raises(ValidationError) as caught:
        schema.load({"handle": "zendesk", "identifier": "1"})
    assert "profile_id" in caught.value.messages
