"""The Omneo sandbox's claimable benefits: `GET /profiles/{id}/benefits/claimable` and
`POST /profiles/{id}/benefits/claim`.

As Omneo's docs and omneo-sdk describe them: the claimable list holds benefit definitions
(`BenefitDefinition`) the profile may claim now: `is_claimable`, published, not archived, inside
`claim_period_start_at`..`claim_period_end_at`, and not claimed by the profile already unless
`is_reclaimable`. A claim names the definition by its handle (`{"definition", "timezone",
"external_id", "meta"}`) and answers the issued `Benefit`, which then shows among the profile's
benefits. Refusals answer as Omneo's Laravel API does: 422 `{"message", "errors": {"definition": [...]}}`.
"""
from __future__ import annotations

import itertools
from datetime import datetime, timedelta, timezone

from integration.sandbox.base import ApiFailure, json_response, omneo_time

API = "/api/v3"
_FAR_PAST, _FAR_FUTURE = "2020-01-01 00:00:00", "2099-12-31 23:59:59"

DEFAULT_DEFINITIONS = (
    {"id": 31, "name": "Free express shipping", "handle": "free-express-shipping",
     "short_description": "Next order ships express at no cost", "period": 30},
    {"id": 32, "name": "Birthday coffee", "handle": "birthday-coffee", "is_reclaimable": True,
     "short_description": "A coffee on us, in any store", "period": 14},
    {"id": 33, "name": "VIP lounge access", "handle": "vip-lounge-access", "is_claimable": False},
    {"id": 34, "name": "Summer sale early access", "handle": "summer-early-access",
     "claim_period_end_at": "2021-02-28 23:59:59"},
)


def _invalid(message: str) -> ApiFailure:
    return ApiFailure(422, {"message": message, "errors": {"definition": [message]}})


class ClaimableBenefits:
    def __init__(self, sandbox):
        self.sb = sandbox
        r = sandbox.route
        r(f"{API}/profiles/<profile_id>/benefits/claimable", ["GET"], self.claimable)
        r(f"{API}/profiles/<profile_id>/benefits/claim", ["POST"], self.claim)
        r("/_sandbox/benefit-definitions", ["POST"], self.ctl_definitions, control=True)
        r("/_sandbox/claimed-benefits", ["GET"], self.ctl_claimed, control=True)
        self.reset()

    def reset(self) -> None:
        self.claimed: list[dict] = []
        self._ids = itertools.count(1001)
        self.definitions = {d["handle"]: _definition(d) for d in DEFAULT_DEFINITIONS}

    def _why_not(self, profile_id: str, definition: dict) -> str | None:
        """Why the profile may not claim this definition now (None: it may)."""
        now = omneo_time()
        if not definition["is_claimable"] or not definition["is_published"] or definition["is_archived"]:
            return "The selected benefit is not claimable."
        if not definition["claim_period_start_at"] <= now <= definition["claim_period_end_at"]:
            return "The selected benefit is outside its claim period."
        if not definition["is_reclaimable"] and any(
                b["profile_id"] == profile_id and b["definition"]["id"] == definition["id"] for b in self.claimed):
            return "The selected benefit has already been claimed."
        return None

    def claimable(self, request, profile_id):
        with self.sb.lock:
            self.sb._profile(profile_id)
            rows = [d for d in self.definitions.values() if self._why_not(profile_id, d) is None]
        return json_response({"data": rows})

    def claim(self, request, profile_id):
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            raise ApiFailure(400, {"message": "Invalid JSON"})
        with self.sb.lock:
            self.sb._profile(profile_id)
            handle = body.get("definition")
            if handle in (None, ""):
                raise _invalid("The definition field is required.")
            definition = self.definitions.get(handle) if isinstance(handle, str) else None
            if definition is None:
                raise _invalid("The selected definition is invalid.")
            why = self._why_not(profile_id, definition)
            if why:
                raise _invalid(why)
            benefit = _benefit(next(self._ids), profile_id, definition, body)
            self.claimed.append(benefit)
            self.sb.rewards.setdefault(profile_id, {}).setdefault("benefits", []).append(benefit)
        return json_response({"data": benefit}, 201)

    def ctl_definitions(self, request):
        """Replace the tenant's benefit definitions: [{"id", "name", "handle", "is_claimable", ...}]."""
        rows = request.get_json(force=True) or []
        with self.sb.lock:
            self.definitions = {d["handle"]: _definition(d) for d in rows}
        return json_response({"ok": True})

    def ctl_claimed(self, request):
        with self.sb.lock:
            return json_response({"data": list(self.claimed)})


def _definition(seed: dict) -> dict:
    now = omneo_time()
    return {"id": str(seed["id"]), "name": seed["name"], "handle": seed["handle"], "region_id": None,
            "region": None, "currency": None, "period": seed.get("period", 30),
            "description": seed.get("short_description"), "internal_notes": None, "meta": None,
            "short_description": seed.get("short_description"), "long_description": None,
            "terms_conditions": None, "earn_instructions": None, "redeem_instructions_store": None,
            "redeem_instructions_online": None, "redeem_code_pos": None, "redeem_code_online": None,
            "icon": None, "image_url": None, "max_redemptions": 1, "is_extendable": False,
            "is_assignable": True, "is_reassignable": False, "is_published": seed.get("is_published", True),
            "is_archived": seed.get("is_archived", False), "tags": [],
            "is_claimable": seed.get("is_claimable", True), "max_global_redemptions": None,
            "claim_period_start_at": seed.get("claim_period_start_at", _FAR_PAST),
            "claim_period_end_at": seed.get("claim_period_end_at", _FAR_FUTURE), "claim_condition": None,
            "is_reclaimable": seed.get("is_reclaimable", False), "value": seed.get("value"), "type": None,
            "created_at": now, "updated_at": now}


def _benefit(benefit_id: int, profile_id: str, definition: dict, body: dict) -> dict:
    issued = datetime.now(timezone.utc)
    expires = (issued + timedelta(days=definition["period"] or 30)).strftime("%Y-%m-%d 23:59:59")
    now = issued.strftime("%Y-%m-%d %H:%M:%S")
    return {"id": benefit_id, "profile_id": profile_id, "external_id": body.get("external_id"),
            "expires_at": expires, "issued_at": now, "is_expired": False, "is_redeemable": True,
            "redemptions_remaining": definition["max_redemptions"], "total_global_redemptions_remaining": None,
            "definition": dict(definition), "timezone": body.get("timezone") or "UTC", "claimed_at": now,
            "meta": body.get("meta"), "redeem_code_pos": None, "redeem_code_online": None,
            "created_at": now, "updated_at": now, "value": definition["value"], "combine_meta": None,
            "is_combined": False, "extended_at": None}
