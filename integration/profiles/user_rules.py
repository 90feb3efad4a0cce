"""What the integration decides about a Zendesk user: the one place each of these rules lives."""
from __future__ import annotations


def is_present(user: dict | None) -> bool:
    """True when the user is there: Zendesk still shows a deleted or merged-away user by its id,
    with `active` false."""
    return user is not None and user.get("active", True) is not False


def is_end_user(user: dict) -> bool:
    """True for a customer; staff (agents, admins) never stand for an Omneo profile."""
    return user.get("role") in (None, "end-user")
