"""Agents change users in Zendesk: the sandbox sends its user events, signed, to the webhook
`setup` registered; the receiver under gunicorn queues them; a Celery worker repairs the links.
No reconciliation runs in this stack (no beat), so every repair here comes from the events."""
from __future__ import annotations

import time

import jwt
import pytest
import requests

from integration.store import keys
from tests.e2e.helpers import dead_letter, hand_made_user, links, synced, until

pytestmark = pytest.mark.e2e


@pytest.fixture
def zstack(stack):
    """The stack after `omneo-zendesk setup`: both Zendesk webhooks point at the receiver."""
    done = stack.cli("setup", "--public-url", stack.receiver)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "zendesk user webhook" in done.stdout
    return stack


def api(stack, method: str, path: str, **kwargs) -> requests.Response:
    """A call to the Zendesk sandbox's API, as an agent's action in Zendesk would make."""
    return requests.request(method, f"{stack.zendesk}/api/v2{path}", timeout=10,
                            auth=stack.zendesk_auth,
                            **kwargs)


def user(stack, user_id) -> dict | None:
    r = api(stack, "GET", f"/users/{user_id}")
    return r.json()["user"] if r.status_code == 200 else None


def sidebar(stack, zendesk_user_id) -> dict:
    token = jwt.encode({"zendesk_user_id": int(zendesk_user_id), "exp": int(time.time() + 300)},
                       stack.env["ZENDESK_APP_SECRET"], algorithm="HS256")
    r = requests.get(stack.receiver + "/sidebar/profile", timeout=20,
                     headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200, r.text
    return r.json()


def next_ticket_lands_on(stack, requester_id, profile_id) -> None:
    ticket = stack.zendesk_add_ticket(requester_id, subject="Is my parcel coming?")
    stack.ticket_event(ticket["id"], "ticket.created")
    until(stack, lambda: [i for i in stack.interactions() if i.get("description") == "Is my parcel coming?"
                          and i["profile_id"] == profile_id], what="the ticket's interaction on the profile")


def user_events(stack) -> list[dict]:
    return requests.get(stack.zendesk + "/_sandbox/user_events", timeout=5).json()["events"]


def all_acted_on(stack) -> bool:
    """Every user event the sandbox sent was delivered and its job has finished."""
    events = user_events(stack)
    return bool(events) and all(stack.redis.exists(keys.zendesk_user_event_done(e["id"])) for e in events)


def writes(stack) -> tuple:
    return stack.stats("zendesk").get("writes", 0), stack.stats("omneo").get("writes", 0)


def test_agent_merges_a_synced_user_into_a_walk_in_contact(zstack):
    stack = zstack
    ours = synced(stack, "p-merge", first_name="Ada", last_name="Lovelace", email="ada@example.com")
    assert sidebar(stack, ours["id"])["found"] is True  # cached for the merged-away user
    walk_in = hand_made_user(stack, name="WhatsApp +61 400 000 001", phone="+61400000001")
    assert sidebar(stack, walk_in["id"])["found"] is False

    started = time.monotonic()
    api(stack, "PUT", f"/users/{ours['id']}/merge", json={"user": {"id": walk_in["id"]}}).raise_for_status()
    until(stack, lambda: links(stack, "p-merge") == [str(walk_in["id"])], what="the link naming the survivor")
    until(stack, lambda: (user(stack, walk_in["id"]) or {}).get("external_id") == "p-merge",
          what="the survivor's external_id")
    assert time.monotonic() - started < 60
    assert stack.redis.llen(keys.RECONCILE_RUNS) == 0

    view = sidebar(stack, walk_in["id"])
    assert view["found"] is True and view["profile"]["id"] == "p-merge"
    next_ticket_lands_on(stack, walk_in["id"], "p-merge")


def test_merge_into_another_profiles_user_is_dead_lettered_for_a_person(zstack):
    stack = zstack
    ours = synced(stack, "p-a", first_name="Ed", email="ed@example.com")
    theirs = synced(stack, "p-b", first_name="Flo", email="flo@example.com")
    api(stack, "PUT", f"/users/{ours['id']}/merge", json={"user": {"id": theirs["id"]}}).raise_for_status()
    entry = until(stack, lambda: dead_letter(stack, "omneo_zendesk.zendesk_user_event"),
                  what="the dead letter")
    assert entry["profile_id"] == "p-a" and "another live Omneo profile" in entry["error"]["message"]
    assert user(stack, theirs["id"])["external_id"] == "p-b"
    assert links(stack, "p-b") == [str(theirs["id"])]


def test_agent_deletes_a_synced_user(zstack):
    stack = zstack
    ours = synced(stack, "p-gone", first_name="Bo", email="bo@example.com")
    assert sidebar(stack, ours["id"])["found"] is True
    started = time.monotonic()
    api(stack, "DELETE", f"/users/{ours['id']}").raise_for_status()
    until(stack, lambda: links(stack, "p-gone") == [], what="the link gone")
    until(stack, lambda: stack.synced_mark("p-gone") is None, what="the watermark gone")
    assert time.monotonic() - started < 60
    assert not stack.redis.exists(keys.sidebar_cache("p-gone"))

    # ZENDESK_RECREATE_DELETED_USERS is off: the next profile update makes no new user
    profile = stack.put_profile(id="p-gone", first_name="Bo", last_name="Updated", email="bo@example.com")
    answer = stack.post_omneo("profile.updated", profile)
    assert answer.status_code == 202
    job_id = answer.json()["job_id"]
    until(stack, lambda: stack.job_outcome(job_id), what="the sync job's outcome")
    assert stack.job_outcome(job_id) == "skipped"
    assert stack.zendesk_user("p-gone") is None and links(stack, "p-gone") == []


def test_agent_edits_the_external_id_and_it_is_put_back(zstack):
    stack = zstack
    ours = synced(stack, "p-edit", first_name="Cy", email="cy@example.com")
    started = time.monotonic()
    requests.put(f"{stack.zendesk}/_sandbox/users/{ours['id']}", json={"external_id": "crm-4711"},
                 timeout=5).raise_for_status()
    until(stack, lambda: user(stack, ours["id"])["external_id"] == "p-edit", what="the external_id put back")
    assert time.monotonic() - started < 60
    assert links(stack, "p-edit") == [str(ours["id"])]
    assert sidebar(stack, ours["id"])["profile"]["id"] == "p-edit"
    next_ticket_lands_on(stack, ours["id"], "p-edit")


def test_reordered_and_repeated_deliveries_change_nothing_more(zstack):
    stack = zstack
    ours = synced(stack, "p-order", first_name="Di", email="di@example.com")
    walk_in = hand_made_user(stack, name="Di on WhatsApp", phone="+61400000002")
    requests.post(stack.zendesk + "/_sandbox/user_events/config", json={"hold": True}, timeout=5)
    api(stack, "PUT", f"/users/{ours['id']}/merge", json={"user": {"id": walk_in["id"]}}).raise_for_status()
    # newest first, each twice: the merge before the deactivation it caused
    released = requests.post(stack.zendesk + "/_sandbox/user_events/release",
                             json={"order": "reverse", "times": 2}, timeout=30).json()["deliveries"]
    assert [d["status"] for d in released] == [202, 202, 200, 200]
    until(stack, lambda: links(stack, "p-order") == [str(walk_in["id"])], what="the link naming the survivor")
    until(stack, lambda: all_acted_on(stack), what="every user event acted on")
    before = writes(stack), links(stack, "p-order"), user(stack, walk_in["id"])["external_id"]

    # the same events again, oldest last, after our dedupe and done marks are gone (as after a
    # Redis failover): the workers find nothing left to do
    events = user_events(stack)
    for event in events:
        stack.forget_delivery("zendesk", event["id"])
        stack.redis.delete(keys.zendesk_user_event_done(event["id"]),
                           keys.zendesk_user_event_clock(event["detail"]["id"]))
    for event in reversed(events):
        for _ in range(2):
            assert stack.post_zendesk(event).status_code in (200, 202)
    until(stack, lambda: all_acted_on(stack), what="every repeated event acted on")
    assert (writes(stack), links(stack, "p-order"), user(stack, walk_in["id"])["external_id"]) == before
    assert before[2] == "p-order"


def test_a_mobile_only_customer_merged_into_a_whatsapp_walk_in_follows_the_survivor(zstack):
    """No email to find the survivor by: only the documented `event.user.id` names it."""
    stack = zstack
    ours = synced(stack, "p-mobile", first_name="Mo", mobile_phone="+61400000011")
    assert ours.get("email") is None
    walk_in = hand_made_user(stack, name="WhatsApp +61 400 000 012", phone="+61400000012")

    started = time.monotonic()
    api(stack, "PUT", f"/users/{ours['id']}/merge", json={"user": {"id": walk_in["id"]}}).raise_for_status()
    [merged] = [e for e in user_events(stack) if e["type"] == "zen:event-type:user.merged"]
    assert merged["event"] == {"user": {"id": str(walk_in["id"])}} and merged["detail"]["external_id"] == "p-mobile"
    until(stack, lambda: links(stack, "p-mobile") == [str(walk_in["id"])], what="the link naming the survivor")
    until(stack, lambda: (user(stack, walk_in["id"]) or {}).get("external_id") == "p-mobile",
          what="the survivor's external_id")
    assert time.monotonic() - started < 60


def test_a_signed_merge_naming_a_live_user_joins_no_two_customers(zstack):
    """A user.merged that Zendesk's state does not bear out (its user is live) is recorded and not
    acted on. It carries the documented field and a key once guessed at, as a misread or forged
    event may: neither joins our customer to a live stranger."""
    stack = zstack
    ours = synced(stack, "p-live", first_name="Lu", email="lu@example.com")
    stranger = hand_made_user(stack, name="A stranger", phone="+61400000013")
    event = {"type": "zen:event-type:user.merged", "account_id": 1, "id": "forged-merge-1",
             "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "zendesk_event_version": "2022-06-20",
             "subject": f"zen:user:{ours['id']}",
             "detail": {"id": str(ours["id"]), "external_id": "p-live", "email": "lu@example.com",
                        "role": "end-user", "default_group_id": "0", "organization_id": "0"},
             "event": {"user": {"id": str(stranger["id"])}, "current": {"id": str(stranger["id"])}}}
    assert stack.post_zendesk(event).status_code == 202
    until(stack, lambda: stack.redis.exists(keys.zendesk_user_event_done("forged-merge-1")),
          what="the event's job")

    assert stack.zendesk_state()["merged_into"] == {}  # no merge at all
    assert user(stack, ours["id"])["active"] is True and user(stack, stranger["id"])["external_id"] is None
    assert links(stack, "p-live") == [str(ours["id"])]
    assert int(stack.redis.get(keys.USER_MERGES_REFUSED)) == 1
    [record] = stack.redis.lrange(keys.USER_MERGES_REFUSED_LOG, 0, -1)
    assert b"still live" in record and b"lu@example.com" not in record
