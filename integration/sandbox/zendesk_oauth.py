"""The Zendesk sandbox's OAuth server: the client credentials grant and the tokens it issues.

As Zendesk answers: `POST /oauth/tokens` with a wrong client or secret is 401 `invalid_client`, a
scope outside the client's allowed ones 400 `invalid_scope`, another grant type 400
`unsupported_grant_type`; an `expires_in` outside 300..172800 400 `invalid_request`. A token past
its expiry or revoked answers 401 `invalid_token` on the API. `max_lifetime` (a sandbox setting)
shortens what is granted, so tests see tokens expire in seconds.
"""
from __future__ import annotations

import secrets
import threading
import time

from integration.sandbox.base import ApiFailure, iso_time

MIN_EXPIRES_IN, MAX_EXPIRES_IN, DEFAULT_EXPIRES_IN = 300, 172_800, 1800
ALL_SCOPES = ("read", "write") + tuple(
    f"{resource}:{access}" for resource in ("tickets", "users", "auditlogs", "organizations", "hc",
                                            "apps", "triggers", "automations", "targets",
                                            "webhooks", "zis")
    for access in ("read", "write"))

INVALID_CLIENT = {"error": "invalid_client", "error_description": (
    "The client identifier provided is invalid, the client failed to authenticate, the client did "
    "not include its credentials, provided multiple client credentials, or used unsupported "
    "credentials type.")}
INVALID_SCOPE = {"error": "invalid_scope",
                 "error_description": "The requested scope is invalid, unknown, or malformed."}
INVALID_TOKEN = {"error": "invalid_token", "error_description": (
    "The access token provided is expired, revoked, malformed, or invalid for other reasons.")}


def _oauth_error(status: int, error: str, description: str) -> ApiFailure:
    return ApiFailure(status, {"error": error, "error_description": description})


class OAuthServer:
    def __init__(self, client_id: str | None, client_secret: str | None,
                 allowed_scopes: tuple[str, ...] = ALL_SCOPES, max_lifetime: float | None = None,
                 user_id: int = 1):
        self.client_id, self.client_secret = client_id, client_secret
        self.allowed_scopes = tuple(allowed_scopes)
        self.user_id = user_id
        self._defaults = (client_secret, max_lifetime)
        self._why = threading.local()
        self.reset()

    def reset(self) -> None:
        self.client_secret, self.max_lifetime = self._defaults
        self.omit_expires_in = False
        self.tokens: dict[str, dict] = {}
        self._ids = iter(range(900_001, 10**9))

    def configure(self, body: dict) -> None:
        """`token_lifetime_seconds` (null: as asked), `client_secret` (rotate it),
        `omit_expires_in` (answer without it, as Zendesk has been seen to)."""
        if "token_lifetime_seconds" in body:
            value = body["token_lifetime_seconds"]
            self.max_lifetime = float(value) if value else None
        if "client_secret" in body:
            self.client_secret = body["client_secret"]
        if "omit_expires_in" in body:
            self.omit_expires_in = bool(body["omit_expires_in"])

    def grant(self, body: dict, stats) -> dict:
        if body.get("grant_type") != "client_credentials":
            stats["oauth_grants_refused"] += 1
            raise _oauth_error(400, "unsupported_grant_type",
                               "The authorization grant type is not supported by the authorization server.")
        if (not self.client_id or body.get("client_id") != self.client_id
                or not secrets.compare_digest(str(body.get("client_secret") or ""), self.client_secret or "")):
            stats["oauth_grants_refused"] += 1
            raise ApiFailure(401, INVALID_CLIENT)
        scopes = str(body.get("scope") or "read write").split()
        if not scopes or any(s not in self.allowed_scopes for s in scopes):
            stats["oauth_grants_refused"] += 1
            raise ApiFailure(400, INVALID_SCOPE)
        asked = body.get("expires_in", DEFAULT_EXPIRES_IN)
        if not isinstance(asked, int) or not MIN_EXPIRES_IN <= asked <= MAX_EXPIRES_IN:
            stats["oauth_grants_refused"] += 1
            raise _oauth_error(400, "invalid_request", f"expires_in must be between {MIN_EXPIRES_IN} "
                               f"and {MAX_EXPIRES_IN} seconds.")
        lifetime = min(asked, self.max_lifetime) if self.max_lifetime else asked
        token = secrets.token_hex(32)
        self.tokens[token] = {"id": next(self._ids), "scopes": scopes, "created": time.time(),
                              "expires": time.time() + lifetime, "revoked": False}
        stats["oauth_grants"] += 1
        answer = {"access_token": token, "token_type": "bearer", "scope": " ".join(scopes)}
        if not self.omit_expires_in:
            answer["expires_in"] = int(lifetime) if float(lifetime).is_integer() else lifetime
        return answer

    def valid(self, token: str) -> bool:
        """Whether `token` may call the API; else `unauthorized_body` says why."""
        record = self.tokens.get(token)
        ok = bool(record) and not record["revoked"] and record["expires"] > time.time()
        self._why.invalid_token = not ok
        return ok

    def unauthorized_body(self) -> dict | None:
        """INVALID_TOKEN when the last refused call (this thread) carried a bearer token."""
        return INVALID_TOKEN if getattr(self._why, "invalid_token", False) else None

    def clear_why(self) -> None:
        self._why.invalid_token = False

    def revoke_all(self) -> int:
        live = [t for t in self.tokens.values() if not t["revoked"]]
        for record in live:
            record["revoked"] = True
        return len(live)

    def describe(self, token: str) -> dict:
        """What `GET /api/v2/oauth/tokens/current` answers (the token itself only shortened)."""
        record = self.tokens[token]
        return {"id": record["id"], "user_id": self.user_id, "client_id": 1, "token": token[:10],
                "scopes": record["scopes"], "created_at": iso_time(record["created"]),
                "expires_at": iso_time(record["expires"]), "used_at": iso_time(), "refresh_token": None}
