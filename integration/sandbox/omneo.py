"""An Omneo API v3 stand-in: profiles, identities, interactions, rewards, benefits, webhooks."""
from __future__ import annotations

import copy
import json
import math
import re
import threading
import time
import uuid
from datetime import datetime

import requests
from werkzeug.wrappers import Request

from integration.sandbox.base import ApiFailure, SandboxApp, json_response, omneo_time
from integration.apis.signatures import omneo_signature
from integration.sandbox.omneo_benefits import ClaimableBenefits
from integration.sandbox.omneo_rewards import IssuedRewards

API = "/api/v3"
SIGNALS = (-1, 0, 1)


def _invalid(errors: dict) -> ApiFailure:
    return ApiFailure(422, {"message": "The given data was invalid.", "errors": errors})


def _missing() -> ApiFailure:
    return ApiFailure(404, {"message": "Not Found"})


def _is_omneo_time(value) -> bool:
    try:
        datetime.strptime(str(value), "%Y-%m-%d %H:%M:%S")
    except ValueError:
        return False
    return True


def _matches(profile: dict, field: str, op: str, value: str) -> bool:
    have = profile.get(field)
    if field == "email":
        have, value = (have or "").lower(), value.lower()
    have = "" if have is None else str(have)
    if op == "in":
        return have in value.split(",")
    if op in ("gt", "gte", "lt", "lte"):
        return {"gt": have > value, "gte": have >= value, "lt": have < value, "lte": have <= value}[op]
    if op == "ne":
        return have != value
    return have == value


class OmneoSandbox(SandboxApp):
    name = "omneo"

    def __init__(self, token: str = "sandbox-omneo-token", webhook_secret: str = "sandbox-webhook-secret",
                 rate_per_minute: int | None = None):
        self.token, self.webhook_secret = token, webhook_secret
        super().__init__(rate_per_minute)
        r = self.route
        r(f"{API}/profiles", ["GET"], self.list_profiles)
        r(f"{API}/profiles/search-id", ["POST"], self.search_id)
        r(f"{API}/profiles/<profile_id>", ["GET"], self.get_profile)
        r(f"{API}/profiles/<profile_id>/identities", ["GET"], self.list_identities)
        r(f"{API}/profiles/<profile_id>/identities", ["POST"], self.add_identity)
        r(f"{API}/profiles/<profile_id>/identities/<handle>", ["PUT"], self.put_identity)
        r(f"{API}/profiles/<profile_id>/identities/<handle>", ["DELETE"], self.delete_identity)
        r(f"{API}/profiles/<profile_id>/identities/id/<identity_id>", ["GET"], self.get_identity_by_id)
        r(f"{API}/profiles/<profile_id>/identities/id/<identity_id>", ["PUT"], self.put_identity_by_id)
        r(f"{API}/profiles/<profile_id>/identities/id/<identity_id>", ["DELETE"],
          self.delete_identity_by_id)
        r(f"{API}/profiles/<profile_id>/balances", ["GET"], self.balances)
        r(f"{API}/profiles/<profile_id>/benefits", ["GET"], self.benefits)
        r(f"{API}/profiles/<profile_id>/transactions", ["GET"], self.transactions)
        r(f"{API}/profiles/<profile_id>/tiers", ["GET"], self.tier_progress)
        r(f"{API}/interactions", ["POST"], self.create_interaction)
        r(f"{API}/profiles/<profile_id>/interactions", ["GET"], self.profile_interactions)
        r(f"{API}/webhooks", ["GET"], self.list_webhooks)
        r(f"{API}/webhooks", ["POST"], self.create_webhook)
        r(f"{API}/webhooks/<webhook_id>", ["PUT"], self.put_webhook)
        r(f"{API}/webhooks/<webhook_id>", ["DELETE"], self.delete_webhook)
        r("/_sandbox/profiles", ["POST"], self.ctl_put_profile, control=True)
        r("/_sandbox/profiles/bulk", ["POST"], self.ctl_bulk_profiles, control=True)
        r("/_sandbox/profiles/<profile_id>", ["DELETE"], self.ctl_delete_profile, control=True)
        r("/_sandbox/profiles/<profile_id>/merge", ["POST"], self.ctl_merge, control=True)
        r("/_sandbox/profiles/<profile_id>/identities", ["POST"], self.ctl_link, control=True)
        r("/_sandbox/profiles/<profile_id>/rewards", ["POST"], self.ctl_rewards, control=True)
        r("/_sandbox/interactions", ["GET"], self.ctl_interactions, control=True)
        r("/_sandbox/deliveries", ["GET"], self.ctl_deliveries, control=True)
        self.issued_rewards = IssuedRewards(self)  # POST /rewards and a profile's rewards (its own module)
        self.claimable_benefits = ClaimableBenefits(self)  # claimable benefits and claims (the same)

    def reset(self) -> None:
        super().reset()
        self.profiles: dict[str, dict] = {}
        self.rewards: dict[str, dict] = {}
        self.interactions: list[dict] = []
        self.webhooks: dict[str, dict] = {}
        self.deliveries: list[dict] = []
        self._clock = 0.0
        if hasattr(self, "issued_rewards"):
            self.issued_rewards.reset()
        if hasattr(self, "claimable_benefits"):
            self.claimable_benefits.reset()

    def authorized(self, request: Request) -> bool:
        return request.headers.get("Authorization") == f"Bearer {self.token}"

    def unauthorized(self):
        return json_response({"message": "Unauthenticated."}, 401)

    def _stamp(self) -> str:
        # strictly increasing per second of wall time, so later edits always sort later
        self._clock = max(time.time(), math.floor(self._clock) + 1)
        return omneo_time(self._clock)

    def _profile(self, profile_id: str) -> dict:
        profile = self.profiles.get(profile_id)
        if profile is None:
            raise _missing()
        return profile

    # profiles
    def get_profile(self, request, profile_id):
        return json_response({"data": self._profile(profile_id)})

    def list_profiles(self, request):
        """Omneo's list query (omneo-sdk `RequestQueryProfile`): `filter[field]` or
        `filter[field][op]` with op eq/gt/gte/lt/lte/in, `sort` (comma-separated, `-` for
        descending), `page[number]`/`page[size]` (the older `page`/`per_page` too)."""
        wanted = request.args.get("filter[id][in]")
        if wanted is not None:  # looked up, not scanned: a bulk read of 100 among 20,000 profiles
            rows = [self.profiles[i] for i in dict.fromkeys(wanted.split(",")) if i in self.profiles]
        else:
            rows = list(self.profiles.values())
        for name, value in request.args.items():
            match = re.fullmatch(r"filter\[(\w+)\](?:\[(\w+)\])?", name)
            if match:
                rows = [p for p in rows if _matches(p, match.group(1), match.group(2) or "eq", value)]
        for key in reversed([k for k in request.args.get("sort", "id").split(",") if k.strip()]):
            key = key.strip()
            rows.sort(key=lambda p: str(p.get(key.lstrip("-")) or ""), reverse=key.startswith("-"))
        try:
            per_page = int(request.args.get("page[size]") or request.args.get("per_page") or 25)
            page = int(request.args.get("page[number]") or request.args.get("page") or 1)
        except ValueError:
            raise _invalid({"page": ["The page must be an integer."]})
        per_page, page = min(max(per_page, 1), 500), max(page, 1)
        last = max(1, math.ceil(len(rows) / per_page))
        data = rows[(page - 1) * per_page: page * per_page]
        return json_response({"data": data, "links": {},
                              "meta": {"current_page": page, "last_page": last,
                                       "per_page": per_page, "total": len(rows)}})

    def search_id(self, request):
        body = request.get_json(silent=True) or {}
        handle, identifier = body.get("type"), str(body.get("id", ""))
        if not handle or not identifier:
            raise _invalid({"type": ["The type field is required."], "id": ["The id field is required."]})
        for profile in self.profiles.values():
            if any(i["handle"] == handle and i["identifier"] == identifier for i in profile["identities"]):
                return json_response({"data": profile})
        raise _missing()

    # identities
    def list_identities(self, request, profile_id):
        return json_response({"data": self._profile(profile_id)["identities"]})

    def _identity(self, profile: dict, handle: str, identifier: str) -> dict:
        now = self._stamp()
        return {"id": str(uuid.uuid4()), "merged_from": None, "profile_id": profile["id"],
                "is_primary": True, "is_active": True, "identifier": identifier,
                "handle": handle, "created_at": now, "updated_at": now}

    def add_identity(self, request, profile_id):
        profile = self._profile(profile_id)
        body = request.get_json(silent=True) or {}
        handle, identifier = body.get("handle"), body.get("identifier")
        if not handle or not identifier:
            raise _invalid({"handle": ["The handle field is required."],
                            "identifier": ["The identifier field is required."]})
        if any(i["handle"] == handle for i in profile["identities"]):
            raise _invalid({"handle": ["The profile already has an identity with this handle."]})
        identity = self._identity(profile, handle, str(identifier))
        profile["identities"].append(identity)
        return json_response({"data": identity}, 201)

    def put_identity(self, request, profile_id, handle):
        # By handle Omneo addresses the first identity with it; any others stay untouched (the
        # SDK reaches those through /identities/id/{id}).
        profile = self._profile(profile_id)
        mine = [i for i in profile["identities"] if i["handle"] == handle]
        if not mine:
            raise _missing()
        return json_response({"data": self._update_identity(mine[0], request)})

    def _update_identity(self, identity: dict, request) -> dict:
        body = request.get_json(silent=True) or {}
        for key in ("is_active", "is_primary"):
            if key in body:
                identity[key] = bool(body[key])
        identity.update(identifier=str(body.get("identifier", identity["identifier"])),
                        updated_at=self._stamp())
        return identity

    def _identity_by_id(self, profile_id: str, identity_id: str) -> dict:
        found = next((i for i in self._profile(profile_id)["identities"] if i["id"] == identity_id), None)
        if found is None:
            raise _missing()
        return found

    def get_identity_by_id(self, request, profile_id, identity_id):
        return json_response({"data": self._identity_by_id(profile_id, identity_id)})

    def put_identity_by_id(self, request, profile_id, identity_id):
        identity = self._identity_by_id(profile_id, identity_id)
        return json_response({"data": self._update_identity(identity, request)})

    def delete_identity_by_id(self, request, profile_id, identity_id):
        identity = self._identity_by_id(profile_id, identity_id)
        self.profiles[profile_id]["identities"].remove(identity)
        return json_response(None, 204)

    def delete_identity(self, request, profile_id, handle):
        profile = self._profile(profile_id)
        before = len(profile["identities"])
        profile["identities"] = [i for i in profile["identities"] if i["handle"] != handle]
        if len(profile["identities"]) == before:
            raise _missing()
        return json_response(None, 204)

    # rewards
    def balances(self, request, profile_id):
        self._profile(profile_id)
        return json_response({"data": self.rewards.get(profile_id, {}).get("balances")
                              or _balances({})})

    def benefits(self, request, profile_id):
        self._profile(profile_id)
        return json_response({"data": self.rewards.get(profile_id, {}).get("benefits", []),
                              "links": {}, "meta": {}})

    def tier_progress(self, request, profile_id):
        self._profile(profile_id)
        progress = self.rewards.get(profile_id, {}).get("tier_progress")
        if progress is None:
            raise _missing()
        return json_response({"data": progress})

    def transactions(self, request, profile_id):
        self._profile(profile_id)
        rows = sorted(self.rewards.get(profile_id, {}).get("transactions", []),
                      key=lambda t: t.get("transacted_at", ""), reverse=True)
        per_page = int(request.args.get("per_page", 15))
        return json_response({"data": rows[:per_page], "links": {}, "meta": {"total": len(rows)}})

    # interactions
    def create_interaction(self, request):
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            raise ApiFailure(400, {"message": "Invalid JSON"})
        errors = {}
        for key in ("profile_id", "action", "channel", "name", "namespace"):
            if not body.get(key):
                errors[key] = [f"The {key.replace('_', ' ')} field is required."]
        if body.get("signal") not in SIGNALS:
            errors["signal"] = ["The selected signal is invalid."]
        if body.get("interacted_at") is not None and not _is_omneo_time(body["interacted_at"]):
            errors["interacted_at"] = ["The interacted at does not match the format Y-m-d H:i:s."]
        if errors:
            raise _invalid(errors)
        if body["profile_id"] not in self.profiles:
            raise _invalid({"profile_id": ["The selected profile id is invalid."]})
        interaction = dict(body, id=len(self.interactions) + 1, created_at=self._stamp())
        self.interactions.append(interaction)
        return json_response({"data": interaction}, 201)

    def profile_interactions(self, request, profile_id):
        self._profile(profile_id)
        rows = sorted((i for i in self.interactions if i["profile_id"] == profile_id),
                      key=lambda i: i["id"], reverse=True)
        per_page = min(max(int(request.args.get("per_page", 15)), 1), 100)
        return json_response({"data": rows[:per_page], "links": {},
                              "meta": {"current_page": 1, "per_page": per_page, "total": len(rows)}})

    # webhooks
    def list_webhooks(self, request):
        return json_response({"data": list(self.webhooks.values()), "links": {}, "meta": {}})

    def create_webhook(self, request):
        body = request.get_json(silent=True) or {}
        if not body.get("trigger") or not body.get("url"):
            raise _invalid({"trigger": ["The trigger field is required."], "url": ["The url field is required."]})
        webhook_id = str(len(self.webhooks) + 1)
        self.webhooks[webhook_id] = dict(body, id=webhook_id, is_active=body.get("is_active", True))
        return json_response({"data": self.webhooks[webhook_id]}, 201)

    def put_webhook(self, request, webhook_id):
        if webhook_id not in self.webhooks:
            raise _missing()
        self.webhooks[webhook_id].update(request.get_json(silent=True) or {})
        return json_response({"data": self.webhooks[webhook_id]})

    def delete_webhook(self, request, webhook_id):
        if self.webhooks.pop(webhook_id, None) is None:
            raise _missing()
        return json_response(None, 204)

    def emit(self, event: str, body: dict) -> None:
        """Deliver `event` to every active webhook on it, signed, in the background."""
        raw = json.dumps(body).encode()
        headers = {"Content-Type": "application/json", "X-Omneo-Event": event,
                   "X-Omneo-Hmac-SHA256": omneo_signature(self.webhook_secret, raw)}
        for hook in list(self.webhooks.values()):
            if hook.get("trigger") == event and hook.get("is_active", True):
                threading.Thread(target=self._deliver, args=(hook["url"], raw, headers, event),
                                 daemon=True).start()

    def _deliver(self, url: str, raw: bytes, headers: dict, event: str) -> None:
        try:
            status = requests.post(url, data=raw, headers=headers, timeout=10).status_code
        except requests.RequestException as exc:
            status = type(exc).__name__
        with self.lock:
            self.deliveries.append({"event": event, "url": url, "status": status})

    # control routes, for tests and the demo
    def ctl_put_profile(self, request):
        """Create or update a profile as an Omneo user would; emits the matching webhook."""
        data = request.get_json(force=True)
        emit = request.args.get("emit", "1") != "0"
        with self.lock:
            profile_id = str(data.get("id") or uuid.uuid4())
            existing = self.profiles.get(profile_id)
            now = self._stamp()
            if existing is None:
                profile = {"id": profile_id, "first_name": None, "last_name": None, "email": None,
                           "mobile_phone": None, "mobile_phone_e164": None, "tier": None,
                           "tier_handle": None, "profile_type": "active", "joined_at": now,
                           "identities": [], "tags": [], "created_at": now}
                self.profiles[profile_id] = profile
            else:
                profile = existing
            for key, value in data.items():
                if key == "identities":
                    profile["identities"] = [self._identity(profile, i["handle"], str(i["identifier"]))
                                             for i in value]
                elif key == "tier" and isinstance(value, str):
                    profile["tier"] = {"handle": value, "name": value.title()}
                    profile["tier_handle"] = value
                elif key != "id":
                    profile[key] = value
            profile["updated_at"] = now
            snapshot = copy.deepcopy(profile)
        if emit:
            self.emit("profile.created" if existing is None else "profile.updated", snapshot)
        return json_response({"data": snapshot}, 201 if existing is None else 200)

    def ctl_bulk_profiles(self, request):
        """Seed many profiles at once, without webhooks: `{"count": N, "prefix": "bf-"}` makes
        profiles prefix00001.. with generated attributes, or `{"profiles": [{...}, ...]}`."""
        body = request.get_json(force=True) or {}
        rows = body.get("profiles")
        if rows is None:
            prefix, count = str(body.get("prefix", "seed-")), int(body.get("count", 0))
            tiers = ("bronze", "silver", "gold")
            rows = [{"id": f"{prefix}{n:05d}", "first_name": f"Customer{n}", "last_name": "Seeded",
                     "email": f"{prefix}{n}@example.com", "tier": tiers[n % 3]}
                    for n in range(1, count + 1)]
        with self.lock:
            now = self._stamp()
            for data in rows:
                profile_id = str(data.get("id") or uuid.uuid4())
                profile = self.profiles.get(profile_id) or {
                    "id": profile_id, "first_name": None, "last_name": None, "email": None,
                    "mobile_phone": None, "mobile_phone_e164": None, "tier": None,
                    "tier_handle": None, "profile_type": "active", "joined_at": now,
                    "identities": [], "tags": [], "created_at": now}
                for key, value in data.items():
                    if key == "tier" and isinstance(value, str):
                        profile["tier"] = {"handle": value, "name": value.title()}
                        profile["tier_handle"] = value
                    elif key not in ("id", "identities"):
                        profile[key] = value
                profile["updated_at"] = now
                self.profiles[profile_id] = profile
        return json_response({"created": len(rows), "updated_at": now}, 201)

    def ctl_delete_profile(self, request, profile_id):
        """Delete a profile; `?emit=0` deletes it without the webhook (a lost delivery)."""
        with self.lock:
            profile = self.profiles.pop(profile_id, None)
            self.rewards.pop(profile_id, None)
        if profile is None:
            return json_response({"message": "Not Found"}, 404)
        if request.args.get("emit", "1") != "0":
            self.emit("profile.deleted", {"id": profile_id})
        return json_response(None, 204)

    def ctl_merge(self, request, profile_id):
        """Merge the profile `into` another, as CX Manager does: identities move, the loser goes."""
        target_id = str((request.get_json(force=True) or {}).get("into"))
        with self.lock:
            loser, winner = self.profiles.get(profile_id), self.profiles.get(target_id)
            if loser is None or winner is None or loser is winner:
                return json_response({"message": "Not Found"}, 404)
            for identity in loser["identities"]:
                identity.update(profile_id=target_id, merged_from=profile_id)
                winner["identities"].append(identity)
            del self.profiles[profile_id]
            winner["updated_at"] = self._stamp()
            snapshot = copy.deepcopy(winner)
        self.emit("profile.merged", {"id": target_id, "merged_profile_id": profile_id, "profile": snapshot})
        self.emit("profile.deleted", {"id": profile_id})
        return json_response({"data": snapshot})

    def ctl_link(self, request, profile_id):
        """Add an identity as an agent does in CX Manager (beside any with the same handle);
        emits identity.created with the identity as its body."""
        body = request.get_json(force=True) or {}
        emit = request.args.get("emit", "1") != "0"
        with self.lock:
            profile = self.profiles.get(profile_id)
            if profile is None or not body.get("handle") or not body.get("identifier"):
                return json_response({"message": "Not Found"}, 404)
            identity = self._identity(profile, body["handle"], str(body["identifier"]))
            profile["identities"].append(identity)
            profile["updated_at"] = identity["updated_at"]
            snapshot = copy.deepcopy(identity)
        if emit:
            self.emit("identity.created", snapshot)
        return json_response({"data": snapshot}, 201)

    def ctl_rewards(self, request, profile_id):
        """Seed a profile's balances, benefits and transactions. Compact seeds are filled out
        to the shapes of Omneo's SDK types (`ProfileBalances`, `Benefit`, `Transaction`)."""
        seed = request.get_json(force=True) or {}
        with self.lock:
            self._profile(profile_id)
            self.rewards[profile_id] = {
                "balances": _balances(seed.get("balances") or {}),
                "benefits": [_benefit(profile_id, n, b) for n, b in enumerate(seed.get("benefits") or [], 1)],
                "transactions": [_transaction(profile_id, n, t)
                                 for n, t in enumerate(seed.get("transactions") or [], 1)],
                "tier_progress": _tier_progress(profile_id, seed["tier_progress"]) if seed.get("tier_progress")
                else None,
            }
        return json_response({"ok": True})

    def ctl_interactions(self, request):
        with self.lock:
            return json_response({"data": list(self.interactions)})

    def ctl_deliveries(self, request):
        with self.lock:
            return json_response({"data": list(self.deliveries)})


# rewards records as Omneo's SDK types describe them, filled out from compact seeds
def _balances(seed: dict) -> dict:
    reward = seed.get("reward_balance", 0)
    points = seed.get("point_balance", 0)
    point_dollars = seed.get("point_balance_dollars", 0)
    combined = seed.get("combined_balance_dollars", reward + point_dollars)
    return {"reward_balance": reward, "credit_balance": seed.get("credit_balance", 0),
            "point_balance": points, "point_balance_dollars": point_dollars,
            "benefit_balance": seed.get("benefit_balance", 0),
            "combined_balance_dollars": combined, "currency": seed.get("currency"),
            "localised": {"reward_balance": reward, "point_balance_dollars": point_dollars,
                          "combined_balance_dollars": combined}}


def _tier_progress(profile_id: str, seed: dict) -> dict:
    """omneo-sdk `TierProgress` from {"current": name, "next": name|None, "next_remain", "next_progress"}."""
    now = omneo_time()

    def tier(name):
        return None if not name else {"id": sum(map(ord, name)), "name": name,
                                      "handle": name.lower().replace(" ", "-")}
    return {"id": 1, "profile_id": profile_id, "is_floor": False, "current_credit": None,
            "current_progress": None, "current_remain": None, "next_progress": seed.get("next_progress"),
            "next_remain": seed.get("next_remain"), "total_points_12m": None, "total_points_achievement": None,
            "next_progress_change_at": None, "anniversary_at": None, "maintained_at": None,
            "assigned_at": None, "achieved_at": now, "created_at": now, "updated_at": now,
            "current_tier": tier(seed.get("current")), "next_tier": tier(seed.get("next")), "prev_tier": None}


def _benefit(profile_id: str, n: int, seed: dict) -> dict:
    now = omneo_time()
    expires_at = seed.get("expires_at")
    name = seed.get("name") or f"Benefit {n}"
    definition = {"id": str(n), "name": name, "handle": name.lower().replace(" ", "-"),
                  "period": 30, "period_type": "days", "description": None,
                  "short_description": None, "icon": None, "value": seed.get("value"),
                  "type": None, "is_published": True, "is_archived": False, "tags": []}
    return {"id": n, "profile_id": profile_id, "external_id": None, "expires_at": expires_at,
            "issued_at": seed.get("issued_at", now),
            "is_expired": seed.get("is_expired", bool(expires_at and expires_at < now)),
            "is_redeemable": seed.get("is_redeemable", True),
            "redemptions_remaining": seed.get("redemptions_remaining", 1),
            "total_global_redemptions_remaining": 0, "definition": definition,
            "timezone": "UTC", "claimed_at": None, "meta": None, "redeem_code_pos": None,
            "redeem_code_online": None, "created_at": now, "updated_at": now,
            "value": seed.get("value"), "combine_meta": None, "is_combined": False,
            "extended_at": None}


def _transaction(profile_id: str, n: int, seed: dict) -> dict:
    now = omneo_time()
    location = seed.get("location")
    if isinstance(location, str):
        location = {"id": n, "name": location, "external_id": None, "type": "store",
                    "timezone": "UTC"}
    items = seed.get("items", [])
    if isinstance(items, int):
        items = [{"name": f"Item {i}", "quantity": 1} for i in range(1, items + 1)]
    total = seed.get("total", 0)
    return {"id": str(n), "external_id": f"T{n:05d}", "profile_id": profile_id,
            "location": location, "meta": {}, "total": total, "total_original": total,
            "systems": [], "rounding": None, "margin": None, "is_void": seed.get("is_void", False),
            "transacted_at": seed.get("transacted_at", now), "timezone": "UTC", "tags": [],
            "items": [_item(n, i, item) for i, item in enumerate(items, 1)], "payments": [],
            "receipt_is_email": False, "receipt_ref": f"R{n:05d}", "claimed_at": None,
            "receipt_email": None, "staff": None, "currency_id": None, "currency_rate": None,
            "currency": seed.get("currency"), "created_at": now, "updated_at": now}


def _item(transaction_n: int, n: int, seed: dict) -> dict:
    price = seed.get("price", 0)
    return {"id": n, "external_id": None, "name": seed.get("name", f"Item {n}"),
            "transaction_id": transaction_n, "product_id": n, "product_variant_id": None,
            "sku": seed.get("sku"), "variant_external_id": None,
            "is_void": seed.get("is_void", False), "quantity": seed.get("quantity", 1),
            "price_current": price, "price_sell": price, "price_original": price,
            "price_margin": None, "price_tax": None, "discounts": [], "department": None,
            "product_images": []}
