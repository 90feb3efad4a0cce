"""Marshmallow schemas of what the senders post to us."""
from __future__ import annotations

from marshmallow import INCLUDE, Schema, ValidationError, fields, validate


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


class IsoTime(fields.String):
    """An ISO 8601 date-time, kept as the string it arrived as."""

    def _deserialize(self, value, attr, data, **kwargs):
        from datetime import datetime

        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise ValidationError("must be an ISO 8601 date-time") from None
        return text


class ZendeskTicketDetail(Schema):
    """The ticket as the event describes it; ids arrive as strings."""

    class Meta:
        unknown = INCLUDE

    id = Identifier(required=True)
    requester_id = Identifier(allow_none=True, load_default=None)
    subject = fields.String(allow_none=True, load_default=None)
    status = fields.String(allow_none=True)


class ZendeskTicketEvent(Schema):
    """An event-subscribed webhook's body: {type, id, time, subject, detail, event, ...}."""

    class Meta:
        unknown = INCLUDE

    type = fields.String(required=True, validate=validate.Length(min=1, max=200))
    id = Identifier(required=True)
    time = IsoTime(required=True)
    account_id = fields.Integer(allow_none=True)
    subject = fields.String(allow_none=True)
    detail = fields.Nested(ZendeskTicketDetail, required=True)
    event = fields.Dict(load_default=dict)


def first_error(messages) -> str:
    """`field: problem` of the first validation error, for a 400 body."""
    if isinstance(messages, dict):
        name = next(iter(messages))
        inner = messages[name]
        if isinstance(inner, dict):
            rest = first_error(inner)
            if rest.startswith("_schema: "):  # the nested value itself is wrong, not a field in it
                return f"{name}: {rest[len('_schema: '):]}"
            return f"{name}.{rest}"
        return f"{name}: {inner[0] if isinstance(inner, list) else inner}"
    return str(messages[0] if isinstance(messages, list) else messages)
