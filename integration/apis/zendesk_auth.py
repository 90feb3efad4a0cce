"""One Zendesk OAuth access token for the whole deployment, from the client credentials grant.

Every process (receiver, workers, beat, the CLI) reads the current token from Redis. Near its
expiry one process at a time (a Redis lock) asks Zendesk for a new one; the others keep using the
old token while it lasts, or poll, bounded, for the new one: no stampede of grants. The cached
token is encrypted with a key derived from the client secret, so Redis's contents alone do not
give it away, and a process started with other credentials cannot read (or trust) it.

A refused grant is a fault of the deployment, not of a job: it raises `AuthFailure`, logs one
error, and is remembered for `refusal_seconds` so that a queue of waiting jobs costs one grant
attempt per interval, not one each. A grant Zendesk could not answer (429, 5xx, no connection) is
remembered for its Retry-After (else FAILED_GRANT_SECONDS): meanwhile callers use the token they
have, or get the same error without asking again. Everything kept (token, lock, refusal, failure,
the standing problem `/readyz` reports) is keyed by the credentials' fingerprint, so another set
of credentials on the same Redis (a second deployment, a `check` run with a wrong secret) neither
reads nor overwrites it; the standing problem also expires (AUTH_PROBLEM_SECONDS) unless a refusal
renews it.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import math
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
from integration.store import keys
from integration.errors import AuthFailure, RateLimited, TransientError
from integration.apis.http import USER_AGENT

log = logging.getLogger("omneo_zendesk.zendesk_auth")

DEFAULT_EXPIRES_IN = 1800  # what Zendesk grants when its answer does not say
# the range Zendesk allows for an access token's expires_in
MIN_EXPIRES_IN, MAX_EXPIRES_IN = 300, 172_800
REFUSAL_SECONDS = 30.0
FAILED_GRANT_SECONDS = 5.0
MAX_RETRY_AFTER = 300.0
# a refusal keeps the deployment `degraded` this long: past the longest retry delay (1800 s), so
# it stands while jobs wait on it (each grant they try renews it); a good grant clears it
AUTH_PROBLEM_SECONDS = 3600
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
    """The cache's encryption key and a fingerprint of the credentials, the account and the
    scopes they are granted for (neither reveals the secret)."""
    raw = HKDF(algorithm=hashes.SHA256(), length=64, salt=b"omneo-zendesk oauth token cache v1",
               info=creds.client_id.encode()).derive(creds.client_secret.encode())
    said = f"fp|{creds.token_url}|{' '.join(sorted(creds.scopes.split()))}".encode()
    return Fernet(base64.urlsafe_b64encode(raw[:32])), hmac.new(raw[32:], said, "sha256").hexdigest()[:16]


def fingerprint(settings) -> str | None:
    """The fingerprint of the settings' OAuth client credentials; None without them."""
    if settings.zendesk_auth_mode != "client_credentials":
        return None
    return _derive(credentials(settings))[1]


def credentials(settings) -> ClientCredentials:
    return ClientCredentials(settings.zendesk_base_url + "/oauth/tokens", settings.zendesk_client_id,
                             settings.zendesk_client_secret, settings.zendesk_oauth_scopes,
                             settings.zendesk_token_lifetime_seconds, settings.http_timeout_seconds)


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
        fp = self.fingerprint
        self.token_key, self.renewal_key = keys.zendesk_token(fp), keys.zendesk_token_renewal(fp)
        self.refused_key, self.failed_key = keys.zendesk_grant_refused(fp), keys.zendesk_grant_failed(fp)
        self.problem_key = keys.zendesk_auth_problem(fp)

    def __repr__(self) -> str:
        return f"TokenProvider(client_id={self.creds.client_id!r})"

    # the cache
    def _read(self) -> dict | None:
        value = self.r.get(self.token_key)
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
        self.r.set(self.token_key, f"{self.fingerprint}.{token_id(token)}.{blob}", px=ttl_ms)

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
            failure = self._failure()
            if failure and cached:  # Zendesk could not grant a moment ago: this one still works
                return cached["token"]
            if failure:
                raise failure
            lock = f"{self.fingerprint}.{os.getpid()}.{time.monotonic_ns()}"
            if self.r.set(self.renewal_key, lock, nx=True, px=int(self.wait_seconds * 1000)):
                try:
                    return self._renew()
                except (AuthFailure, TransientError):
                    if cached:  # refused or failed, and remembered; this one works meanwhile
                        return cached["token"]
                    raise
                finally:
                    self._delete_if(keys=[self.renewal_key], args=[lock])
            if cached:  # another process is renewing; this token still works meanwhile
                return cached["token"]
            if self.clock() >= deadline:
                raise TransientError("zendesk", "timed out waiting for another process to renew "
                                     "the OAuth token")
            self.sleep(POLL_SECONDS)

    def discard(self, token: str) -> None:
        """Zendesk called `token` invalid (expired or revoked early): forget exactly that one."""
        self._delete_if(keys=[self.token_key], args=[f"{self.fingerprint}.{token_id(token)}."])

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
            raise self._failed(None, None, type(exc).__name__) from None
        answer = _json(resp)
        if resp.status_code >= 500 or resp.status_code in (408, 429):
            raise self._failed(resp.status_code, resp.headers.get("Retry-After"))
        if resp.status_code >= 300 or not answer.get("access_token"):
            code = str(answer.get("error") or f"status {resp.status_code}")[:60]
            raise self.refused(code, _SETTING_FOR.get(code, "ZENDESK_CLIENT_ID"),
                               _ADVICE.get(code, f"Zendesk refused the grant ({code})"), resp.status_code)
        lifetime = _seconds(answer.get("expires_in"))
        self._write(answer["access_token"], lifetime, str(answer.get("scope") or c.scopes))
        self.r.delete(self.refused_key, self.failed_key, self.problem_key)
        log.info("zendesk oauth token renewed", extra={"expires_in": lifetime,
                                                        "scope": answer.get("scope") or c.scopes})
        return answer["access_token"]

    def refused(self, code: str, setting: str, advice: str, status: int | None = None) -> AuthFailure:
        """Record a refusal (one error line, a brief shared memory of it, the standing problem
        `/readyz` and the metrics report) and return the error to raise."""
        problem = {"fp": self.fingerprint, "error": code, "setting": setting, "advice": advice,
                   "at": round(self.clock())}
        pipe = self.r.pipeline()
        pipe.set(self.refused_key, json.dumps(problem), px=int(self.refusal_seconds * 1000))
        pipe.set(self.problem_key, json.dumps(problem), ex=AUTH_PROBLEM_SECONDS)
        pipe.execute()
        log.error("zendesk auth refused", extra={"error": code, "setting": setting, "advice": advice})
        return AuthFailure("zendesk", f"setting {setting}: {advice}", setting, status, {"error": code})

    def _refusal(self) -> dict | None:
        """The refusal of a recent grant with these same credentials, if any."""
        value = self.r.get(self.refused_key)
        problem = json.loads(value) if value else None
        return problem if problem and problem.get("fp") == self.fingerprint else None

    def _failed(self, status: int | None, retry_after, cause: str | None = None) -> TransientError:
        """Remember a grant Zendesk did not answer (for its Retry-After, else a few seconds) and
        return the error to raise."""
        wait = _retry_after(retry_after)
        self.r.set(self.failed_key, json.dumps({"status": status, "cause": cause,
                                                "until": self.clock() + wait}), px=int(wait * 1000))
        log.warning("zendesk oauth grant failed", extra={"status": status, "error_type": cause,
                                                        "retry_after": wait})
        return self._failure_error(status, wait, cause)

    def _failure(self) -> TransientError | None:
        """The error of a grant that failed within its Retry-After, if any."""
        value = self.r.get(self.failed_key)
        if not value:
            return None
        failed = json.loads(value)
        wait = max(0.5, float(failed.get("until", 0)) - self.clock())
        return self._failure_error(failed.get("status"), wait, failed.get("cause"))

    @staticmethod
    def _failure_error(status, wait: float, cause) -> TransientError:
        if status == 429:
            return RateLimited("zendesk", wait, body={"error": "oauth grant rate limited"})
        return TransientError("zendesk", f"POST /oauth/tokens -> {status or cause}; not asked again "
                              f"for {wait:g} s", status)



def _json(resp: requests.Response) -> dict:
    try:
        body = resp.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _seconds(value) -> float:
    """A token's `expires_in`, within the range Zendesk allows: a number out of it is clamped, a
    missing, non-numeric or non-finite one is the default."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return float(DEFAULT_EXPIRES_IN)
    try:
        seconds = float(value)
    except (TypeError, ValueError, OverflowError):
        return float(DEFAULT_EXPIRES_IN)
    if math.isnan(seconds):
        return float(DEFAULT_EXPIRES_IN)
    return float(min(MAX_EXPIRES_IN, max(MIN_EXPIRES_IN, seconds)))


def _retry_after(value) -> float:
    """A grant's Retry-After in seconds (between 1 and MAX_RETRY_AFTER), else FAILED_GRANT_SECONDS."""
    try:
        seconds = float(value)
    except (TypeError, ValueError, OverflowError):
        return FAILED_GRANT_SECONDS
    if math.isnan(seconds):
        return FAILED_GRANT_SECONDS
    return min(MAX_RETRY_AFTER, max(1.0, seconds))
