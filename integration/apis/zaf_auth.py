"""Who is acting in the sidebar, as Zendesk proves it, and the short session we hand the page.

A server-side app's location is this service: when Zendesk loads the app it POSTs to it, with the
form field `token` holding a ZAF JWT that Zendesk signs with the app's private key (RS256). We
verify it with the app's public key (ZENDESK_APP_PUBLIC_KEY), its issuer (the account's host), its
audience (this installation, ZENDESK_APP_INSTALLATION_ID, on this account) and its expiry, and
take the agent's Zendesk user id from its subject. Nothing the page says is believed.

The page then holds a session of our own: an HS256 JWT under a key derived from
ZENDESK_APP_SECRET (so no token the Zendesk proxy signs with that secret can pass for one), bound
to the agent, the installation and, once the page names its ticket, that ticket and the requester
Zendesk says it has. It lives SIDEBAR_SESSION_SECONDS.
"""
from __future__ import annotations

import hashlib
import hmac
import re
import time
import uuid
from dataclasses import dataclass
from urllib.parse import urlsplit

import jwt

LEEWAY_SECONDS = 5
SESSION_AUDIENCE = "omneo-zendesk:sidebar-session"
_USER_URL = re.compile(r"/api/v2/users/(\d{1,20})(?:\.json)?$")


class Refused(Exception):
    """Why a token is refused; safe to answer with (no claim values in it)."""


@dataclass(frozen=True)
class Agent:
    """The agent Zendesk vouched for, and (once looked up) what Zendesk says of their role."""
    user_id: str
    installation_id: str
    role: str | None = None
    custom_role_id: str | None = None


def issuer(base_url: str) -> str:
    """The ZAF JWT's `iss`: the account's host, e.g. `acme.zendesk.com`."""
    return urlsplit(base_url).netloc


def audience(base_url: str, installation_id: str) -> str:
    """The ZAF JWT's `aud`: the installation's API URL on this account."""
    return f"{base_url.rstrip('/')}/api/v2/apps/installations/{installation_id}.json"


def verify_zaf_jwt(token: str | None, settings) -> Agent:
    """The agent a ZAF JWT names, if Zendesk signed it for this account and installation."""
    key, installation = settings.zendesk_app_public_key, settings.zendesk_app_installation_id
    if not key or not installation:
        raise Refused("agent actions are not set up (ZENDESK_APP_PUBLIC_KEY, ZENDESK_APP_INSTALLATION_ID)")
    if not token or not token.strip():
        raise Refused("missing ZAF token")
    base = settings.zendesk_base_url
    try:
        claims = jwt.decode(token.strip(), key, algorithms=["RS256"], audience=audience(base, installation),
                            issuer=issuer(base), leeway=LEEWAY_SECONDS,
                            options={"require": ["exp", "iss", "aud", "sub"]})
    except jwt.ExpiredSignatureError:
        raise Refused("ZAF token expired") from None
    except jwt.InvalidAudienceError:
        raise Refused("ZAF token is for another installation") from None
    except jwt.InvalidIssuerError:
        raise Refused("ZAF token is for another account") from None
    except jwt.InvalidTokenError:
        raise Refused("invalid ZAF token") from None
    return Agent(_user_id(claims["sub"], base), installation)


def _user_id(sub, base_url: str) -> str:
    """`sub` names the user by their API URL on this account (a bare id is taken too)."""
    text = str(sub).strip()
    if re.fullmatch(r"\d{1,20}", text):
        return text
    parts = urlsplit(text)
    match = _USER_URL.search(parts.path)
    if not match or parts.netloc != issuer(base_url):
        raise Refused("ZAF token names no user of this account")
    return match.group(1)


def _session_key(secret: str) -> bytes:
    return hmac.new(secret.encode(), b"omneo-zendesk sidebar session", hashlib.sha256).digest()


def issue_session(settings, agent: Agent, ticket_id: str | None = None, requester_id: str | None = None,
                  now: float | None = None) -> tuple[str, int]:
    """A session token for the page and when it expires."""
    now = time.time() if now is None else now
    exp = int(now) + settings.sidebar_session_seconds
    claims = {"aud": SESSION_AUDIENCE, "sub": agent.user_id, "ins": agent.installation_id,
              "role": agent.role, "crid": agent.custom_role_id, "iat": int(now), "exp": exp,
              "jti": uuid.uuid4().hex}
    if ticket_id is not None:
        claims.update(tkt=str(ticket_id), req=str(requester_id))
    return jwt.encode(claims, _session_key(settings.zendesk_app_secret), algorithm="HS256"), exp


@dataclass(frozen=True)
class Session:
    agent: Agent
    ticket_id: str | None
    requester_id: str | None


def verify_session(header: str | None, settings, now: float | None = None) -> Session:
    """The session an `Authorization: Bearer` header carries; Refused when forged, expired or
    issued to another installation."""
    scheme, _, token = (header or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Refused("missing session token")
    options = {"require": ["exp", "sub", "aud"]}
    try:
        claims = jwt.decode(token.strip(), _session_key(settings.zendesk_app_secret), algorithms=["HS256"],
                            audience=SESSION_AUDIENCE, options=options, leeway=0)
    except jwt.ExpiredSignatureError:
        raise Refused("session expired; reopen the app") from None
    except jwt.InvalidTokenError:
        raise Refused("invalid session token") from None
    if now is not None and claims["exp"] <= now:
        raise Refused("session expired; reopen the app")
    if claims.get("ins") != settings.zendesk_app_installation_id:
        raise Refused("session is for another installation")
    agent = Agent(str(claims["sub"]), str(claims["ins"]), claims.get("role"), claims.get("crid"))
    return Session(agent, claims.get("tkt"), claims.get("req"))
