"""What the Zendesk sidebar shows for one requester: their Omneo profile, balances, active
benefits and latest purchases. Plain functions over a Context; nothing here knows Flask.

The requester is what Zendesk says of them (`integration.sidebar.requester`), resolved to a
profile by `integration.profiles.requesters` (external_id, the `zendesk` identity, then the email). The Omneo calls behind one view run concurrently on a small thread pool, each through the
context's shared Omneo rate limiter. The assembled view is cached for SIDEBAR_CACHE_SECONDS under
`keys.sidebar_cache(profile_id)` (erasure drops it); which profile a Zendesk user resolved to is
remembered for as long, tagged with what Zendesk said of the user, so a warm view costs no Omneo
call at all, and no request reads a link Zendesk would not bear out. Every view carries the time it
was fetched; `integration.sidebar.last_known` keeps the last one for when Omneo fails.
"""
from __future__ import annotations

import json
import re
import time
from concurrent.futures import Future
from typing import Any, Callable

from integration.profiles import requesters
from integration.sidebar import last_known
from integration.store import keys
from integration.wiring import Context
from integration.errors import NotFound
from integration.sidebar.thread_pool import ProcessPool
from integration.profiles.profile_rules import is_gone
from integration.store.decoding import text
from integration.sidebar.thread_pool import ProcessPool
from integration.profiles.profile_rules import is_gone
from integration.sidebar.requester import Requester

TRANSACTIONS_SHOWN = 5
# voided sales are left out, so ask for a few more than are shown
TRANSACTIONS_FETCHED = 10

_calls = ProcessPool(8, "sidebar")


def requester_view(ctx: Context, requester: Requester, fresh: bool = False) -> dict:
    """The sidebar's answer for a requester as Zendesk describes them: the found view, or
    `{"found": false}` with a CX Manager search for their email. `fresh` skips the short cache
    (the agent's refresh)."""
    linked = None if fresh else _linked_profile_id(ctx, requester)
    # a mapping (or a cached view) can outlive an erasure that did not know this requester
    if linked and not ctx.state.is_erased(linked):
        view = _cached(ctx, linked)
        if view is not None:
            return view
        view = assemble_view(ctx, linked)
        if view is not None:
            return _remember(ctx, requester, view)
    profile = requesters.resolve(ctx, requester.zendesk_user_id, requester.email,
                                 requester.external_id).profile
    if profile is None or ctx.state.is_erased(str(profile["id"])):
        return not_found(ctx, requester.email)
    profile_id = str(profile["id"])
    view = None if fresh else _cached(ctx, profile_id)
    if view is not None:
        _link(ctx, requester, profile_id)
        return view
    view = assemble_view(ctx, profile_id, profile)
    if view is None:
        return not_found(ctx, requester.email)
    return _remember(ctx, requester, view)


def not_found(ctx: Context, email: str | None) -> dict:
    """No Omneo profile: where in CX Manager the agent can look up the requester's email (as
    Zendesk has it) and link it."""
    return {"found": False,
            "cx_manager_search_url": ctx.settings.cx_manager_search(email) if email else None}


def assemble_view(ctx: Context, profile_id: str, profile: dict | None = None) -> dict | None:
    """Fetch what the view needs concurrently and shape it; None if the profile is gone."""
    omneo = ctx.omneo
    calls: dict[str, Callable[[], Any]] = {
        "balances": lambda: omneo.get_balances(profile_id),
        "benefits": lambda: omneo.list_benefits(profile_id),
        "transactions": lambda: omneo.list_transactions(profile_id, limit=TRANSACTIONS_FETCHED),
        "tier_progress": lambda: omneo.find_tier_progress(profile_id),
    }
    if profile is None:
        calls["profile"] = lambda: omneo.get_profile(profile_id)
    pool = _calls.get()
    futures: dict[str, Future] = {name: pool.submit(fn) for name, fn in calls.items()}
    try:
        results = {name: future.result() for name, future in futures.items()}
    except NotFound:
        return None
    finally:
        for future in futures.values():
            future.cancel()
    profile = profile or results["profile"]
    if is_gone(profile):
        return None
    return {
        "found": True,
        "fetched_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "currency": _currency(results["balances"].get("currency")),
        "profile": shape_profile(profile),
        "balances": shape_balances(results["balances"]),
        "benefits": shape_benefits(results["benefits"]),
        "transactions": shape_transactions(results["transactions"]),
        "tier_progress": shape_tier_progress(results["tier_progress"]),
        "cx_manager_url": ctx.settings.cx_manager_url(profile_id),
    }


# shaping Omneo's records (field names as in Omneo's SDK types) into the sidebar contract
def shape_profile(profile: dict) -> dict:
    name = " ".join(p for p in (profile.get("first_name"), profile.get("last_name")) if p)
    tier = profile.get("tier")
    if isinstance(tier, dict):
        tier = tier.get("name") or tier.get("handle")
    return {"id": str(profile["id"]), "name": name or None, "email": profile.get("email"),
            "tier": tier or profile.get("tier_handle"), "joined_at": profile.get("joined_at")}


def shape_tier_progress(progress: dict | None) -> dict | None:
    """Current tier, next tier and what is left to reach it (`next_remain`, in the tier's own
    measure, and `next_progress`), as Omneo works them out; None without a tier."""
    if not progress or not isinstance(progress.get("current_tier"), dict):
        return None
    nxt = progress.get("next_tier") if isinstance(progress.get("next_tier"), dict) else None
    name = lambda tier: tier.get("name") or tier.get("handle")  # noqa: E731
    return {"current": name(progress["current_tier"]), "next": name(nxt) if nxt else None,
            "remaining": _number(progress.get("next_remain")) if nxt else None,
            "progress": _number(progress.get("next_progress")) if nxt else None}


def shape_balances(balances: dict) -> dict:
    return {name: _number(balances.get(name)) for name in
            ("reward_balance", "credit_balance", "point_balance", "combined_balance_dollars")}


def shape_benefits(benefits: list[dict]) -> list[dict]:
    """Active benefits only (not expired, still redeemable), soonest to expire first."""
    active = [b for b in benefits if not b.get("is_expired") and b.get("is_redeemable", True) is not False]
    active.sort(key=lambda b: (b.get("expires_at") is None, b.get("expires_at") or ""))
    return [{"name": (b.get("definition") or {}).get("name") or b.get("name"),
             "expires_at": b.get("expires_at")} for b in active]


def shape_transactions(transactions: list[dict]) -> list[dict]:
    """The most recent sales, newest first, voided ones left out."""
    sales = [t for t in transactions if not t.get("is_void")]
    sales.sort(key=lambda t: t.get("transacted_at") or "", reverse=True)
    return [{"transacted_at": t.get("transacted_at"),
             "location": (t.get("location") or {}).get("name"),
             "total": _number(t.get("total")),
             "currency": _currency(t.get("currency")),
             "items": _item_count(t.get("items") or [])} for t in sales[:TRANSACTIONS_SHOWN]]


def _item_count(items: list[dict]) -> int:
    return int(sum(_number(i.get("quantity", 1)) for i in items if not i.get("is_void")))


def _currency(value) -> str | None:
    """An ISO 4217 code as Omneo gives it (a code, or a currency record); None when it gives none."""
    if isinstance(value, dict):
        value = value.get("code") or value.get("iso_code") or value.get("handle")
    if isinstance(value, str) and re.fullmatch(r"[A-Za-z]{3}", value.strip()):
        return value.strip().upper()
    return None


def _number(value) -> float | int:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    try:
        number = float(value)
    except (TypeError, ValueError):
        return 0
    return int(number) if number.is_integer() else number


# the cache: requester links carry what Zendesk said (integration.sidebar.requester)
def _linked_profile_id(ctx: Context, requester: Requester) -> str | None:
    if not ctx.settings.sidebar_cache_seconds:
        return None
    return requester.untag(ctx.redis.get(keys.sidebar_requester(requester.zendesk_user_id)))


def _cached(ctx: Context, profile_id: str) -> dict | None:
    if not ctx.settings.sidebar_cache_seconds:
        return None
    raw = ctx.redis.get(keys.sidebar_cache(profile_id))
    return json.loads(raw) if raw else None


def _link(ctx: Context, requester: Requester, profile_id: str) -> None:
    ttl = ctx.settings.sidebar_cache_seconds
    if ttl:
        ctx.redis.set(keys.sidebar_requester(requester.zendesk_user_id), requester.tag(profile_id),
                      ex=ttl)
    last_known.link(ctx, requester, profile_id)


def _remember(ctx: Context, requester: Requester, view: dict) -> dict:
    """Cache a freshly assembled view (a cached one keeps its own expiry: never extended)."""
    ttl = ctx.settings.sidebar_cache_seconds
    profile_id = view["profile"]["id"]
    # checked last, so a view assembled while the profile was being erased is not cached again
    if ctx.state.is_erased(profile_id):
        return view
    pipe = ctx.redis.pipeline(transaction=False)
    if ttl:
        pipe.set(keys.sidebar_cache(profile_id), json.dumps(view), ex=ttl)
        pipe.set(keys.sidebar_requester(requester.zendesk_user_id), requester.tag(profile_id), ex=ttl)
    last_known.keep(ctx, pipe, requester, view)
    pipe.execute()
    return view
