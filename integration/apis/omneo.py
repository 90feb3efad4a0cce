"""Omneo API v3 client: profiles, identities, interactions, rewards, webhooks."""
from __future__ import annotations

from typing import Any

from integration.errors import NotFound
from integration.apis.http import ApiClient, Limiter
from integration.apis.paths import Paths, same_email, search_email

P = Paths("omneo")


def _profile(profile_id, *rest: str) -> str:
    return P.path("profiles", P.token(profile_id, "Omneo profile id"), *rest)


class OmneoClient(ApiClient):
    api = "omneo"

    def __init__(self, base_url: str, token: str, timeout: float = 10.0,
                 limiter: Limiter | None = None, on_call=None):
        super().__init__(base_url, timeout, limiter, on_call)
        self.session.headers["Authorization"] = f"Bearer {token}"

    # profiles
    def get_profile(self, profile_id: str) -> dict:
        return self.request("GET", _profile(profile_id))["data"]

    def find_profile(self, profile_id: str) -> dict | None:
        try:
            return self.get_profile(profile_id)
        except NotFound:
            return None

    def find_profiles_by_email(self, email: str) -> list[dict]:
        """The profiles whose address is exactly `email` (case-insensitively): a filter the API
        applied loosely, or not at all, must not hand us someone else's profile."""
        wanted = search_email(email)
        if wanted is None:
            return []
        rows = self.request("GET", "/profiles", params={"filter[email]": wanted})["data"]
        return [p for p in rows if same_email(p.get("email"), wanted)]

    def search_profile_by_identity(self, handle: str, identifier: str) -> dict | None:
        try:
            query = {"type": P.handle(handle), "id": P.text(identifier, "identifier")}
            body = self.request("POST", "/profiles/search-id", json=query)
        except NotFound:
            return None
        data = body.get("data") if isinstance(body, dict) else None
        if isinstance(data, list):
            return data[0] if data else None
        return data or None

    def profiles_page(self, *, page: int = 1, page_size: int = 100, sort: str = "id",
                      updated_since: str | None = None, after_id: str | None = None,
                      ids: list[str] | None = None) -> tuple[list[dict], dict]:
        """One page of `GET /profiles` with Omneo's query syntax (omneo-sdk `RequestQueryProfile`):
        `filter[<field>][gte|gt|in]`, `sort` (comma-separated, `-` for descending) and
        `page[number]`, `page[size]`. Returns (profiles, meta)."""
        params: dict[str, Any] = {"sort": sort, "page[number]": page, "page[size]": page_size}
        if updated_since:
            params["filter[updated_at][gte]"] = updated_since
        if after_id:
            params["filter[id][gt]"] = P.token(after_id, "Omneo profile id")
        if ids:
            params["filter[id][in]"] = ",".join(P.token(i, "Omneo profile id") for i in ids)
        body = self.request("GET", "/profiles", params=params)
        return body["data"], body.get("meta") or {}

    def find_profiles(self, ids: list[str]) -> dict[str, dict]:
        """The profiles among `ids` that exist, by id (one call per 100 ids).

        Only ids asked for are kept, so an API that ignored the filter could not make a missing
        profile look present; callers confirm an absent one with `find_profile`."""
        wanted, found = {str(i) for i in ids}, {}
        chunk = sorted(wanted)
        for start in range(0, len(chunk), 100):
            rows, _ = self.profiles_page(ids=chunk[start:start + 100], page_size=100)
            found.update({str(p["id"]): p for p in rows if str(p["id"]) in wanted})
        return found

    # identities
    def list_identities(self, profile_id: str) -> list[dict]:
        return self.request("GET", _profile(profile_id, "identities"))["data"]

    def add_identity(self, profile_id: str, handle: str, identifier: str) -> dict:
        body = {"handle": handle, "identifier": identifier, "is_active": True}
        return self.request("POST", _profile(profile_id, "identities"), json=body)["data"]

    def update_identity(self, profile_id: str, handle: str, identifier: str) -> dict:
        body = {"handle": handle, "identifier": identifier, "is_active": True}
        return self.request("PUT", _profile(profile_id, "identities", P.handle(handle)), json=body)["data"]

    def delete_identity(self, profile_id: str, handle: str) -> None:
        try:
            self.request("DELETE", _profile(profile_id, "identities", P.handle(handle)))
        except NotFound:
            pass

    def delete_identity_by_id(self, profile_id: str, identity_id) -> None:
        """One identity by its own id: by handle is ambiguous when a profile has two with it."""
        try:
            self.request("DELETE", _profile(profile_id, "identities", "id",
                                                  P.token(identity_id, "Omneo identity id")))
        except NotFound:
            pass

    # interactions
    def create_interaction(self, interaction: dict) -> dict:
        return self.request("POST", "/interactions", json=interaction)["data"]

    def list_profile_interactions(self, profile_id: str, per_page: int = 100) -> list[dict]:
        """The profile's most recent interactions (one page)."""
        params = {"sort": "-created_at", "per_page": per_page}
        return self.request("GET", _profile(profile_id, "interactions"), params=params)["data"]

    # rewards, for the sidebar
    def get_balances(self, profile_id: str) -> dict:
        return self.request("GET", _profile(profile_id, "balances"))["data"]

    def list_benefits(self, profile_id: str) -> list[dict]:
        return self.request("GET", _profile(profile_id, "benefits"))["data"]

    def list_claimable_benefits(self, profile_id: str) -> list[dict]:
        """The benefit definitions the profile may claim now (`GET .../benefits/claimable`)."""
        return self.request("GET", _profile(profile_id, "benefits", "claimable"))["data"]

    def claim_benefit(self, profile_id: str, claim: dict) -> dict:
        """`POST /profiles/{id}/benefits/claim` `{"definition": <handle>, ...}`: the benefit issued."""
        return self.request("POST", _profile(profile_id, "benefits", "claim"), json=claim)["data"]

    def find_tier_progress(self, profile_id: str) -> dict | None:
        """The profile's tier progress (omneo-sdk `TierProgress`: `current_tier`, `next_tier`,
        `next_remain`, `next_progress`); None when Omneo has none for it."""
        try:
            return self.request("GET", _profile(profile_id, "tiers"))["data"] or None
        except NotFound:
            return None

    def list_transactions(self, profile_id: str, limit: int = 5) -> list[dict]:
        params = {"sort": "-transacted_at", "per_page": limit}
        return self.request("GET", _profile(profile_id, "transactions"), params=params)["data"]

    def create_reward(self, reward: dict) -> dict:
        """`POST /rewards`: issue a reward of a definition to a profile."""
        return self.request("POST", "/rewards", json=reward)["data"]

    def list_profile_rewards(self, profile_id: str) -> list[dict]:
        return self.request("GET", _profile(profile_id, "rewards"))["data"]

    # webhooks
    def list_webhooks(self) -> list[dict]:
        return self.request("GET", "/webhooks")["data"]

    def create_webhook(self, webhook: dict) -> dict:
        return self.request("POST", "/webhooks", json=webhook)["data"]

    def update_webhook(self, webhook_id, webhook: dict) -> dict:
        return self.request("PUT", P.path("webhooks", P.token(webhook_id, "Omneo webhook id")), json=webhook)["data"]
