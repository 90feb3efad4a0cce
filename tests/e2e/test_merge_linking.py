"""Merges and manual links over the real stack: the Omneo sandbox delivers signed webhooks to the
receiver under gunicorn, a Celery worker folds users in the Zendesk sandbox."""
from __future__ import annotations

import json
import time

import jwt
import pytest
import requests

from integration.store import keys
from integration.store.dead_letters import DeadLetters
from integration.erasure import audit_records
from tests.e2e.helpers import dead_letter, hand_made_user, links, omneo_merge, subscribe, synced, until, user_ids

pytestmark = pytest.mark.e2e


def synced_mark(stack, profile_id) -> bool:
    """The job's last step: the sync watermark naming the profile's user."""
    return stack.synced_mark(profile_id) is not None


def synced_at(stack, profile_id) -> float:
    return (stack.synced_mark(profile_id) or {}).get("synced_at") or 0.0


def ticket(stack, requester_id) -> int:
    r = requests.post(stack.zendesk + "/_sandbox/tickets", json={"requester_id": requester_id,
                                                                  "subject": "Where is my order?"}, timeout=5)
    r.raise_for_status()
    return r.json()["ticket"]["id"]


def requester_of(stack, ticket_id) -> int:
    r = requests.get(f"{stack.zendesk}/api/v2/tickets/{ticket_id}", timeout=5,
                     auth=stack.zendesk_auth)
    r.raise_for_status()
    return r.json()["ticket"]["requester_id"]


def link_in_cx_manager(stack, profile_id, user_id):
    requests.post(f"{stack.omneo}/_sandbox/profiles/{profile_id}/identities",
                  json={"handle": "zendesk", "identifier": str(user_id)}, timeout=5).raise_for_status()


# merges

def test_merge_with_both_users_folds_loser_into_winner_with_its_tickets(stack):
    winner = synced(stack, "m-w1", first_name="Winnie", email="winnie@example.com")
    loser = synced(stack, "m-l1", first_name="Winnie", last_name="Dup", email="winnie.dup@example.com")
    ticket_id = ticket(stack, loser["id"])
    subscribe(stack, "profile.merged")

    omneo_merge(stack, "m-l1", "m-w1")

    until(stack, lambda: user_ids(stack) == [winner["id"]], what="the loser's user merged away")
    assert stack.zendesk_state()["merged_into"] == {str(loser["id"]): winner["id"]}
    assert requester_of(stack, ticket_id) == winner["id"]
    until(stack, lambda: links(stack, "m-w1") == [str(winner["id"])], what="one link naming the survivor")
    assert stack.zendesk_user("m-w1")["email"] == "winnie@example.com"


def test_merge_and_the_losers_deletion_arriving_together_lose_no_ticket(stack):
    """Omneo sends profile.merged and profile.deleted (of the loser) at once, in no set order:
    whichever job runs first, the loser's user ends up folded into the winner's, never erased."""
    winner = synced(stack, "m-w6", first_name="Both")
    loser = synced(stack, "m-l6", first_name="Both", last_name="Dup")
    ticket_id = ticket(stack, loser["id"])
    subscribe(stack, "profile.merged", "profile.deleted")

    omneo_merge(stack, "m-l6", "m-w6")

    audit = until(stack, lambda: [r for r in audit_records(stack.redis) if r["profile_id"] == "m-l6"],
                  what="the loser's erasure")
    until(stack, lambda: user_ids(stack) == [winner["id"]], what="the loser's user folded")
    until(stack, lambda: links(stack, "m-w6") == [str(winner["id"])], what="one link")
    assert requester_of(stack, ticket_id) == winner["id"]
    assert stack.zendesk_state()["purged"] == [] and stack.zendesk_state()["deleted"] == []
    assert audit[0]["outcome"] in ("re-pointed", "already gone")
    assert DeadLetters(stack.redis).list() == []


def test_merge_where_only_the_loser_has_a_user_repoints_it(stack):
    stack.put_profile(id="m-w2", first_name="Solo", last_name="Winner")
    loser = synced(stack, "m-l2", first_name="Solo")
    subscribe(stack, "profile.merged")

    omneo_merge(stack, "m-l2", "m-w2")

    until(stack, lambda: synced_mark(stack, "m-w2"), what="the merge job")
    user = stack.zendesk_user("m-w2")
    assert user["id"] == loser["id"] and user["name"] == "Solo Winner"
    assert user_ids(stack) == [loser["id"]]
    until(stack, lambda: links(stack, "m-w2") == [str(loser["id"])], what="the winner's link")


def test_merge_interrupted_after_the_fold_completes_on_retry(stack):
    winner = synced(stack, "m-w5", first_name="Retry")
    loser = synced(stack, "m-l5", first_name="Retry", last_name="Dup")
    ticket_id = ticket(stack, loser["id"])
    # Zendesk fails the call right after the merge went through, so the retry meets it done
    stack.configure("zendesk", fail=[{"path": "/users/create_or_update$", "method": "POST",
                                      "status": 503, "count": 1}])
    before = synced_at(stack, "m-w5")

    assert stack.post_omneo("profile.merged", {"winner_id": "m-w5", "loser_id": "m-l5"}).status_code == 202

    until(stack, lambda: synced_at(stack, "m-w5") > before, what="the retried merge to finish")
    assert stack.stats()["injected_failures"] == 1
    assert user_ids(stack) == [winner["id"]]
    assert links(stack, "m-w5") == [str(winner["id"])]
    assert requester_of(stack, ticket_id) == winner["id"]
    assert dead_letter(stack, "omneo_zendesk.merge_profiles") is None


def test_merge_refused_by_zendesk_goes_to_dead_letters_with_reason(stack):
    winner = synced(stack, "m-w3", first_name="Busy")
    loser = synced(stack, "m-l3", first_name="Busy", last_name="Too")
    ticket(stack, loser["id"])
    stack.configure("zendesk", merge_ticket_limit=0)  # as a requester on over 10,000 tickets

    r = stack.post_omneo("profile.merged", {"winner_id": "m-w3", "loser_id": "m-l3"})
    assert r.status_code == 202, r.text

    entry = until(stack, lambda: dead_letter(stack, "omneo_zendesk.merge_profiles"), what="the dead letter")
    assert entry["args"] == ["m-w3", ["m-l3"]]
    assert entry["error"]["type"] == "Conflict" and entry["error"]["status"] == 422
    assert f"refused to merge user {loser['id']} into user {winner['id']}" in entry["error"]["message"]
    assert entry["attempts"] == 1  # a person must act; retrying cannot help
    assert user_ids(stack) == sorted([winner["id"], loser["id"]])

    # once the operator has dealt with it, the dead letter is replayed and the merge completes
    listed = json.loads(stack.cli("dlq", "list", "--json").stdout)
    assert [e["id"] for e in listed] == [entry["id"]] and "refused to merge" in json.dumps(listed)
    stack.configure("zendesk", merge_ticket_limit=10_000)
    done = stack.cli("dlq", "replay", entry["id"])
    assert done.returncode == 0, done.stderr
    until(stack, lambda: user_ids(stack) == [winner["id"]], what="the replayed merge")
    until(stack, lambda: DeadLetters(stack.redis).list() == [], what="the entry to leave the store")


def test_merge_body_without_a_loser_is_refused_naming_the_field(stack):
    r = stack.post_omneo("profile.merged", {"id": "m-w4"})
    assert r.status_code == 400 and "merged_profile_id" in r.json()["error"]
    assert stack.redis.llen("sync") == 0


# manual links

def test_identity_created_links_walk_in_contact(stack):
    walk_in = hand_made_user(stack, email="walkin@example.com")
    stack.put_profile(id="k-p1", first_name="Kim", last_name="Linked", email="kim@example.com", tier="gold")
    subscribe(stack, "identity.created")

    link_in_cx_manager(stack, "k-p1", walk_in["id"])

    until(stack, lambda: synced_mark(stack, "k-p1"), what="the link job")
    user = stack.zendesk_user("k-p1")
    assert user["id"] == walk_in["id"]
    assert user["name"] == "Kim Linked" and user["user_fields"]["omneo_tier"] == "gold"
    assert user["email"] == "kim@example.com"
    assert user_ids(stack) == [walk_in["id"]]
    assert links(stack, "k-p1") == [str(walk_in["id"])]


def test_link_to_profile_with_a_user_folds_the_contact_into_it(stack):
    own = synced(stack, "k-p2", first_name="Lee", email="lee@example.com")
    walk_in = hand_made_user(stack, email="lee.at.work@example.com")
    ticket_id = ticket(stack, walk_in["id"])
    subscribe(stack, "identity.created")

    link_in_cx_manager(stack, "k-p2", walk_in["id"])

    until(stack, lambda: user_ids(stack) == [own["id"]], what="the contact folded into the profile's user")
    assert requester_of(stack, ticket_id) == own["id"]
    until(stack, lambda: links(stack, "k-p2") == [str(own["id"])], what="one link naming the survivor")


def test_identity_body_as_the_profile_is_accepted(stack):
    walk_in = hand_made_user(stack)
    stack.put_profile(id="k-p3", first_name="Mo")
    link_in_cx_manager_quietly = requests.post(
        f"{stack.omneo}/_sandbox/profiles/k-p3/identities?emit=0",
        json={"handle": "zendesk", "identifier": str(walk_in["id"])}, timeout=5)
    link_in_cx_manager_quietly.raise_for_status()

    r = stack.post_omneo("identity.updated", stack.profile("k-p3"))
    assert r.status_code == 202, r.text
    until(stack, lambda: synced_mark(stack, "k-p3"), what="the link job")
    assert stack.zendesk_user("k-p3")["id"] == walk_in["id"]

    other = stack.post_omneo("identity.created", {"id": "i-9", "profile_id": "k-p3", "handle": "shopify",
                                                  "identifier": "cust-42"})
    assert other.status_code == 200 and other.json()["status"] == "ignored"


def test_contact_claimed_by_another_live_profile_is_a_dead_letter(stack):
    theirs = synced(stack, "k-owner", first_name="Owner")
    stack.put_profile(id="k-p4", first_name="Claimant")
    subscribe(stack, "identity.created")

    link_in_cx_manager(stack, "k-p4", theirs["id"])

    entry = until(stack, lambda: dead_letter(stack, "omneo_zendesk.link_identity"), what="the dead letter")
    assert entry["args"][0] == "k-p4" and entry["error"]["type"] == "Conflict"
    assert "claimed by another live Omneo profile (k-owner)" in entry["error"]["message"]
    assert stack.zendesk_user("k-owner")["id"] == theirs["id"]  # never re-pointed
    assert stack.zendesk_user("k-p4") is None


# the sync job's repair

def test_sync_repairs_profile_left_with_two_links(stack):
    first = synced(stack, "r-p1", first_name="Rae", email="rae@example.com")
    second = hand_made_user(stack, email="rae.old@example.com")
    ticket_id = ticket(stack, second["id"])
    profile = stack.put_profile(id="r-p1", identities=[{"handle": "zendesk", "identifier": str(first["id"])},
                                                       {"handle": "zendesk", "identifier": str(second["id"])}])
    assert len(links(stack, "r-p1")) == 2

    assert stack.post_omneo("profile.updated", profile).status_code == 202

    until(stack, lambda: user_ids(stack) == [first["id"]], what="the second user folded into the first")
    assert requester_of(stack, ticket_id) == first["id"]
    until(stack, lambda: links(stack, "r-p1") == [str(first["id"])], what="one link naming the survivor")


# what agents see next (issue 9 item 4): interactions and the sidebar follow the link

def sidebar_for(stack, zendesk_user_id, email=None) -> dict:
    claims = {"zendesk_user_id": zendesk_user_id, "exp": int(time.time() + 300)}
    if email:
        claims["email"] = email
    token = jwt.encode(claims, stack.env["ZENDESK_APP_SECRET"], algorithm="HS256")
    r = requests.get(stack.receiver + "/sidebar/profile", headers={"Authorization": f"Bearer {token}"},
                     timeout=20)
    r.raise_for_status()
    return r.json()


def test_linked_contacts_next_ticket_event_and_sidebar_show_the_profile(stack):
    walk_in = hand_made_user(stack, email="nell.work@example.com")
    stack.put_profile(id="k-p5", first_name="Nell", last_name="Linked", email="nell@example.com")
    ticket_id = ticket(stack, walk_in["id"])
    stack.subscribe_receiver("zen:event-type:ticket.created", "zen:event-type:ticket.status_changed")
    subscribe(stack, "identity.created")

    # before the link nobody knows this contact
    # the sidebar offers to look them up in CX Manager, where the agent links them
    assert sidebar_for(stack, walk_in["id"], "nell.work@example.com") == {
        "found": False,
        "cx_manager_search_url": "https://sandbox.manager.getomneo.com/profiles?search=nell.work%40example.com"}
    sent = stack.ticket_event(ticket_id, "zen:event-type:ticket.created")
    assert [d["status"] for d in sent["deliveries"]] == [202]
    until(stack, lambda: stack.redis.get(keys.INTERACTIONS_SKIPPED) == b"1", what="the event skipped")

    link_in_cx_manager(stack, "k-p5", walk_in["id"])
    until(stack, lambda: synced_mark(stack, "k-p5"), what="the link job")

    # no restart, no cache flush: the next event and the sidebar find the profile
    sent = stack.ticket_event(ticket_id, "zen:event-type:ticket.status_changed", status="solved")
    assert [d["status"] for d in sent["deliveries"]] == [202]
    made = until(stack, lambda: [i for i in stack.interactions() if i["name"] == "Ticket solved"],
                      what="the interaction")
    assert [i["profile_id"] for i in made] == ["k-p5"]
    view = sidebar_for(stack, walk_in["id"], "nell.work@example.com")
    assert view["found"] is True and view["profile"]["id"] == "k-p5"
    assert view["profile"]["name"] == "Nell Linked"
