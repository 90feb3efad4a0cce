"""Webhook signatures of both senders, compared in constant time."""
from __future__ import annotations

import base64
import hashlib
import hmac
import time

ZENDESK_MAX_SKEW_SECONDS = 300


def omneo_signature(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify_omneo(secret: str, body: bytes, header: str | None) -> bool:
    if not header:
        return False
    return hmac.compare_digest(omneo_signature(secret, body), header.strip().lower())


def zendesk_signature(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def _zendesk_time(timestamp: str) -> float | None:
    from datetime import datetime

    try:
        return float(timestamp)
    except ValueError:
        pass
    try:
        return datetime.fromisoformat(timestamp.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def verify_zendesk(secret: str, body: bytes, signature: str | None, timestamp: str | None,
                   now: float | None = None) -> bool:
    """True when the signature matches and the timestamp is within five minutes of now."""
    if not signature or not timestamp:
        return False
    when = _zendesk_time(timestamp)
    if when is None or abs((now or time.time()) - when) > ZENDESK_MAX_SKEW_SECONDS:
        return False
    return hmac.compare_digest(zendesk_signature(secret, timestamp, body), signature.strip())
