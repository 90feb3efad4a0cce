"""The sidebar when Omneo fails: the last good view of each customer, marked with its age.

Every freshly assembled view is also kept for SIDEBAR_LAST_KNOWN_SECONDS under
`keys.sidebar_last_known(profile_id)`, with `keys.sidebar_last_requester(zendesk_user_id)` saying
which profile the requester resolved to (finding the profile needs Omneo, which is what failed).
Erasure and merges drop both like the short cache (`keys.sidebar_views`,
`keys.sidebar_requester_links`); an erased profile's view is never served, whatever is left.

integration/sidebar/deadline.py serves it when Omneo errors or misses the deadline.
"""
from __future__ import annotations

import json

from integration.store import keys
from integration.wiring import Context
from integration.store.decoding import text

def keep(ctx: Context, pipe, zendesk_user_id: str, view: dict) -> None:
    """Queue on `pipe` the writes keeping `view` as the last known one (the caller checked that
    the profile is not erased)."""
    ttl = ctx.settings.sidebar_last_known_seconds
    if ttl:
        profile_id = view["profile"]["id"]
        pipe.set(keys.sidebar_last_known(profile_id), json.dumps(view), ex=ttl)
        pipe.set(keys.sidebar_last_requester(str(zendesk_user_id)), profile_id, ex=ttl)


def link(ctx: Context, zendesk_user_id: str, profile_id: str) -> None:
    """The requester resolved to `profile_id` again (its view came from the cache)."""
    ttl = ctx.settings.sidebar_last_known_seconds
    if ttl:
        ctx.redis.set(keys.sidebar_last_requester(str(zendesk_user_id)), profile_id, ex=ttl)


def recall(ctx: Context, zendesk_user_id: str) -> dict | None:
    """The last good view of the profile this requester last resolved to; None when there is
    none, or the profile was erased."""
    if not ctx.settings.sidebar_last_known_seconds:
        return None
    profile_id = ctx.redis.get(keys.sidebar_last_requester(str(zendesk_user_id)))
    if not profile_id:
        return None
    profile_id = text(profile_id)
    if ctx.state.is_erased(profile_id):
        return None
    raw = ctx.redis.get(keys.sidebar_last_known(profile_id))
    return json.loads(raw) if raw else None
