"""One Zendesk OAuth access token for the whole deployment, from the client credentials grant.

Every process (receiver, workers, beat, the CLI) reads the current token from Redis. Near its
expiry one process at a time (a Redis lock) asks Zendesk for a new one; the others keep using the
old token while it lasts, or poll, bounded, for the new one: no stampede of grants. The cached
token is encrypted with a key derived from the client secret, so Redis's contents alone do not
give it away, and a process started with other credentials cannot read (or trust) it.

A refused grant is a fault of the deployment, not of a job: it raises `AuthFailure`, logs one
error, and is remembered for `refusal_seconds` so that a queue of waiting jobs costs one grant
attempt per interval, not one each. A new secret (a restart) is not held to the old refusal.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import os
import time
from dataclasses import dataclass, field

import requests
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from integration.store import keys
from integration.errors import AuthFailure, TransientError
from integration.apis.http import USER_AGENT

log = logging.getLogger("omneo_zendesk.zendesk_auth")

DEFAULT_EXPIRES_IN = 1800  # what Zendesk grants when its answer does not say
REFUSAL_SECONDS = 30.0
API_TOKEN_END = "30 Apr 2027"  # every Zendesk API token stops working
STATIC_OAUTH_END = "1 Apr 2027"  # local OAuth clients must issue expiring tokens
POLL_SECONDS = 0.05

# What to fix when the grant answers this OAuth error (RFC 6749 section 5.2, as Zendesk answers).
_SETTING_FOR = {
    "invalid_client": "ZENDESK_CLIENT_SECRET",
    "invalid_scope": "ZENDESK_OAUTH_SCOPES",
    "unauthorized_client": "ZENDESK_CLIENT_ID",
}
_ADVICE = {
    "invalid_client": "Zendesk refused the client credentials (invalid_client): check "
                      "ZENDESK_CLIENT_SECRET and ZENDESK_CLIENT_ID, the client's Identifier",
    "invalid_scope": "Zendesk refused the scopes (invalid_scope): ZENDESK_OAUTH_SCOPES must be "
                     "among the OAuth client's allowed scopes",
    "unauthorized_client": "the OAuth client may not use the client credentials grant "
                           "(unauthorized_client): make it a confidential client",
}

# Delete KEYS[1] only while it still holds what the caller read (ARGV[1] prefix): a token renewed
# by another process meanwhile, or a lock since taken by another, is left alone.
_DELETE_IF_PREFIX = """
local v = redis.call('GET', KEYS[1])
if v and string.sub(v, 1, string.len(ARGV[1])) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


@dataclass(frozen=True)
class ClientCredentials:
    token_url: str  # https://{subdomain}.zendesk.com/oauth/tokens
    client_id: str
    client_secret: str = field(repr=False)
    scopes: str
    lifetime_seconds: int
    timeout: float = 10.0


def _derive(creds: ClientCredentials) -> tuple[Fernet, str]:
    """The cache's encryption key and a fingerprint of the credentials (neither reveals them)."""
    raw = HKDF(algorithm=hashes.SHA256(), length=64, salt=b"omneo-zendesk oauth token cache v1",
               info=creds.client_id.encode()).derive(creds.client_secret.encode())
    return Fernet(base64.urlsafe_b64encode(raw[:32])), hmac.new(raw[32:], b"fp", "sha256").hexdigest()[:16]


def token_id(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()[:16]


class TokenProvider:
    """The current bearer token, shared through Redis; `discard` one Zendesk called invalid."""

    def __init__(self, redis, creds: ClientCredentials, *, session: requests.Session | None = None,
                 clock=time.time, sleep=time.sleep, refusal_seconds: float = REFUSAL_SECONDS):
        self.r, self.creds = redis, creds
        self._fernet, self.fingerprint = _derive(creds)
        self.session = session or requests.Session()
        self.session.headers.update({"User-Agent": USER_AGENT, "Accept": "application/json"})
        self.clock, self.sleep = clock, sleep
        self.refusal_seconds = refusal_seconds
        self.wait_seconds = creds.timeout + 5  # longest a renewal can take, and so a wait
        self._delete_if = redis.register_script(_DELETE_IF_PREFIX)

    def __repr__(self) -> str:
        return f"TokenProvider(client_id={self.creds.client_id!r})"

    # the cache
    def _read(self) -> dict | None:
        value = self.r.get(keys.ZENDESK_TOKEN)
        if not value:
            return None
        fp, _, rest = value.decode().partition(".")
        if fp != self.fingerprint:  # written with other credentials: not ours to use
            return None
        _, _, blob = rest.partition(".")
        try:
            return json.loads(self._fernet.decrypt(blob.encode()))
        except (InvalidToken, ValueError):
            return None

    def _write(self, token: str, lifetime: float, scope: str) -> None:
        expires_at = self.clock() + lifetime
        blob = self._fernet.encrypt(json.dumps({"token": token, "expires_at": expires_at,
                                                "lifetime": lifetime, "scope": scope}).encode()).decode()
        ttl_ms = max(1, int((expires_at - self.clock()) * 1000))
        self.r.set(keys.ZENDESK_TOKEN, f"{self.fingerprint}.{token_id(token)}.{blob}", px=ttl_ms)

    def _margin(self, cached: dict) -> float:
        """Renew this long before expiry: a tenth of the lifetime, at most a minute (past what
        a call in flight can take), so a grant lasts about one lifetime."""
        return min(60.0, 0.1 * cached["lifetime"])

    def current(self) -> dict | None:
        """The cached token's record (token, expires_at, scope) while it is valid."""
        cached = self._read()
        return cached if cached and cached["expires_at"] > self.clock() else None

    def token(self) -> str:
        deadline = self.clock() + self.wait_seconds
        while True:
            cached = self.current()
            if cached and cached["expires_at"] - self._margin(cached) > self.clock():
                return cached["token"]
            refusal = self._refusal()
            if refusal and cached:  # due for renewal but refused: use this one while it lasts
                return cached["token"]
            if refusal:
                raise AuthFailure("zendesk", f"setting {refusal['setting']}: {refusal['advice']}",
                                  refusal["setting"], None, {"error": refusal["error"]})
            lock = f"{self.fingerprint}.{os.getpid()}.{time.monotonic_ns()}"
            if self.r.set(keys.ZENDESK_TOKEN_RENEWAL, lock, nx=True, px=int(self.wait_seconds * 1000)):
                try:
                    return self._renew()
                except AuthFailure:
                    if cached:  # refused, logged and remembered; this one still works meanwhile
                        return cached["token"]
                    raise
                finally:
                    self._delete_if(keys=[keys.ZENDESK_TOKEN_RENEWAL], args=[lock])
            if cached:  # another process is renewing; this token still works meanwhile
                return cached["token"]
            if self.clock() >= deadline:
                raise TransientError("zendesk", "timed out waiting for another process to renew "
                                     "the OAuth token")
            self.sleep(POLL_SECONDS)

    def discard(self, token: str) -> None:
        """Zendesk called `token` invalid (expired or revoked early): forget exactly that one."""
        self._delete_if(keys=[keys.ZENDESK_TOKEN], args=[f"{self.fingerprint}.{token_id(token)}."])

    # the grant
    def _renew(self) -> str:
        cached = self.current()  # renewed by another process while we took the lock?
        if cached and cached["expires_at"] - self._margin(cached) > self.clock():
            return cached["token"]
        c = self.creds
        body = {"grant_type": "client_credentials", "client_id": c.client_id,
                "client_secret": c.client_secret, "scope": c.scopes, "expires_in": c.lifetime_seconds}
        try:
            resp = self.session.post(c.token_url, json=body, timeout=c.timeout)
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise TransientError("zendesk", f"POST /oauth/tokens: {type(exc).__name__}") from None
        answer = _json(resp)
        if resp.status_code >= 500 or resp.status_code in (408, 429):
            raise TransientError("zendesk", f"POST /oauth/tokens -> {resp.status_code}", resp.status_code)
        if resp.status_code >= 300 or not answer.get("access_token"):
            code = str(answer.get("error") or f"status {resp.status_code}")[:60]
            raise self.refused(code, _SETTING_FOR.get(code, "ZENDESK_CLIENT_ID"),
                               _ADVICE.get(code, f"Zendesk refused the grant ({code})"), resp.status_code)
        lifetime = _seconds(answer.get("expires_in"))
        self._write(answer["access_token"], lifetime, str(answer.get("scope") or c.scopes))
        self.r.delete(keys.ZENDESK_GRANT_REFUSED, keys.ZENDESK_AUTH_PROBLEM)
        log.info("zendesk oauth token renewed", extra={"expires_in": lifetime,
                                                        "scope": answer.get("scope") or c.scopes})
        return answer["access_token"]

    def refused(self, code: str, setting: str, advice: str, status: int | None = None) -> AuthFailure:
        """Record a refusal (one error line, a brief shared memory of it, the standing problem
        `/readyz` and the metrics report) and return the error to raise."""
        problem = {"fp": self.fingerprint, "error": code, "setting": setting, "advice": advice,
                   "at": round(self.clock())}
        pipe = self.r.pipeline()
        pipe.set(keys.ZENDESK_GRANT_REFUSED, json.dumps(problem), px=int(self.refusal_seconds * 1000))
        pipe.set(keys.ZENDESK_AUTH_PROBLEM, json.dumps(problem))
        pipe.execute()
        log.error("zendesk auth refused", extra={"error": code, "setting": setting, "advice": advice})
        return AuthFailure("zendesk", f"setting {setting}: {advice}", setting, status, {"error": code})

    def _refusal(self) -> dict | None:
        """The refusal of a recent grant with these same credentials, if any."""
        value = self.r.get(keys.ZENDESK_GRANT_REFUSED)
        problem = json.loads(value) if value else None
        return problem if problem and problem.get("fp") == self.fingerprint else None



def auth_problem(redis) -> dict | None:
    """The standing Zendesk auth problem (error, setting, advice, at), or None; what `/readyz`
    and the `oz_zendesk_auth_ok` gauge report. Cleared by the next granted token."""
    value = redis.get(keys.ZENDESK_AUTH_PROBLEM)
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


def _json(resp: requests.Response) -> dict:
    try:
        body = resp.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _seconds(value) -> float:
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return float(DEFAULT_EXPIRES_IN)
    return seconds if seconds > 0 else float(DEFAULT_EXPIRES_IN)
