"""Zendesk user events as plain functions against the in-process sandboxes (fakeredis state, real
HTTP to the sandboxes): the events are the ones the Zendesk sandbox emitted for its own changes."""
from __future__ import annotations

import dataclasses
import json

import pytest

from integration.profiles import user_events
from integration.store import keys
from integration.errors import Conflict
from integration.profiles.sync import sync_profile
from tests.helpers import add_user, events, jobs, links, only, post_zendesk, put, synced, user_of








def writes(zendesk, omneo):
    return zendesk.stats["writes"], omneo.stats["writes"]


def test_merge_into_a_walk_in_moves_the_link_external_id_and_drops_both_views(
        ctx, omneo_sandbox, zendesk_sandbox):
    ours = synced(ctx, omneo_sandbox, zendesk_sandbox, "p1", first_name="Ada", email="ada@example.com")
    walk_in = add_user(zendesk_sandbox, name="WhatsApp contact", phone="+61400000001")
    for key in (keys.sidebar_cache("p1"), keys.sidebar_requester(str(ours["id"])),
                keys.sidebar_requester(str(walk_in["id"]))):
        ctx.redis.set(key, "cached")
    ctx.zendesk.merge_users(ours["id"], walk_in["id"])  # an agent's merge
    job = only(zendesk_sandbox, "merged")
    assert job["survivor_id"] == str(walk_in["id"]) and "email" not in json.dumps(job)

    result = user_events.handle(ctx, job)

    assert result["survivor"] == str(walk_in["id"]) and result["profile_id"] == "p1"
    assert links(omneo_sandbox, "p1") == [str(walk_in["id"])]
    assert zendesk_sandbox.users[walk_in["id"]]["external_id"] == "p1"
    assert not any(ctx.redis.exists(k) for k in (keys.sidebar_cache("p1"),
                                                 keys.sidebar_requester(str(ours["id"])),
                                                 keys.sidebar_requester(str(walk_in["id"]))))
    # a duplicate job, and a re-run after its done mark is gone, write nothing
    before = writes(zendesk_sandbox, omneo_sandbox)
    assert user_events.handle(ctx, job)["outcome"] == "duplicate"
    ctx.redis.delete(keys.zendesk_user_event_done(job["event_id"]))
    assert user_events.handle(ctx, job)["outcome"] == "unchanged"
    assert writes(zendesk_sandbox, omneo_sandbox) == before


def test_merge_into_a_user_of_another_live_profile_is_a_conflict(ctx, omneo_sandbox, zendesk_sandbox):
    ours = synced(ctx, omneo_sandbox, zendesk_sandbox, "p1", first_name="Ada", email="ada@example.com")
    theirs = synced(ctx, omneo_sandbox, zendesk_sandbox, "p2", first_name="Bo", email="bo@example.com")
    ctx.zendesk.merge_users(ours["id"], theirs["id"])

    with pytest.raises(Conflict) as caught:
        user_events.handle(ctx, only(zendesk_sandbox, "merged"))

    assert caught.value.profile_id == "p1" and "another live Omneo profile" in str(caught.value)
    assert zendesk_sandbox.users[theirs["id"]]["external_id"] == "p2"
    assert links(omneo_sandbox, "p2") == [str(theirs["id"])]


def test_merge_after_its_deactivation_relinks_and_a_late_deactivation_is_a_no_op(
        ctx, omneo_sandbox, zendesk_sandbox):
    ours = synced(ctx, omneo_sandbox, zendesk_sandbox, "p1", first_name="Ada", email="ada@example.com")
    walk_in = add_user(zendesk_sandbox, name="WhatsApp contact")
    ctx.zendesk.merge_users(ours["id"], walk_in["id"])
    deactivated, merged = only(zendesk_sandbox, "active_changed"), only(zendesk_sandbox, "merged")

    assert user_events.handle(ctx, deactivated)["outcome"] == "unlinked"
    assert links(omneo_sandbox, "p1") == []
    user_events.handle(ctx, merged)
    assert links(omneo_sandbox, "p1") == [str(walk_in["id"])]
    assert not ctx.redis.exists(keys.zendesk_user_deleted("p1"))

    # the other order: the deactivation arriving after the merge was repaired finds nothing
    ctx.redis.delete(keys.zendesk_user_event_done(deactivated["event_id"]))
    assert user_events.handle(ctx, deactivated)["outcome"] == "skipped"
    assert links(omneo_sandbox, "p1") == [str(walk_in["id"])]


def test_deletion_unlinks_and_the_next_update_does_not_recreate_by_default(
        ctx, omneo_sandbox, zendesk_sandbox):
    ours = synced(ctx, omneo_sandbox, zendesk_sandbox, "p1", first_name="Ada", email="ada@example.com")
    ctx.zendesk.delete_user(ours["id"])
    for job in events(zendesk_sandbox, "active_changed") + events(zendesk_sandbox, "deleted"):
        user_events.handle(ctx, job)
    assert links(omneo_sandbox, "p1") == [] and ctx.state.synced_mark("p1") is None

    put(omneo_sandbox, "p1", last_name="Lovelace")
    result = sync_profile(ctx, "p1")
    assert result["outcome"] == "skipped" and "ZENDESK_RECREATE_DELETED_USERS" in result["reason"]
    assert not [u for u in zendesk_sandbox.users.values() if u.get("external_id") == "p1"]

    # a new link (CX Manager, or a ticket of the customer writing in again) lets it sync again
    walk_in = add_user(zendesk_sandbox, name="Ada again")
    with omneo_sandbox.lock:
        profile = omneo_sandbox.profiles["p1"]
        profile["identities"].append(omneo_sandbox._identity(profile, "zendesk", str(walk_in["id"])))
    assert sync_profile(ctx, "p1")["zendesk_user_id"] == str(walk_in["id"])
    assert not ctx.redis.exists(keys.zendesk_user_deleted("p1"))


def test_deletion_with_recreation_on_lets_the_next_update_recreate(ctx, omneo_sandbox, zendesk_sandbox):
    ctx = dataclasses.replace(ctx, settings=ctx.settings.replace(zendesk_recreate_deleted_users=True))
    ours = synced(ctx, omneo_sandbox, zendesk_sandbox, "p1", first_name="Ada", email="ada@example.com")
    ctx.zendesk.delete_user(ours["id"])
    assert user_events.handle(ctx, only(zendesk_sandbox, "deleted"))["outcome"] == "unlinked"

    put(omneo_sandbox, "p1", last_name="Lovelace")
    assert sync_profile(ctx, "p1")["outcome"] == "created"
    assert user_of(zendesk_sandbox, "p1")["id"] != ours["id"]


def test_an_erased_profile_is_never_touched(ctx, omneo_sandbox, zendesk_sandbox):
    ours = synced(ctx, omneo_sandbox, zendesk_sandbox, "p1", first_name="Ada", email="ada@example.com")
    walk_in = add_user(zendesk_sandbox, name="WhatsApp contact")
    ctx.state.mark_erased("p1")
    ctx.zendesk.merge_users(ours["id"], walk_in["id"])
    before = writes(zendesk_sandbox, omneo_sandbox)

    assert user_events.handle(ctx, only(zendesk_sandbox, "merged"))["reason"] == "erased"
    assert writes(zendesk_sandbox, omneo_sandbox) == before
    assert zendesk_sandbox.users[walk_in["id"]]["external_id"] is None


def test_external_id_edited_by_hand_is_put_back_and_an_older_event_is_skipped(
        ctx, omneo_sandbox, zendesk_sandbox):
    ours = synced(ctx, omneo_sandbox, zendesk_sandbox, "p1", first_name="Ada", email="ada@example.com")
    ctx.zendesk.update_user(ours["id"], {"external_id": "crm-1"})  # an agent's edit
    edit = only(zendesk_sandbox, "external_id_changed")
    assert edit["previous_external_id"] == "p1" and edit["external_id"] == "crm-1"

    assert user_events.handle(ctx, edit)["outcome"] == "restored"
    assert zendesk_sandbox.users[ours["id"]]["external_id"] == "p1"

    # our own put-back is an event too: it finds nothing to do
    [_, ours_back] = events(zendesk_sandbox, "external_id_changed")
    assert user_events.handle(ctx, ours_back)["outcome"] == "unchanged"
    late = dict(edit, event_id="late-copy", time="2000-01-01T00:00:00Z")
    assert user_events.handle(ctx, late)["reason"] == "older than an event already acted on"


def test_email_identity_changes_are_reported_by_the_next_sync_once(ctx, omneo_sandbox, zendesk_sandbox):
    ours = synced(ctx, omneo_sandbox, zendesk_sandbox, "p1", first_name="Ada", email="ada@example.com")
    with zendesk_sandbox.lock:  # an agent adds an address in Zendesk
        zendesk_sandbox._apply(zendesk_sandbox.users[ours["id"]], {"email": "ada.l@example.com"})
    job = only(zendesk_sandbox, "identity_created")
    assert job["identity"]["type"] == "email" and "ada.l" not in json.dumps(job)
    assert user_events.handle(ctx, job)["outcome"] == "recorded"
    ctx.redis.delete(keys.zendesk_user_event_done(job["event_id"]))
    assert user_events.handle(ctx, job)["outcome"] == "duplicate"  # kept once

    decision = sync_profile(ctx, "p1")
    [change] = decision["zendesk_email_changes"]
    assert change["change"] == "identity_created" and change["zendesk_user_id"] == str(ours["id"])
    assert "zendesk_email_changes" not in sync_profile(ctx, "p1")


def test_user_job_reads_only_what_the_worker_needs():
    base = {"id": "e1", "time": "2026-12-01T10:00:00Z",
            "detail": {"id": "42", "external_id": "", "email": "x@example.com"}}
    assert user_events.user_job(dict(base, type="zen:event-type:user.active_changed",
                                             event={"current": True, "previous": False})) is None
    merged = user_events.user_job(dict(base, type="zen:event-type:user.merged",
                                               event={"user": {"id": "43"}}))
    assert merged["survivor_id"] == "43" and merged["external_id"] is None
    assert "x@example.com" not in json.dumps(merged)


@pytest.mark.parametrize("event", [
    {"current": {"id": "43"}}, {"user_id": "43"}, {"target": "43"}, {"merged_into_user_id": "43"},
    {"target_user_id": "43"}, {"winner_id": "43"}, {"merged_into": {"id": "43"}},
    {"user": {"id": "42"}}, {"user": "43"}, {"user": {"id": "4/3"}}, {},
])
def test_only_event_user_id_names_the_survivor(event):
    """Guessed keys name no survivor, nor does the merged user itself or an id of another shape."""
    job = user_events.user_job({"type": "zen:event-type:user.merged", "id": "e1",
                                        "time": "2026-12-01T10:00:00Z",
                                        "detail": {"id": "42", "external_id": ""}, "event": event})
    assert job["survivor_id"] is None


@pytest.mark.parametrize("key", ["identity", "current"])
def test_identity_events_read_either_shape(key):
    job = user_events.user_job({
        "type": "zen:event-type:user.identity_created", "id": "e1", "time": "2026-12-01T10:00:00Z",
        "detail": {"id": "42", "external_id": "p1"},
        "event": {key: {"id": "9001", "type": "email", "value": "x@example.com", "primary": False}}})
    assert job["identity"] == {"id": "9001", "type": "email", "primary": False}
    assert "x@example.com" not in json.dumps(job)


def user_event(type_="zen:event-type:user.merged", event_id="u-1", **detail):
    return {"type": type_, "account_id": 1, "id": event_id, "time": "2026-12-01T10:00:00Z",
            "subject": "zen:user:42", "detail": dict({"id": "42", "external_id": "p1",
                                                      "email": "x@example.com"}, **detail),
            "event": {"user": {"id": "43"}}}


def test_receiver_queues_user_events_on_the_sync_queue_once(client, settings, fake_redis):  # noqa: F811
    r = post_zendesk(client, settings, user_event())
    assert r.status_code == 202, r.json
    [sent] = jobs(fake_redis, "sync")
    assert sent["name"] == "omneo_zendesk.zendesk_user_event"
    assert sent["args"][0]["survivor_id"] == "43" and "x@example.com" not in json.dumps(sent["args"])
    assert post_zendesk(client, settings, user_event()).status_code == 200
    assert len(jobs(fake_redis, "sync")) == 1


def test_receiver_refuses_a_bad_user_event_and_ignores_others(client, settings, fake_redis):  # noqa: F811
    bad = post_zendesk(client, settings, user_event(id="not-a-user"))
    assert bad.status_code == 400 and bad.json["error"].startswith("detail.id:")
    other = post_zendesk(client, settings, user_event("zen:event-type:user.name_changed", event_id="u-2"))
    assert other.status_code == 200 and other.json["status"] == "ignored"
    unsigned = post_zendesk(client, settings, user_event(event_id="u-3"), secret="wrong")
    assert unsigned.status_code == 401
    assert jobs(fake_redis, "sync") == []
