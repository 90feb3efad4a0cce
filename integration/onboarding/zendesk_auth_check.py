"""What is said about the Zendesk credentials: by `omneo-zendesk check` (the way in and, for OAuth,
the grant and the token's user, scopes and expiry), by the start-up log (a retiring way in), and
by `/readyz` and `oz_zendesk_auth_ok` (the standing refusal of this deployment's credentials).
It never tells the secret or a token."""
from __future__ import annotations

from integration.apis import zendesk_auth
import json
import logging

from integration.apis import zendesk_auth
from integration.store import keys
from integration.errors import ApiError, AuthFailure, TransientError
from integration.onboarding.rows import Row
from integration.apis.zendesk import ZendeskClient

log = logging.getLogger("omneo_zendesk.zendesk_auth")

API_TOKEN_END = "30 Apr 2027"  # every Zendesk API token stops working
STATIC_OAUTH_END = "1 Apr 2027"  # local OAuth clients must issue expiring tokens

MODES = {"client_credentials": "OAuth client credentials (a shared, renewed token)",
         "oauth_token": "a fixed OAuth token (deprecated)",
         "api_token": "an API token (deprecated)"}


def auth_rows(settings, zendesk: ZendeskClient) -> list[Row]:
    """Rows for the way in; the last one failed when Zendesk cannot be called at all."""
    note = deprecation(settings)
    rows = [Row("zendesk: credentials", "warn" if note else "ok", MODES[settings.zendesk_auth_mode],
                note or "")]
    if zendesk.token_provider is None:
        return rows
    try:
        zendesk.token_provider.token()
        token = zendesk.current_token()
    except AuthFailure as exc:
        return rows + [Row("zendesk: oauth grant", "FAIL", f"refused ({(exc.body or {}).get('error')})",
                           str(exc).split(": ", 1)[1])]
    except TransientError as exc:
        return rows + [Row("zendesk: oauth grant", "FAIL", f"no answer ({exc.status or 'unreachable'})",
                           "check ZENDESK_SUBDOMAIN (or ZENDESK_BASE_URL) and the network")]
    except ApiError as exc:
        return rows + [Row("zendesk: oauth token", "FAIL", f"GET /oauth/tokens/current answered "
                           f"{exc.status}", "see Zendesk's status page; try again")]
    scopes = " ".join(token.get("scopes") or []) or "?"
    wanted = set(settings.zendesk_oauth_scopes.split())
    granted = set(token.get("scopes") or [])
    missing = sorted(wanted - granted) if granted else []
    return rows + [Row("zendesk: oauth token", "warn" if missing else "ok",
                       f"user {token.get('user_id')}, scopes {scopes}, expires {token.get('expires_at')}",
                       f"scopes not granted: {' '.join(missing)}" if missing else "")]


def auth_problem(redis, settings) -> dict | None:
    """The standing Zendesk auth problem of these settings' credentials (error, setting, advice,
    at), or None; what `/readyz` and the `oz_zendesk_auth_ok` gauge report. Cleared by the next
    granted token, and gone after AUTH_PROBLEM_SECONDS unless a refusal renews it."""
    fp = zendesk_auth.fingerprint(settings)
    value = redis.get(keys.zendesk_auth_problem(fp)) if fp else None
    if not value:
        return None
    problem = json.loads(value)
    problem.pop("fp", None)
    return problem


def deprecation(settings) -> str | None:
    """One line for `check` and the start-up log when the settings use a retiring way in."""
    mode = settings.zendesk_auth_mode
    if mode == "api_token":
        return (f"ZENDESK_API_TOKEN is deprecated: Zendesk API tokens stop working on {API_TOKEN_END}; "
                "set ZENDESK_CLIENT_ID and ZENDESK_CLIENT_SECRET (a confidential OAuth client)")
    if mode == "oauth_token":
        return ("ZENDESK_OAUTH_TOKEN is deprecated: a fixed OAuth token cannot be renewed when it "
                f"expires (local OAuth clients issue expiring tokens by {STATIC_OAUTH_END}); set "
                "ZENDESK_CLIENT_ID and ZENDESK_CLIENT_SECRET instead")
    return None


def warn_if_deprecated(settings, component: str) -> None:
    message = deprecation(settings)
    if message:
        log.warning(message, extra={"component": component, "auth_mode": settings.zendesk_auth_mode})
