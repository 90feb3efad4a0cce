"""The sidebar within its deadline: Omneo gets SIDEBAR_OMNEO_DEADLINE_SECONDS to produce a fresh view.

When Omneo errors (any ApiError: down, 5xx, our rate limit) or misses the deadline, the last-known
view (integration/sidebar/last_known.py) is served with `stale` set; with none, the Omneo error (or
`OmneoTimeout`) is raised for the caller to answer. A view still being fetched when the deadline
passes runs on and fills the cache.
"""
from __future__ import annotations

from concurrent.futures import TimeoutError as FutureTimeout

from integration.errors import ApiError
from integration.sidebar.last_known import recall
from integration.sidebar.thread_pool import ProcessPool
from integration.sidebar.requester import from_zendesk
from integration.sidebar.view import not_found, requester_view
from integration.wiring import Context

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
