"""Who the sidebar's requester is, as Zendesk says: never as the agent's page says.

The sidebar's JWT names only the requester's Zendesk user id. The page composes its claims, so
whatever else it could say (an email, a profile) is the agent's word; this module reads the user
from Zendesk with the service's own credentials (`GET /api/v2/users/{id}`: its primary `email`,
its `external_id`, whether it is active and an end user) and the profile is resolved from that.

Zendesk's answer is cached for SIDEBAR_CACHE_SECONDS under `keys.sidebar_zendesk_user(id)`, written
only from Zendesk's answer, so a warm view costs no Zendesk call either. Everything the sidebar keeps
about a requester (the short link, the last-known link) carries the `fingerprint` of what Zendesk
said when it was written, and is used only while Zendesk says the same thing.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from integration.store import keys
from integration.wiring import Context
from integration.store.decoding import text
from integration.profiles.user_rules import is_end_user, is_present


@dataclass(frozen=True)
class Requester:
    zendesk_user_id: str
    email: str | None
    external_id: str | None

    @property
    def fingerprint(self) -> str:
        """What Zendesk said of this user, in 16 hex digits (no personal data in the clear)."""
        said = "\0".join((self.zendesk_user_id, (self.email or "").strip().lower(),
                          (self.external_id or "").strip()))
        return hashlib.sha256(said.encode()).hexdigest()[:16]

    def tag(self, profile_id: str) -> str:
        """A link's stored value: the profile, and what Zendesk said when it was made."""
        return f"{self.fingerprint}:{profile_id}"

    def untag(self, value) -> str | None:
        """The profile a stored link names, if it was made while Zendesk said what it says now."""
        fingerprint, _, profile_id = (text(value) or "").partition(":")
        return profile_id or None if fingerprint == self.fingerprint else None


def from_zendesk(ctx: Context, zendesk_user_id: str, fresh: bool = False) -> Requester | None:
    """The requester as Zendesk describes them; None when Zendesk has no such live end user.
    `fresh` skips the cache (the agent's refresh). Zendesk's errors (RateLimited, outages,
    AuthFailure) are raised: without Zendesk's word there is no view."""
    zendesk_user_id = str(zendesk_user_id)
    key = keys.sidebar_zendesk_user(zendesk_user_id)
    ttl = ctx.settings.sidebar_cache_seconds
    raw = None if fresh or not ttl else ctx.redis.get(key)
    if raw is not None:
        said = json.loads(raw)
    else:
        user = ctx.zendesk.find_user(zendesk_user_id)
        said = ({"email": user.get("email"), "external_id": user.get("external_id")}
                if is_present(user) and is_end_user(user) else {"gone": True})
        if ttl:
            ctx.redis.set(key, json.dumps(said), ex=ttl)
    if said.get("gone"):
        return None
    return Requester(zendesk_user_id, _string(said.get("email")), _string(said.get("external_id")))


def _string(value) -> str | None:
    return value.strip() or None if isinstance(value, str) else None
