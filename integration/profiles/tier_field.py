"""The Zendesk user field that carries a profile's tier: its key, and making sure it exists.

A user can only carry the field once the account has it, so it is created on first need (setup,
the first sync, a backfill or a burst drain) when `tier` is among the synced attributes.
"""
from __future__ import annotations

from integration.store import keys
from integration.errors import PermanentError
from integration.wiring import Context
from integration.settings.declared import Settings
from integration.apis.zendesk import ZendeskClient

KEY = "omneo_tier"
TITLE = "Omneo tier"
CHECKED_SECONDS = 86400  # a sync looks again this long after it last found the field


def wanted(settings: Settings) -> bool:
    return "tier" in settings.sync_attributes


def present(fields: list[dict]) -> bool:
    """Whether the account's user fields (`list_user_fields`) include ours."""
    return any(f.get("key") == KEY for f in fields)


def ensure(zendesk: ZendeskClient) -> bool:
    """Create the field unless the account has it; True if this call created it."""
    if present(zendesk.list_user_fields()):
        return False
    try:
        zendesk.create_user_field(KEY, TITLE)
    except PermanentError as exc:
        if exc.status != 422:  # 422: created meanwhile by another process
            raise
        return False
    return True


def ensure_for_sync(ctx: Context) -> None:
    """`ensure`, when the tier syncs, at most once every CHECKED_SECONDS for all workers."""
    if not wanted(ctx.settings) or ctx.redis.get(keys.ZENDESK_FIELDS_READY):
        return
    ensure(ctx.zendesk)
    ctx.redis.set(keys.ZENDESK_FIELDS_READY, "1", ex=CHECKED_SECONDS)
