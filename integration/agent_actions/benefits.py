"""Claiming a claimable benefit for a customer, as Omneo documents it.

`GET /profiles/{id}/benefits/claimable` lists the benefit definitions the profile may claim now
(`is_claimable`, within the claim period, its claim condition met, not claimed already unless
reclaimable); `POST /profiles/{id}/benefits/claim` `{"definition": <handle>, "meta": ...}` issues
one to the profile. Our action id rides in `meta`, so a run after a lost answer finds the benefit
it made among the profile's benefits rather than claiming again.
"""
from __future__ import annotations

from integration.wiring import Context
from integration.agent_actions.forms import Refusal


def claimable(ctx: Context, profile_id: str) -> list[dict]:
    """What the page offers: id, name, handle and short description of each claimable benefit."""
    return [{"id": str(d["id"]), "name": d.get("name") or d.get("handle"), "handle": d.get("handle"),
             "description": d.get("short_description") or d.get("description")}
            for d in ctx.omneo.list_claimable_benefits(profile_id) if d.get("id") is not None]


def find_claimable(ctx: Context, profile_id: str, definition_id: str) -> dict:
    """The claimable benefit definition `definition_id`, or Refusal: Omneo does not let this
    customer claim it now (not claimable, claimed already, outside its claim period)."""
    for benefit in claimable(ctx, profile_id):
        if benefit["id"] == str(definition_id):
            return benefit
    raise Refusal(422, "benefit_not_claimable", "this customer cannot claim this benefit now")


def claim(ctx: Context, action: dict) -> str:
    """The Omneo benefit's id: one claimed before for this action, or a new claim."""
    benefit = claimed_before(ctx, action) or ctx.omneo.claim_benefit(action["profile_id"], claim_body(action))
    return str(benefit["id"])


def claimed_before(ctx: Context, action: dict) -> dict | None:
    for benefit in ctx.omneo.list_benefits(action["profile_id"]):
        if isinstance(benefit.get("meta"), dict) and benefit["meta"].get("omneo_zendesk_action") == action["id"]:
            return benefit
    return None


def claim_body(action: dict) -> dict:
    return {"definition": action["benefit_handle"], "timezone": "UTC",
            "meta": {"omneo_zendesk_action": action["id"], "zendesk_ticket_id": action["ticket_id"],
                     "reason": action["reason"]}}
