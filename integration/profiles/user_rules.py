"""What the integration decides about a Zendesk user: the one place each of these rules lives."""
from __future__ import annotations


def is_present(user: dict | None) -> bool:
    """True when the user is there: Zendesk still shows a deleted or merged-away user by its id,
    with `active` false."""
    return user is not None and user.get("active", True) is not False


def is_end_user(user: dict) -> bool:
    """True for a customer; staff (agents, admins) never stand for an Omneo profile."""
    return user.get("role") in (None, "end-user")


def stands_for(user: dict, profile_id: str) -> bool:
    """A present end user whose external_id is this profile: the user our sync writes for it."""
    return (is_present(user) and is_end_user(user)
            and (user.get("external_id") or "").strip().lower() == str(profile_id).lower())
