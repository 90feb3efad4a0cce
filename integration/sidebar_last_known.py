"""The sidebar when Omneo fails: the last good view of each customer, marked with its age.

Every freshly assembled view is also kept for SIDEBAR_LAST_KNOWN_SECONDS under
`keys.sidebar_last_known(profile_id)`, with `keys.sidebar_last_requester(zendesk_user_id)` saying
which profile the requester resolved to (finding the profile needs Omneo, which is what failed),
tagged with what Zendesk said of the requester then: the link is followed only while Zendesk still
says the same (`integration.sidebar_requester`), so no page's claim can plant or read one.
Erasure and merges drop both like the short cache (`keys.sidebar_views`,
`keys.sidebar_requester_links`); an erased profile's view is never served, whatever is left.

`answer` gives Omneo SIDEBAR_OMNEO_DEADLINE_SECONDS to produce a fresh view. When Omneo errors
(any ApiError: down, 5xx, our rate limit) or misses the deadline, the last-known view is served
with `stale` set; with none, the Omneo error (or `OmneoTimeout`) is raised for the caller to
answer. A view still being fetched when the deadline passes runs on and fills the cache.
"""
from __future__ import annotations

import json
from concurrent.futures import TimeoutError as FutureTimeout

from integration import keys
from integration.context import Context
from integration.errors import ApiError
from integration.pools import ProcessPool
from integration.sidebar_requester import Requester, from_zendesk

# bounds the fetches still running for agents who were already answered from the last-known view
_fetches = ProcessPool(16, "sidebar-deadline")


class OmneoTimeout(Exception):
    """Omneo did not produce the view within the sidebar's deadline."""

    def __init__(self, deadline: float):
        super().__init__(f"Omneo did not answer within {deadline:g} seconds")
        self.deadline = deadline


def answer(ctx: Context, zendesk_user_id: str, fresh: bool = False) -> dict:
    """The requester's view within the deadline: fresh, or the last-known one marked stale.
    Who the requester is comes from Zendesk first (its errors are raised as they are)."""
    from integration.sidebar import not_found, requester_view  # it keeps views through here

    requester = from_zendesk(ctx, zendesk_user_id, fresh)
    if requester is None:
        return not_found(ctx, None)
    deadline = ctx.settings.sidebar_omneo_deadline_seconds
    future = _fetches.get().submit(requester_view, ctx, requester, fresh)
    try:
        return future.result(timeout=deadline)
    except FutureTimeout:
        future.cancel()
        failure: Exception = OmneoTimeout(deadline)
        reason = "omneo_timeout"
    except ApiError as exc:
        failure, reason = exc, "omneo_error"
    view = recall(ctx, requester)
    if view is None:
        raise failure
    view["stale"] = reason
    return view


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
