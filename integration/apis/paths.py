"""Every API path the clients call is built here, from fixed words and checked, quoted ids.

An id goes into a path only once it has the shape the API gives its ids, and then percent-quoted
as one segment, so no id (`..`, `a/b`, `a?b=c`, `a#b`) can make a call leave its route. An id that
does not fit is a `BadId`: a permanent error, so a job that met one (from a webhook or an API's own
answer) ends in the dead-letter store with the reason instead of calling another endpoint.
"""
from __future__ import annotations

import re
from urllib.parse import quote

from integration.errors import PermanentError

# Zendesk's numeric ids (users, identities, tickets) are 64-bit integers: at most 20 digits.
ZENDESK_ID = re.compile(r"[0-9]{1,20}")
# Zendesk's other ids (webhooks are ULIDs, job statuses hex strings) and Omneo's ids (profiles and
# identities are UUIDs; the sandbox and tests use short words) share one shape: ASCII letters,
# digits and `_ . : -`, starting with a letter or digit (so never `.` or `..`), at most 64.
TOKEN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}")
# An Omneo identity handle, as OMNEO_IDENTITY_HANDLE allows.
HANDLE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
# An opaque paging cursor (Zendesk's are URL-safe base64).
CURSOR = re.compile(r"[A-Za-z0-9+/=_.-]{1,1024}")
# A value that goes into a query string or a JSON body, not a path: any printable text.
TEXT = re.compile(r"[^\x00-\x1f\x7f\ud800-\udfff]{1,255}")


class BadId(PermanentError):
    """An id that does not have the shape its API gives ids; never put into a path."""

    def __init__(self, api: str, kind: str, value):
        # the value itself is not repeated: it may be anything, personal data included
        super().__init__(api, f"refused a malformed {kind} ({type(value).__name__} of "
                              f"{len(str(value))} characters); no call made")
        self.kind = kind


def checked(api: str, kind: str, value, shape: re.Pattern = TOKEN_ID) -> str:
    """`value` as an id string when it has `shape`, else raise BadId."""
    text = str(value) if isinstance(value, (str, int)) and not isinstance(value, bool) else None
    if text is None or not shape.fullmatch(text):
        raise BadId(api, kind, value)
    return text


def is_id(value, shape: re.Pattern = TOKEN_ID) -> bool:
    try:
        checked("", "", value, shape)
    except BadId:
        return False
    return True


def build(*parts: str) -> str:
    """`/` + the parts, each quoted as one segment (already checked ids, or fixed words)."""
    for part in parts:
        if part in ("", ".", ".."):
            raise ValueError(f"not a path segment: {part!r}")
    return "".join("/" + quote(part, safe="") for part in parts)


class Paths:
    """Path building for one API: `p.path("users", p.zendesk(user_id), "identities")`."""

    def __init__(self, api: str):
        self.api = api

    def zendesk(self, value, kind: str = "Zendesk id") -> str:
        return checked(self.api, kind, value, ZENDESK_ID)

    def token(self, value, kind: str = "id") -> str:
        return checked(self.api, kind, value, TOKEN_ID)

    def handle(self, value) -> str:
        return checked(self.api, "identity handle", value, HANDLE)

    def cursor(self, value) -> str:
        return checked(self.api, "paging cursor", value, CURSOR)

    def text(self, value, kind: str) -> str:
        return checked(self.api, kind, value, TEXT)

    @staticmethod
    def path(*parts: str) -> str:
        return build(*parts)


# email addresses as search values
MAX_EMAIL_LENGTH = 254  # RFC 5321's limit on a forward path


def search_email(value) -> str | None:
    """`value` fit to search for as one address, else None (search for nothing): bounded, with
    an `@`, no whitespace, quotes, control characters or wildcards that would widen the search."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    if (not text or len(text) > MAX_EMAIL_LENGTH or "@" not in text
            or any(c.isspace() or c in '"*\\' or ord(c) < 32 for c in text)):
        return None
    return text


def same_email(found, wanted: str) -> bool:
    """The API's value is exactly the address we asked for, case-insensitively."""
    return isinstance(found, str) and found.strip().casefold() == wanted.strip().casefold()
