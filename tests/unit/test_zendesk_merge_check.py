"""A `user.merged` is acted on only when Zendesk bears it out (integration/profiles/merge_check.py)."""
from __future__ import annotations

import json

from integration.profiles import user_events
from integration.store import keys
from tests.helpers import add_user, links, only, synced


def merged_job(source, survivor, event_id="e-forged"):
    return user_events.user_job({
        "type": "zen:event-type:user.merged", "id": event_id, "time": "2026-12-01T10:00:00Z",
        "detail": {"id": str(source), "external_id": ""}, "event": {"user": {"id": str(survivor)}}})


def refusals(ctx):
    return int(ctx.redis.get(keys.USER_MERGES_REFUSED) or 0), \
        [json.loads(r) for r in ctx.redis.lrange(keys.USER_MERGES_REFUSED_LOG, 0, -1)]


def test_a_merge_naming_a_live_source_is_recorded_and_not_acted_on(ctx, omneo_sandbox, zendesk_sandbox):
    ours = synced(ctx, omneo_sandbox, zendesk_sandbox, "p1", first_name="Ada", email="ada@example.com")
    stranger = add_user(zendesk_sandbox, name="Someone else", phone="+61400000002")

    result = user_events.handle(ctx, merged_job(ours["id"], stranger["id"]))

    assert result["outcome"] == "refused" and "still live" in result["reason"]
    assert {ours["id"], stranger["id"]} <= set(zendesk_sandbox.users)  # nobody merged
    assert zendesk_sandbox.users[stranger["id"]]["external_id"] is None
    assert links(omneo_sandbox, "p1") == [str(ours["id"])]
    count, [record] = refusals(ctx)
    assert count == 1 and record["zendesk_user_id"] == str(ours["id"])
    assert "ada@example.com" not in json.dumps(record)


def test_a_survivor_not_holding_the_merged_users_email_is_refused(ctx, omneo_sandbox, zendesk_sandbox):
    ours = synced(ctx, omneo_sandbox, zendesk_sandbox, "p1", first_name="Ada", email="ada@example.com")
    holder = add_user(zendesk_sandbox, name="Walk in", phone="+61400000003")
    other = add_user(zendesk_sandbox, name="Someone else", phone="+61400000004")
    ctx.zendesk.merge_users(ours["id"], holder["id"])  # the real merge: the email moves to `holder`
    real = only(zendesk_sandbox, "merged")

    forged = user_events.handle(ctx, dict(merged_job(ours["id"], other["id"]), time=real["time"]))
    assert forged["outcome"] == "refused" and "email" in forged["reason"]
    assert zendesk_sandbox.users[other["id"]]["external_id"] is None

    assert user_events.handle(ctx, real)["survivor"] == str(holder["id"])
    assert links(omneo_sandbox, "p1") == [str(holder["id"])]


def test_without_event_user_id_only_the_email_holder_is_followed(ctx, omneo_sandbox, zendesk_sandbox):
    ours = synced(ctx, omneo_sandbox, zendesk_sandbox, "p1", first_name="Ada", email="ada@example.com")
    holder = add_user(zendesk_sandbox, name="Walk in", phone="+61400000003")
    ctx.zendesk.merge_users(ours["id"], holder["id"])
    job = dict(only(zendesk_sandbox, "merged"), survivor_id=None)
    assert user_events.handle(ctx, job)["survivor"] == str(holder["id"])


def test_a_mobile_only_merge_without_a_survivor_is_refused_not_unlinked(ctx, omneo_sandbox, zendesk_sandbox):
    ours = synced(ctx, omneo_sandbox, zendesk_sandbox, "p1", first_name="Mo", mobile_phone="+61400000005")
    walk_in = add_user(zendesk_sandbox, name="WhatsApp", phone="+61400000006")
    ctx.zendesk.merge_users(ours["id"], walk_in["id"])
    job = dict(only(zendesk_sandbox, "merged"), survivor_id=None)
    assert user_events.handle(ctx, job)["outcome"] == "refused"
    assert links(omneo_sandbox, "p1") == [str(ours["id"])]  # left for a person, not dropped
