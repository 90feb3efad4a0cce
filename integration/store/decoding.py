"""Values read back from Redis: bytes from a client without decode_responses, str with it."""
from __future__ import annotations


def text(value) -> str | None:
    """The value as str; None (a missing key) stays None."""
    if value is None:
        return None
    return value.decode() if isinstance(value, bytes) else str(value)
