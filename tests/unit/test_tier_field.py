"""The tier user field (integration/profiles/tier_field.py): created once, when the tier syncs."""
import dataclasses

from integration.profiles import mapping, tier_field
from integration.store import keys


def test_ensure_creates_the_field_once(ctx, zendesk_sandbox):
    assert tier_field.ensure(ctx.zendesk) is True
    assert tier_field.ensure(ctx.zendesk) is False
    assert [(f["key"], f["title"]) for f in zendesk_sandbox.fields] == [(tier_field.KEY, tier_field.TITLE)]
    assert tier_field.present(zendesk_sandbox.fields)


def test_a_field_created_meanwhile_elsewhere_is_no_error(ctx, zendesk_sandbox, monkeypatch):
    monkeypatch.setattr(ctx.zendesk, "list_user_fields", lambda: [])  # read before the other made it
    tier_field.ensure(ctx.zendesk)
    assert tier_field.ensure(ctx.zendesk) is False
    assert len(zendesk_sandbox.fields) == 1


def test_syncs_look_once_a_while_and_only_when_the_tier_syncs(ctx, zendesk_sandbox, monkeypatch):
    tier_field.ensure_for_sync(ctx)
    assert len(zendesk_sandbox.fields) == 1 and ctx.redis.ttl(keys.ZENDESK_FIELDS_READY) > 0
    zendesk_sandbox.fields.clear()
    tier_field.ensure_for_sync(ctx)  # within the day: no second look
    assert zendesk_sandbox.fields == []
    ctx.redis.delete(keys.ZENDESK_FIELDS_READY)
    monkeypatch.setattr(ctx, "settings", dataclasses.replace(ctx.settings, sync_attributes=("name", "email")))
    tier_field.ensure_for_sync(ctx)
    assert zendesk_sandbox.fields == [] and not ctx.redis.exists(keys.ZENDESK_FIELDS_READY)


def test_the_mapping_writes_the_same_key():
    user = mapping.zendesk_user({"id": "p1", "tier": {"handle": "gold"}}, ("tier",))
    assert user["user_fields"] == {tier_field.KEY: "gold"}
