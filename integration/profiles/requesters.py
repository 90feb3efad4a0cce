"""Whose Omneo profile a Zendesk requester is: the one resolver the ticket events and the
sidebar share.

The steps, in order, each counting only a live profile (`profiles.is_gone`):
1. `external_id`: the Zendesk user's external id names the profile (as our syncs write it);
2. `identity`: the profile whose `zendesk` identity names the Zendesk user;
3. `email`: the one profile with the requester's email; several are never guessed between.

Every input is what Zendesk says of the user, read with our own credentials: a ticket event reads
the user record (it writes the missing half of the link afterwards); the sidebar reads it too
(`integration.sidebar.requester`, cached briefly), never taking an email or id from the agent's
page, which anyone can edit.
"""
from __future__ import annotations

from dataclasses import dataclass

from integration.profiles.profile_rules import is_gone, live_profile
from integration.wiring import Context

NO_PROFILE = "no Omneo profile for the requester"
SEVERAL_BY_EMAIL = "requester email matches several Omneo profiles"


@dataclass(frozen=True)
class Resolution:
    profile: dict | None
    how: str | None = None  # "external_id", "identity" or "email"
    reason: str | None = None  # why there is no profile


def linked_profile(ctx: Context, zendesk_user_id: str) -> dict | None:
    """The live profile whose `zendesk` identity names this Zendesk user, else None."""
    found = ctx.omneo.search_profile_by_identity(ctx.settings.omneo_identity_handle,
                                                 str(zendesk_user_id))
    return None if is_gone(found) else found


def resolve(ctx: Context, zendesk_user_id: str, email: str | None,
            external_id: str | None = None) -> Resolution:
    """The requester's live Omneo profile, found by the steps above in order."""
    external_id = (external_id or "").strip()
    if external_id:
        profile = live_profile(ctx, external_id)
        if profile is not None:
            return Resolution(profile, "external_id")
    profile = linked_profile(ctx, zendesk_user_id)
    if profile is not None:
        return Resolution(profile, "identity")
    if email:
        found = [p for p in ctx.omneo.find_profiles_by_email(email) if not is_gone(p)]
        if len(found) == 1:
            return Resolution(found[0], "email")
        if found:
            return Resolution(None, reason=SEVERAL_BY_EMAIL)
    return Resolution(None, reason=NO_PROFILE)
