"""What `omneo-zendesk check` says about the Zendesk credentials: the way in and, for OAuth, the
grant and the token's user, scopes and expiry. It never prints the secret or a token."""
from __future__ import annotations

from integration.apis import zendesk_auth
from integration.errors import ApiError, AuthFailure, TransientError
from integration.onboarding.rows import Row
from integration.apis.zendesk import ZendeskClient

MODES = {"client_credentials": "OAuth client credentials (a shared, renewed token)",
         "oauth_token": "a fixed OAuth token (deprecated)",
         "api_token": "an API token (deprecated)"}


def auth_rows(settings, zendesk: ZendeskClient) -> list[Row]:
    """Rows for the way in; the last one failed when Zendesk cannot be called at all."""
    note = zendesk_auth.deprecation(settings)
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
