"""The sidebar when Omneo fails: the last good view of each customer, marked with its age.

Every freshly assembled view is also kept for SIDEBAR_LAST_KNOWN_SECONDS under
`keys.sidebar_last_known(profile_id)`, with `keys.sidebar_last_requester(zendesk_user_id)` saying
which profile the requester resolved to (finding the profile needs Omneo, which is what failed),
tagged with what Zendesk said of the requester then: the link is followed only while Zendesk still
says the same (`integration.sidebar.requester`), so no page's claim can plant or read one.
Erasure and merges drop both like the short cache (`keys.sidebar_views`,
`keys.sidebar_requester_links`); an erased profile's view is never served, whatever is left.

integration/sidebar/deadline.py serves it when Omneo errors or misses the deadline.
"""
from __future__ import annotations

import json

from integration.store import keys
from integration.wiring import Context
from integration.sidebar.requester import Requester
from integration.store.decoding import text

def keep(ctx: Context, pipe, requester: Requester, view: dict) -> None:
    """Queue on `pipe` the writes keeping `view` as the last known one (the caller checked that
    the profile is not erased)."""
    ttl = ctx.settings.sidebar_last_known_seconds
    if ttl:
        profile_id = view["profile"]["id"]
        pipe.set(keys.sidebar_last_known(profile_id), json.dumps(view), ex=ttl)
        pipe.set(keys.sidebar_last_requester(requester.zendesk_user_id), requester.tag(profile_id),
                 ex=ttl)


def link(ctx: Context, requester: Requester, profile_id: str) -> None:
    """The requester resolved to `profile_id` again (its view came from the cache)."""
    ttl = ctx.settings.sidebar_last_known_seconds
    if ttl:
        ctx.redis.set(keys.sidebar_last_requester(requester.zendesk_user_id),
                      requester.tag(profile_id), ex=ttl)


def recall(ctx: Context, requester: Requester) -> dict | None:
    """The last good view of the profile this requester last resolved to, while Zendesk still
    says what it said then; None when there is none, or the profile was erased."""
    if not ctx.settings.sidebar_last_known_seconds:
        return None
    profile_id = requester.untag(ctx.redis.get(keys.sidebar_last_requester(requester.zendesk_user_id)))
    if not profile_id or ctx.state.is_erased(profile_id):
        return None
    raw = ctx.redis.get(keys.sidebar_last_known(profile_id))
    return json.loads(raw) if raw else None
