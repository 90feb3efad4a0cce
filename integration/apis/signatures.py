"""Webhook signatures of both senders, compared in constant time."""
from __future__ import annotations

import base64
import hashlib
import hmac
import re
import time
from datetime import datetime

ZENDESK_MAX_SKEW_SECONDS = 300


def omneo_signature(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _ascii(value: str | None) -> bytes | None:
    """A header value as bytes, or None when it is missing or not ASCII (no signature is)."""
    if not value:
        return None
    try:
        return value.strip().encode("ascii")
    except UnicodeEncodeError:
        return None


def verify_omneo(secret: str, body: bytes, header: str | None) -> bool:
    given = _ascii(header)
    if given is None:
        return False
    return hmac.compare_digest(omneo_signature(secret, body).encode(), given.lower())


def zendesk_signature(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


# Zendesk stamps deliveries with an ISO 8601 UTC time (`2021-01-01T00:00:00Z`); a bare number,
# `nan` or `inf` is no time at all and is refused rather than compared.
_ZENDESK_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})")


def _zendesk_time(timestamp: str) -> float | None:
    if not _ZENDESK_TIME.fullmatch(timestamp):
        return None
    try:
        return datetime.fromisoformat(timestamp.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def verify_zendesk(secret: str, body: bytes, signature: str | None, timestamp: str | None,
                   now: float | None = None) -> bool:
    """True when the signature matches and the timestamp is within five minutes of now."""
    given, stamp = _ascii(signature), _ascii(timestamp)
    if given is None or stamp is None:
        return False
    when = _zendesk_time(stamp.decode())
    if when is None or abs((now or time.time()) - when) > ZENDESK_MAX_SKEW_SECONDS:
        return False
    return hmac.compare_digest(zendesk_signature(secret, stamp.decode(), body).encode(), given)
