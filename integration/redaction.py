"""Personal data masked wherever it could leave the process: logs, Sentry, dead letters."""
from __future__ import annotations

import re

# fields of a profile or user that are personal data, wherever they turn up as a key, and a
# ticket's subject (the customer's own words)
PERSONAL_KEYS = frozenset({
    "email", "first_name", "last_name", "name", "mobile", "mobile_phone", "mobile_phone_e164",
    "phone", "phone_number", "address", "birth_date", "dob", "full_name", "subject",
})
FILTERED = "[Filtered]"

_EMAIL = re.compile(r"[\w.+%-]+(?:@|%40)[\w-]+(?:\.[\w-]+)*\.[A-Za-z]{2,}")
# international numbers (+61 400 000 001) and national ones with a leading 0 or (0
_PHONE = re.compile(r"(?<![\w+])(?:\+\d[\d ().-]{6,}\d|\(?0\d[\d ().-]{6,}\d)(?!\w)")
# a payment card's 13 to 19 digits, maybe grouped by spaces or dashes; masked when Luhn says so
_CARD = re.compile(r"(?<![\w-])\d(?:[ -]?\d){12,18}(?![\w-])")
_BARE_NUMBER = re.compile(r"\d{1,19}")


def _luhn(digits: str) -> bool:
    total = 0
    for i, d in enumerate(reversed(digits)):
        n = int(d) * (2 if i % 2 else 1)
        total += n - 9 if n > 9 else n
    return total % 10 == 0


def _card(match: re.Match) -> str:
    digits = re.sub(r"\D", "", match.group())
    return "[card]" if _luhn(digits) else match.group()


def scrub_text(text: str) -> str:
    """Mask email addresses, phone numbers and card-like numbers in free text. A string that is
    only a number is an id (Zendesk's run to 19 digits), never masked as a card."""
    text = _PHONE.sub("[phone]", _EMAIL.sub("[email]", text))
    return text if _BARE_NUMBER.fullmatch(text) else _CARD.sub(_card, text)


def scrub(value, depth: int = 0):
    """A copy of `value` (dicts, lists, strings) with personal fields and patterns masked."""
    if depth > 20:
        return value
    if isinstance(value, str):
        return scrub_text(value)
    if isinstance(value, dict):
        return {k: (FILTERED if isinstance(k, str) and k.lower() in PERSONAL_KEYS and v not in (None, "")
                    else scrub(v, depth + 1)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(scrub(v, depth + 1) for v in value)
    return value
