"""Marshmallow schemas of what the senders post to us."""
from __future__ import annotations

from marshmallow import INCLUDE, Schema, ValidationError, fields


class Identifier(fields.Field):
    """An id that arrives as a string or a number; kept as a non-empty string."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            raise ValidationError("must be a string or an integer id")
        value = str(value).strip()
        if not value or len(value) > 64 or "/" in value:
            raise ValidationError("must be a non-empty id of at most 64 characters")
        return value


class OmneoProfileEvent(Schema):
    """`profile.*` bodies: the profile itself, fields at the root; only `id` is relied on."""

    class Meta:
        unknown = INCLUDE

    id = Identifier(required=True)
    updated_at = fields.String(allow_none=True)


def first_error(messages) -> str:
    """`field: problem` of the first validation error, for a 400 body."""
    if isinstance(messages, dict):
        name = next(iter(messages))
        inner = messages[name]
        if isinstance(inner, dict):
            return f"{name}.{first_error(inner)}"
        return f"{name}: {inner[0] if isinstance(inner, list) else inner}"
    return str(messages[0] if isinstance(messages, list) else messages)
