"""The Omneo sandbox's rewards issued by API: `POST /rewards`, `GET /profiles/{id}/rewards`.

Records follow omneo-sdk's `Reward` and `RewardDefinition` types. Validation answers as Omneo's
Laravel API does: 422 `{"message": ..., "errors": {field: [text]}}` naming each field. Issuing a
reward adds its value to the profile's `reward_balance`.
"""
from __future__ import annotations

import re

from integration.sandbox.base import ApiFailure, json_response, omneo_time

API = "/api/v3"
_TIME = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")

DEFAULT_DEFINITIONS = (
    {"id": 7, "name": "Goodwill credit", "handle": "goodwill-credit", "type": "customer-service", "value": 10},
    {"id": 8, "name": "Late delivery voucher", "handle": "late-delivery-voucher", "type": "customer-service",
     "value": 15},
    {"id": 9, "name": "Birthday reward", "handle": "birthday-reward", "type": "birthday", "value": 20},
)


class IssuedRewards:
    def __init__(self, sandbox):
        self.sb = sandbox
        r = sandbox.route
        r(f"{API}/rewards", ["POST"], self.create)
        r(f"{API}/profiles/<profile_id>/rewards", ["GET"], self.list_for_profile)
        r("/_sandbox/rewards", ["GET"], self.ctl_list, control=True)
        r("/_sandbox/reward-definitions", ["POST"], self.ctl_definitions, control=True)
        self.reset()

    def reset(self) -> None:
        self.issued: list[dict] = []
        self.definitions = {d["id"]: _definition(d) for d in DEFAULT_DEFINITIONS}

    def create(self, request):
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            raise ApiFailure(400, {"message": "Invalid JSON"})
        errors: dict[str, list[str]] = {}
        profile_id, definition_id = body.get("profile_id"), body.get("reward_definition_id")
        if not profile_id:
            errors["profile_id"] = ["The profile id field is required."]
        elif str(profile_id) not in self.sb.profiles:
            errors["profile_id"] = ["The selected profile id is invalid."]
        if definition_id in (None, ""):
            errors["reward_definition_id"] = ["The reward definition id field is required."]
        elif not isinstance(definition_id, int) or definition_id not in self.definitions:
            errors["reward_definition_id"] = ["The selected reward definition id is invalid."]
        value = body.get("value")
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0):
            errors["value"] = ["The value must be a number.", "The value must be at least 0."]
        expires = body.get("expires_at")
        if expires is not None and not (isinstance(expires, str) and _TIME.match(expires)):
            errors["expires_at"] = ["The expires at does not match the format Y-m-d H:i:s."]
        if errors:
            raise ApiFailure(422, {"message": "The given data was invalid.", "errors": errors})
        definition = self.definitions[definition_id]
        value = definition["value"] if value is None else value
        now = omneo_time()
        reward = {"id": len(self.issued) + 1, "profile_id": str(profile_id), "timezone": "UTC",
                  "value_initial": value, "value_remaining": value, "has_notified_issue": False,
                  "has_notified_expiry": False, "expires_at": expires, "issued_at": now,
                  "is_expired": False, "is_active": True, "issued_local_at": now, "expires_local_at": expires,
                  "notify_issue_at": None, "notify_expiry_at": None, "extended_at": None,
                  "definition": definition, "meta": body.get("meta"), "created_at": now, "updated_at": now}
        self.issued.append(reward)
        seeded = self.sb.rewards.get(str(profile_id))
        if seeded and seeded.get("balances"):
            balances = seeded["balances"]
            balances["reward_balance"] = balances.get("reward_balance", 0) + value
            balances["combined_balance_dollars"] = balances.get("combined_balance_dollars", 0) + value
        return json_response({"data": reward}, 201)

    def list_for_profile(self, request, profile_id):
        self.sb._profile(profile_id)
        rows = [r for r in self.issued if r["profile_id"] == profile_id]
        return json_response({"data": rows, "links": {}, "meta": {"total": len(rows)}})

    def ctl_list(self, request):
        with self.sb.lock:
            return json_response({"data": list(self.issued)})

    def ctl_definitions(self, request):
        """Replace the tenant's reward definitions: [{"id", "name", "handle", "type", "value"}]."""
        rows = request.get_json(force=True) or []
        with self.sb.lock:
            self.definitions = {int(d["id"]): _definition(d) for d in rows}
        return json_response({"ok": True})


def _definition(seed: dict) -> dict:
    now = omneo_time()
    return {"id": seed["id"], "name": seed["name"], "handle": seed["handle"], "period": 12,
            "description": None, "short_description": None, "long_description": None,
            "terms_conditions": None, "earn_instructions": None, "icon": None, "image_url": None,
            "issue_target_id": 1, "expiry_target_id": 1, "notify_issue_offset": None,
            "notify_expiry_offset": None, "internal_notes": None, "type": seed.get("type", "other"),
            "value": seed.get("value", 0), "is_extendable": False, "is_assignable": True,
            "is_reassignable": False, "is_published": True, "tags": [], "created_at": now, "updated_at": now}
