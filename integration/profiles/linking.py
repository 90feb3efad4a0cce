"""Manual links: an agent gave a profile a `zendesk` identity in CX Manager; Zendesk follows."""
from __future__ import annotations

from integration.profiles import mapping, sync
from integration.wiring import Context
from integration.profiles.guard import run_on_live_profile


def link_identity(ctx: Context, profile_id: str, zendesk_user_id: str | None = None) -> dict:
    """Point the linked Zendesk user at the profile and give it the profile's attributes.

    Works from the profile as Omneo has it now: a link removed or changed since the event is
    not acted on. Where the profile already had another user, the linked contact is folded into
    it (`folding.consolidate`, via the sync); a contact claimed by another live profile is a
    Conflict, reported and never re-pointed.
    """

    def job(profile: dict) -> dict:
        linked = mapping.identity_of(profile, ctx.settings.omneo_identity_handle)
        if zendesk_user_id is not None and str(zendesk_user_id) not in linked:
            return {"outcome": "skipped", "reason": "the link is no longer on the profile"}
        if not linked:
            return {"outcome": "skipped", "reason": "the profile has no link"}
        # a link that is new to us differs from the synced user, so the sync folds it in
        result = sync.sync_locked(ctx, profile)
        result["linked"] = zendesk_user_id
        return result
    return run_on_live_profile(ctx, profile_id, job)
