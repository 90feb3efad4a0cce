"""What Zendesk-side user events leave for the next sync of a profile: the mark that its user
was deleted in Zendesk, and the email identity changes made there, until a sync reports them.

Plain Redis reads and writes (no lock taken here: callers hold the profile lock). Both keys are
in `keys.profile_keys`, so erasure drops them.
"""
from __future__ import annotations

import json

from integration.store import keys
from integration.wiring import Context
from integration.store.decoding import text

# past the reconciliation's rounds and a holiday: a change unreported by then is only history
EMAIL_CHANGES_SECONDS = 30 * 86400


# deletion
def mark_deleted(ctx: Context, profile_id: str, user_id: str) -> None:
    ctx.redis.set(keys.zendesk_user_deleted(profile_id), str(user_id))


def deleted_user(ctx: Context, profile_id: str) -> str | None:
    value = ctx.redis.get(keys.zendesk_user_deleted(profile_id))
    return text(value)


def clear_deleted(ctx: Context, profile_id: str) -> None:
    ctx.redis.delete(keys.zendesk_user_deleted(profile_id))


def blocks_recreation(ctx: Context, profile: dict, linked: list[str]) -> bool:
    """A sync must not re-create the profile's user: it was deleted in Zendesk, the profile has
    no link to another user since, and ZENDESK_RECREATE_DELETED_USERS is off."""
    if ctx.settings.zendesk_recreate_deleted_users or linked:
        return False
    return deleted_user(ctx, str(profile["id"])) is not None


# email identity changes
def record_email_change(ctx: Context, profile_id: str, change: dict) -> bool:
    """Keep one change (ids, kind, time; no address) under its event id; False if already kept.
    The record lives EMAIL_CHANGES_SECONDS from its newest change: a profile no sync touches
    does not keep it for ever."""
    key = keys.zendesk_email_changes(profile_id)
    pipe = ctx.redis.pipeline()
    pipe.hsetnx(key, change["event_id"], json.dumps(change))
    pipe.expire(key, EMAIL_CHANGES_SECONDS)
    return bool(pipe.execute()[0])


def pending_email_changes(ctx: Context, profile_id: str) -> list[dict]:
    raw = ctx.redis.hgetall(keys.zendesk_email_changes(profile_id))
    return sorted((json.loads(v) for v in raw.values()), key=lambda c: (c.get("time") or "", c["event_id"]))


def reported(ctx: Context, profile_id: str, changes: list[dict]) -> None:
    """Forget the changes a sync has reported (only those: one recorded meanwhile stays)."""
    if changes:
        ctx.redis.hdel(keys.zendesk_email_changes(profile_id), *[c["event_id"] for c in changes])
