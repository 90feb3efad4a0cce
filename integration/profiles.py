"""What the integration decides about an Omneo profile: the one place each of these rules lives."""
from __future__ import annotations

# Omneo keeps a deleted profile, and a merge's loser, as a record with this `profile_type`.
GONE_PROFILE_TYPES = ("deleted", "merged")


def is_gone(profile: dict | None) -> bool:
    """True when the profile is not there to sync: missing, deleted, or merged into another."""
    return profile is None or profile.get("profile_type") in GONE_PROFILE_TYPES
