"""What the integration decides about an Omneo profile: the one place each of these rules lives."""
from __future__ import annotations

from integration.wiring import Context

# Omneo keeps a deleted profile, and a merge's loser, as a record with this `profile_type`.
GONE_PROFILE_TYPES = ("deleted", "merged")


def is_gone(profile: dict | None) -> bool:
    """True when the profile is not there to sync: missing, deleted, or merged into another."""
    return profile is None or profile.get("profile_type") in GONE_PROFILE_TYPES


def live_profile(ctx: Context, profile_id: str) -> dict | None:
    """The profile as Omneo has it now, or None when it is gone."""
    profile = ctx.omneo.find_profile(str(profile_id))
    return None if is_gone(profile) else profile


def set_link(ctx: Context, profile_id: str, identities: list[dict], user_id: str) -> None:
    """Leave the profile with exactly one active `zendesk` identity, naming `user_id`.

    `identities` is the profile's list as Omneo returned it (with identity ids). Extras go by
    their own id, because by handle Omneo only reaches the first identity with it.
    """
    handle = ctx.settings.omneo_identity_handle
    mine = [i for i in identities if i.get("handle") == handle]
    if not mine:
        ctx.omneo.add_identity(profile_id, handle, user_id)
        return
    keep = next((i for i in mine if str(i.get("identifier")) == user_id and i.get("is_active", True)),
                mine[0])
    for extra in mine:
        if extra is not keep and extra.get("id"):
            ctx.omneo.delete_identity_by_id(profile_id, extra["id"])
    if str(keep.get("identifier")) != user_id or not keep.get("is_active", True):
        ctx.omneo.update_identity(profile_id, handle, user_id)  # the only one with the handle now
