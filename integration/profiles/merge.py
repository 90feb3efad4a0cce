"""Profile merges: the losing profiles' Zendesk users fold into the winner's, tickets and all."""
from __future__ import annotations

from integration.profiles import mapping, sync
from integration.store import keys
from integration.wiring import Context
from integration.profiles.guard import GONE, run_on_live_profile, skipped


def merge_profiles(ctx: Context, profile_id: str, merged_ids: list[str]) -> dict:
    """Omneo merged `merged_ids` into `profile_id`: leave one Zendesk user for the winner.

    The losers' users are found by their external_id, by the winner's identities that Omneo
    moved over (`merged_from`), and by a loser's own identity while it still exists. Where both
    sides have a user the loser's is merged into the winner's; where one side has, it is
    re-pointed; then the winner is synced, leaving one `zendesk` identity naming the survivor.
    """
    winner_id = str(profile_id)
    losers = sorted({str(m) for m in merged_ids} - {winner_id})

    def job(winner: dict) -> dict:
        loser_users = _loser_users(ctx, losers)
        result = sync.sync_locked(ctx, winner, also=loser_users, released=losers)
        # what still names a loser: its watermark, and the sidebar's view of it and of its users
        ctx.state.clear_synced(*losers)
        ctx.redis.delete(*[k for loser in losers for k in keys.sidebar_views(loser)],
                         *[k for user in loser_users for k in keys.sidebar_requester_links(user)])
        result["merged"] = losers
        return result
    return run_on_live_profile(ctx, winner_id, job, also_lock=losers, skip=_skip)


def _skip(reason: str) -> dict:
    return skipped("winning profile not found" if reason == GONE else reason)


def _loser_users(ctx: Context, losers: list[str]) -> list[str]:
    handle = ctx.settings.omneo_identity_handle
    found: list[str] = []
    for loser in losers:
        user = ctx.zendesk.find_user_by_external_id(loser)
        if user:
            found.append(str(user["id"]))
        profile = ctx.omneo.find_profile(loser)  # Omneo may not have removed it yet
        if profile:
            found.extend(mapping.identity_of(profile, handle))
    return found
