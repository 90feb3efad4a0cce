"""Omneo API v3 client: profiles, identities, interactions, rewards, webhooks."""
from __future__ import annotations

from typing import Any, Iterator

from integration.errors import NotFound
from integration.http import ApiClient, Limiter


class OmneoClient(ApiClient):
    api = "omneo"

    def __init__(self, base_url: str, token: str, timeout: float = 10.0,
                 limiter: Limiter | None = None, on_call=None):
        super().__init__(base_url, timeout, limiter, on_call)
        self.session.headers["Authorization"] = f"Bearer {token}"

    # profiles
    def get_profile(self, profile_id: str) -> dict:
        return self.request("GET", f"/profiles/{profile_id}")["data"]

    def find_profile(self, profile_id: str) -> dict | None:
        try:
            return self.get_profile(profile_id)
        except NotFound:
            return None

    def find_profiles_by_email(self, email: str) -> list[dict]:
        return self.request("GET", "/profiles", params={"filter[email]": email})["data"]

    def search_profile_by_identity(self, handle: str, identifier: str) -> dict | None:
        try:
            body = self.request("POST", "/profiles/search-id", json={"type": handle, "id": identifier})
        except NotFound:
            return None
        data = body.get("data") if isinstance(body, dict) else None
        if isinstance(data, list):
            return data[0] if data else None
        return data or None

    def iter_profiles(self, per_page: int = 100, updated_since: str | None = None) -> Iterator[dict]:
        """Every profile, page by page (optionally those updated since an Omneo timestamp)."""
        page = 1
        while True:
            params: dict[str, Any] = {"page": page, "per_page": per_page}
            if updated_since:
                params["filter[updated_at][gte]"] = updated_since
            body = self.request("GET", "/profiles", params=params)
            yield from body["data"]
            meta = body.get("meta") or {}
            if page >= int(meta.get("last_page") or page) or not body["data"]:
                return
            page += 1

    # identities
    def list_identities(self, profile_id: str) -> list[dict]:
        return self.request("GET", f"/profiles/{profile_id}/identities")["data"]

    def add_identity(self, profile_id: str, handle: str, identifier: str) -> dict:
        body = {"handle": handle, "identifier": identifier, "is_active": True}
        return self.request("POST", f"/profiles/{profile_id}/identities", json=body)["data"]

    def update_identity(self, profile_id: str, handle: str, identifier: str) -> dict:
        body = {"handle": handle, "identifier": identifier, "is_active": True}
        return self.request("PUT", f"/profiles/{profile_id}/identities/{handle}", json=body)["data"]

    def delete_identity(self, profile_id: str, handle: str) -> None:
        try:
            self.request("DELETE", f"/profiles/{profile_id}/identities/{handle}")
        except NotFound:
            pass

    def delete_identity_by_id(self, profile_id: str, identity_id) -> None:
        """One identity by its own id: by handle is ambiguous when a profile has two with it."""
        try:
            self.request("DELETE", f"/profiles/{profile_id}/identities/id/{identity_id}")
        except NotFound:
            pass

    # interactions
    def create_interaction(self, interaction: dict) -> dict:
        return self.request("POST", "/interactions", json=interaction)["data"]

    def list_profile_interactions(self, profile_id: str, per_page: int = 100) -> list[dict]:
        """The profile's most recent interactions (one page)."""
        params = {"sort": "-created_at", "per_page": per_page}
        return self.request("GET", f"/profiles/{profile_id}/interactions", params=params)["data"]

    # rewards, for the sidebar
    def get_balances(self, profile_id: str) -> dict:
        return self.request("GET", f"/profiles/{profile_id}/balances")["data"]

    def list_benefits(self, profile_id: str) -> list[dict]:
        return self.request("GET", f"/profiles/{profile_id}/benefits")["data"]

    def list_transactions(self, profile_id: str, limit: int = 5) -> list[dict]:
        params = {"sort": "-transacted_at", "per_page": limit}
        return self.request("GET", f"/profiles/{profile_id}/transactions", params=params)["data"]

    # webhooks
    def list_webhooks(self) -> list[dict]:
        return self.request("GET", "/webhooks")["data"]

    def create_webhook(self, webhook: dict) -> dict:
        return self.request("POST", "/webhooks", json=webhook)["data"]

    def update_webhook(self, webhook_id, webhook: dict) -> dict:
        return self.request("PUT", f"/webhooks/{webhook_id}", json=webhook)["data"]
