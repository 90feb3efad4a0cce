"""Right to be forgotten over the real stack: signed profile.deleted in, Zendesk user purged,
our Redis cleaned but for the tombstone and the audit trail."""
from __future__ import annotations

import json
import time

import jwt
import pytest
import requests

from integration.store import keys
from integration.settings.declared import load_settings
from tests.e2e.helpers import audit, audit_of, delete_profile, erase, redis_value, synced_customer

pytestmark = pytest.mark.e2e


def test_deleted_profile_is_erased_permanently_and_listed(stack):
    user = synced_customer(stack, "gone-1")
    delete_profile(stack, "gone-1")
    job_id = erase(stack, {"id": "gone-1"})  # the body may carry nothing but the id

    stack.wait(lambda: user["id"] in stack.zendesk_state()["purged"], what="the permanent deletion")
    state = stack.zendesk_state()
    assert not any(u["id"] == user["id"] for u in state["users"] + state["deleted"])
    assert stack.wait(lambda: stack.job_outcome(job_id), what="the job's outcome") == "erased"

    listed = stack.cli("erasures", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    record = next(r for r in json.loads(listed.stdout) if r["profile_id"] == "gone-1")
    assert (record["outcome"], record["zendesk_user_id"], record["id"]) == ("erased", str(user["id"]), job_id)
    assert record["requested_at"] <= record["started_at"] <= record["finished_at"]
    assert "@example.com" not in listed.stdout and "Erin" not in listed.stdout
    table = stack.cli("erasures", "list")
    assert table.returncode == 0
    row = next(line for line in table.stdout.splitlines() if "gone-1" in line)
    assert str(user["id"]) in row and "erased" in row
    logged = json.dumps(stack.log_records(job_id))
    assert job_id in logged and "@example.com" not in logged and "Erin" not in logged


def test_user_already_gone_counts_as_done(stack):
    user = synced_customer(stack, "gone-2")
    auth = stack.zendesk_auth
    for path in (f"/api/v2/users/{user['id']}", f"/api/v2/deleted_users/{user['id']}"):
        requests.delete(stack.zendesk + path, auth=auth, timeout=5).raise_for_status()
    delete_profile(stack, "gone-2")
    never = erase(stack, {"id": "never-synced"})
    gone = erase(stack, {"id": "gone-2"})

    assert stack.wait(lambda: stack.job_outcome(gone), what="the erasure") == "already gone"
    assert stack.wait(lambda: stack.job_outcome(never), what="the erasure") == "already gone"
    assert stack.redis.zcard(keys.DLQ_INDEX) == 0
    assert audit_of(stack, "gone-2")["outcome"] == "already gone"


def test_merged_loser_user_is_repointed_not_deleted(stack):
    user = synced_customer(stack, "loser-1")
    stack.put_profile(id="winner-1", first_name="Erin", email="winner-1@example.com")
    requests.post(f"{stack.omneo}/_sandbox/profiles/loser-1/merge", json={"into": "winner-1"},
                  timeout=5).raise_for_status()
    job_id = erase(stack, {"id": "loser-1"})

    assert stack.wait(lambda: stack.job_outcome(job_id), what="the erasure") == "re-pointed"
    kept = stack.zendesk_user("winner-1")
    assert kept and kept["id"] == user["id"]
    assert user["id"] not in stack.zendesk_state()["purged"] and not stack.zendesk_state()["deleted"]
    assert audit_of(stack, "loser-1")["repointed_to"] == "winner-1"


def test_nothing_of_the_profile_stays_in_redis_but_tombstone_and_audit(stack):
    # a real dead letter about the profile, its error body quoting the email, as Zendesk's 422 does
    refusal = {"error": "RecordInvalid", "details": {"email": [
        {"description": "Email: gone-3@example.com is already being used by another user"}]}}
    stack.configure("zendesk", fail=[{"path": "create_or_update", "status": 422, "count": 1,
                                      "body": refusal}])
    profile = stack.put_profile(id="gone-3", first_name="Erin", email="gone-3@example.com")
    assert stack.post_omneo("profile.created", profile).status_code == 202
    stack.wait(lambda: stack.redis.scard(keys.dlq_by_profile("gone-3")), what="the dead letter")
    user = synced_customer(stack, "gone-3", note="fixed")
    # an agent opened a ticket of theirs: the sidebar cached the profile and the requester's link
    claims = {"zendesk_user_id": str(user["id"]), "exp": int(time.time() + 300)}
    token = jwt.encode(claims, stack.env["ZENDESK_APP_SECRET"], algorithm="HS256")
    seen = requests.get(stack.receiver + "/sidebar/profile", timeout=20,
                        headers={"Authorization": f"Bearer {token}"}).json()
    assert seen["found"] and stack.redis.exists(keys.sidebar_cache("gone-3"))
    other = synced_customer(stack, "stays-3")
    delete_profile(stack, "gone-3")

    job_id = erase(stack, {"id": "gone-3", "identities": [
        {"handle": "zendesk", "identifier": str(user["id"])}, {"handle": "shopify", "identifier": "gid://x/1"}]})
    assert stack.wait(lambda: stack.job_outcome(job_id), what="the erasure") == "erased"

    naming = []
    for key in stack.redis.scan_iter(match="oz:*"):
        if b"gone-3" in key or b"gone-3" in redis_value(stack.redis, key):
            naming.append(key.decode())
    assert sorted(naming) == [keys.ERASURE_AUDIT, keys.erased("gone-3")]
    assert b"@example.com" not in stack.redis.lindex(keys.ERASURE_AUDIT, 0)
    assert stack.synced_mark("stays-3") and stack.zendesk_user("stays-3")["id"] == other["id"]


def test_dead_lettered_ticket_events_leave_nothing_of_the_customer(stack):
    """One ticket event dead-letters before its requester is resolved (Zendesk refuses the user
    lookup), one after (Omneo refuses the interaction); erasure drops both."""
    stack.put_profile(id="gone-7", first_name="Erin", email="gone-7@example.com")
    user = stack.zendesk_add_user(email="gone-7@example.com", external_id="gone-7")
    subjects = ["Rash after the face cream", "Refund for the face cream"]
    tickets = [stack.zendesk_add_ticket(user["id"], subject=s) for s in subjects]
    stack.subscribe_receiver("zen:event-type:ticket.created")
    refusals = [
        ("zendesk", {"path": f"/users/{user['id']}$", "method": "GET", "status": 403,
                     "count": 1, "body": {"error": "Forbidden"}}),
        ("omneo", {"path": "/interactions$", "method": "POST", "status": 422, "count": 1,
                   "body": {"message": "The given data was invalid.", "errors": {
                       "description": [f"{subjects[1]} is too personal"]}}}),
    ]
    for n, (ticket, (api, refusal)) in enumerate(zip(tickets, refusals), start=1):
        stack.configure(api, fail=[refusal])
        sent = stack.ticket_event(ticket["id"], "zen:event-type:ticket.created")
        assert [d["status"] for d in sent["deliveries"]] == [202]
        stack.wait(lambda: stack.redis.zcard(keys.DLQ_INDEX) == n, what=f"dead letter {n}")
    assert stack.interactions() == []
    for ticket in tickets:  # closed, so the default ERASURE_TICKETS=wait erases the user at once
        stack.ticket_event(ticket["id"], "zen:event-type:ticket.status_changed", status="closed")
    delete_profile(stack, "gone-7")

    job_id = erase(stack, {"id": "gone-7"})
    assert stack.wait(lambda: stack.job_outcome(job_id), what="the erasure") == "erased"

    naming = [key.decode() for key in stack.redis.scan_iter(match="oz:*")
              if any(s in key + redis_value(stack.redis, key)
                     for s in (b"gone-7", b"face cream", str(user["id"]).encode()))]
    assert sorted(naming) == [keys.ERASURE_AUDIT, keys.erased("gone-7")]
    assert b"face cream" not in stack.redis.lindex(keys.ERASURE_AUDIT, 0)
    assert stack.redis.zcard(keys.DLQ_INDEX) == 0


def test_stale_update_after_erasure_does_not_recreate_the_user(stack):
    user = synced_customer(stack, "gone-4")
    stale = stack.profile("gone-4")
    delete_profile(stack, "gone-4")
    job_id = erase(stack, {"id": "gone-4"})
    assert stack.wait(lambda: stack.job_outcome(job_id), what="the erasure") == "erased"

    # Omneo (a lagging replica, say) still serves the profile when the stale update arrives:
    # only the tombstone stands between it and a re-created user
    stack.put_profile(**{k: v for k, v in stale.items() if k not in ("identities", "tier")})
    r = stack.post_omneo("profile.updated", dict(stale, updated_at="2099-01-01 00:00:00"))
    assert r.status_code == 202
    assert stack.wait(lambda: stack.job_outcome(r.json()["job_id"]), what="the stale sync") == "skipped"
    assert stack.zendesk_user("gone-4") is None
    assert user["id"] in stack.zendesk_state()["purged"]


def test_receiver_validates_deletion_bodies(stack):
    r = stack.post_omneo("profile.deleted", {"first_name": "no id"})
    assert r.status_code == 400 and "id" in r.json()["error"]
    assert stack.post_omneo("profile.deleted", {"id": ["not", "an", "id"]}).status_code == 400
    assert stack.post_omneo("profile.deleted", {"id": "gone-5", "identities": "zendesk"}).status_code == 400
    first = stack.post_omneo("profile.deleted", {"id": "gone-5"})
    assert first.status_code == 202
    again = stack.post_omneo("profile.deleted", {"id": "gone-5"})
    assert again.status_code == 200 and again.json()["duplicate"] is True
    assert stack.redis.llen("sync") == 0


def test_erasure_is_served_while_the_sync_queue_is_backed_up(stack):
    user = synced_customer(stack, "gone-6")
    delete_profile(stack, "gone-6")
    # as many syncs as stay queued one by one (BULK_SYNC_THRESHOLD, 20 by default: more are parked
    # for the burst drain, on another queue), each taking at least a second
    backlog = load_settings(stack.env).bulk_sync_threshold
    stack.configure("omneo", latency=1.0)
    try:
        for n in range(backlog):
            assert stack.post_omneo("profile.updated", {"id": f"slow-{n}"}).status_code == 202
        job_id = erase(stack, {"id": "gone-6"})

        stack.wait(lambda: user["id"] in stack.zendesk_state()["purged"], timeout=60,
                   what="the erasure behind the backlog")
        waiting = stack.redis.llen("sync")
        assert waiting >= backlog // 2, f"only {waiting} of {backlog} sync jobs were still queued"
        assert stack.wait(lambda: stack.job_outcome(job_id)) == "erased"
    finally:  # leave the shared worker idle for the next test
        stack.redis.delete("sync")
        stack.configure("omneo", latency=0)


def test_omneo_merge_emitting_merged_and_deleted_leaves_one_user_with_all_tickets(stack):
    """Omneo sends profile.merged and profile.deleted for the loser at once; whichever job runs
    first, the loser's user ends folded into the winner's, tickets and all, and nothing is purged."""
    loser, winner = synced_customer(stack, "loser-2"), synced_customer(stack, "winner-2")
    ticket = requests.post(stack.zendesk + "/_sandbox/tickets", json={"requester_id": loser["id"],
                                                                      "subject": "Refund"}, timeout=5)
    ticket.raise_for_status()
    auth = {"Authorization": f"Bearer {stack.env['OMNEO_API_TOKEN']}"}
    for event in ("profile.merged", "profile.deleted"):
        requests.post(stack.omneo + "/api/v3/webhooks", headers=auth, timeout=5, json={
            "trigger": event, "url": stack.receiver + "/webhooks/omneo"}).raise_for_status()
    requests.post(f"{stack.omneo}/_sandbox/profiles/loser-2/merge", json={"into": "winner-2"},
                  timeout=5).raise_for_status()

    erased = stack.wait(lambda: audit_of(stack, "loser-2"), timeout=30, what="the erasure")
    folded = stack.wait(lambda: stack.zendesk_state()["merged_into"].get(str(loser["id"])),
                        timeout=30, what="the fold")
    assert folded == winner["id"]
    assert erased["outcome"] in ("re-pointed", "already gone")
    state = stack.zendesk_state()
    assert not state["purged"] and not state["deleted"]
    assert [u["id"] for u in state["users"]] == [winner["id"]]
    links = stack.wait(lambda: (ids := [i["identifier"] for i in stack.profile("winner-2")["identities"]
                                        if i["handle"] == "zendesk"]) == [str(winner["id"])] and ids,
                       timeout=30, what="one link on the winner")
    assert links == [str(winner["id"])]
