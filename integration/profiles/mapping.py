"""From an Omneo profile to the Zendesk end user that stands for it."""
from __future__ import annotations

import hashlib
import json
import re

from integration.profiles import tier_field
from integration.store.marks import CONTACT_HEX, FINGERPRINT_HEX

TIER_TAG_PREFIX = "omneo_tier_"


def full_name(profile: dict) -> str:
    parts = [profile.get("first_name") or "", profile.get("last_name") or ""]
    name = " ".join(p.strip() for p in parts if p and p.strip())
    return name or (profile.get("email") or f"Omneo customer {profile['id']}")


def tier_handle(profile: dict) -> str | None:
    tier = profile.get("tier")
    if isinstance(tier, dict):
        return tier.get("handle") or tier.get("name")
    return profile.get("tier_handle") or (tier if isinstance(tier, str) else None)


def tier_tag(handle: str) -> str:
    return TIER_TAG_PREFIX + re.sub(r"[^a-z0-9_]+", "_", handle.lower()).strip("_")


def zendesk_user(profile: dict, attributes: tuple[str, ...]) -> dict:
    """The create-or-update payload for this profile; only the configured attributes are sent."""
    user: dict = {"external_id": str(profile["id"]), "role": "end-user"}
    if "name" in attributes:
        user["name"] = full_name(profile)
    if "email" in attributes and profile.get("email"):
        user["email"] = profile["email"].strip()
    if "mobile" in attributes:
        phone = profile.get("mobile_phone_e164") or profile.get("mobile_phone")
        if phone:
            user["phone"] = phone
    if "tier" in attributes:
        handle = tier_handle(profile)
        user["user_fields"] = {tier_field.KEY: handle}
        user["tags"] = [tier_tag(handle)] if handle else []
    if "name" not in user:
        user["name"] = f"Omneo customer {profile['id']}"
    return user


def fingerprint(user: dict) -> str:
    """A digest of what we would write, to tell an unchanged profile from a changed one."""
    return hashlib.sha256(json.dumps(user, sort_keys=True).encode()).hexdigest()[:FINGERPRINT_HEX]


CONTACT_KEYS = ("name", "email", "phone")  # of the payload: what a person edits in CX Manager
# the profile's fields each of them is made from (zendesk_user), for a body that may leave some out
_CONTACT_SOURCES = {"name": ("first_name", "last_name"), "email": ("email",),
                    "mobile": ("mobile_phone", "mobile_phone_e164")}


def contact_digest(user: dict) -> str:
    """A short digest of the contact details in a payload (`zendesk_user`): the sync mark keeps
    it, so a change to them is told from a change of the tier alone (the lone lane)."""
    contact = {key: (user.get(key) or "").strip().lower() if key == "email" else user.get(key)
               for key in CONTACT_KEYS}
    return hashlib.sha256(json.dumps(contact, sort_keys=True).encode()).hexdigest()[:CONTACT_HEX]


def body_contact_digest(body: dict, attributes: tuple[str, ...]) -> str | None:
    """`contact_digest` of a webhook body that carries every field the synced contact details
    come from; None when one is missing (a body need not hold them: then nothing is told)."""
    for attribute, sources in _CONTACT_SOURCES.items():
        if attribute in attributes and not all(key in body for key in sources):
            return None
    try:
        return contact_digest(zendesk_user(body, attributes))
    except (AttributeError, TypeError, ValueError):  # fields of an unexpected type: not told
        return None


def drifted(user: dict, zendesk_user_: dict) -> list[str]:
    """Names of synced attributes whose value in Zendesk differs from what the profile says."""
    out = []
    for key in ("name", "email", "phone"):
        if key in user and (zendesk_user_.get(key) or None) != (user.get(key) or None):
            if key == "email" and (zendesk_user_.get(key) or "").lower() == (user[key] or "").lower():
                continue
            out.append(key)
    if "user_fields" in user:
        theirs = (zendesk_user_.get("user_fields") or {}).get(tier_field.KEY)
        if theirs != user["user_fields"][tier_field.KEY]:
            out.append("tier")
    return out


def identity_of(profile: dict, handle: str) -> list[str]:
    """The identifiers of this profile's identities with our handle (normally zero or one)."""
    return [str(i.get("identifier")) for i in profile.get("identities") or []
            if i.get("handle") == handle and i.get("identifier") and i.get("is_active", True)]
