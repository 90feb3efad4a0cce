"""A goodwill reward in Omneo: `POST /rewards` with the definition, value and expiry, our action id
in `meta`, so a run after a lost answer finds the reward it made rather than issuing another."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from integration.wiring import Context


def issue(ctx: Context, action: dict) -> str:
    """The Omneo reward's id: one issued before for this action, or a new one."""
    reward = issued_before(ctx, action) or ctx.omneo.create_reward(reward_body(action))
    return str(reward["id"])


def issued_before(ctx: Context, action: dict) -> dict | None:
    """A reward an earlier run issued but could not note (it failed after Omneo's answer)."""
    for reward in ctx.omneo.list_profile_rewards(action["profile_id"]):
        if (reward.get("meta") or {}).get("omneo_zendesk_action") == action["id"]:
            return reward
    return None


def reward_body(action: dict) -> dict:
    expires = datetime.fromtimestamp(action["at"], timezone.utc) + timedelta(days=action["expiry_days"])
    return {"profile_id": action["profile_id"], "reward_definition_id": int(action["reward_definition_id"]),
            "value": action["value"], "expires_at": expires.strftime("%Y-%m-%d %H:%M:%S"),
            "meta": {"omneo_zendesk_action": action["id"], "zendesk_ticket_id": action["ticket_id"],
                     "reason": action["reason"]}}
