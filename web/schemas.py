"""Marshmallow schemas of what the senders post to us."""
from __future__ import annotations

from marshmallow import (INCLUDE, Schema, ValidationError, fields, post_load, validate,
                         validates_schema)

from integration.apis import paths
from integration.profiles.profile_rules import GONE_PROFILE_TYPES


class Identifier(fields.Field):
    """An id that arrives as a string or a number; kept as a string of the shape its API gives
    ids (`paths`), so nothing that could leave a path segment or a Redis key gets in."""

    shape, error = paths.TOKEN_ID, ("must be an id: up to 64 ASCII letters, digits and _ . : -, "
                                    "starting with a letter or digit")

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            raise ValidationError("must be a string or an integer id")
        value = str(value).strip()
        if not paths.is_id(value, self.shape):
            raise ValidationError(self.error)
        return value


class ZendeskId(Identifier):
    """A Zendesk user or ticket id: ASCII digits, at most 20."""

    shape, error = paths.ZENDESK_ID, "must be a Zendesk id (at most 20 ASCII digits)"


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

    id = ZendeskId(required=True)
    requester_id = ZendeskId(allow_none=True, load_default=None)
    subject = fields.String(allow_none=True, load_default=None)
    status = fields.String(allow_none=True)


class ZendeskEvent(Schema):
    """An event-subscribed webhook's body: {type, id, time, subject, detail, event, ...}."""

    class Meta:
        unknown = INCLUDE

    type = fields.String(required=True, validate=validate.Length(min=1, max=200))
    id = Identifier(required=True)
    time = IsoTime(required=True)
    account_id = fields.Integer(allow_none=True)
    subject = fields.String(allow_none=True)
    event = fields.Dict(load_default=dict)


class ZendeskTicketEvent(ZendeskEvent):
    detail = fields.Nested(ZendeskTicketDetail, required=True)


class ZendeskUserDetail(Schema):
    """The user as a user event describes it; ids arrive as strings."""

    class Meta:
        unknown = INCLUDE

    id = ZendeskId(required=True)
    external_id = fields.String(allow_none=True, load_default=None, validate=validate.Length(max=255))


class ZendeskUserEvent(ZendeskEvent):
    detail = fields.Nested(ZendeskUserDetail, required=True)


class Identifiers(fields.Field):
    """One id or a list of ids; kept as a list of strings."""

    def _deserialize(self, value, attr, data, **kwargs):
        values = value if isinstance(value, list) else [value]
        return [Identifier().deserialize(v) for v in values if v is not None]


class IdentityRef(Schema):
    """An Omneo identity as it appears in a webhook body; only these fields are relied on."""

    class Meta:
        unknown = INCLUDE

    handle = fields.String(load_default=None, allow_none=True)
    identifier = fields.Raw(load_default=None, allow_none=True)
    merged_from = Identifier(load_default=None, allow_none=True)
    is_active = fields.Boolean(load_default=True, allow_none=True)


class _ProfileRef(Schema):
    class Meta:
        unknown = INCLUDE

    id = Identifier(load_default=None)
    identities = fields.List(fields.Nested(IdentityRef), load_default=list, allow_none=True)


class OmneoMergeEvent(Schema):
    """`profile.merged`. Omneo does not document its body, so every plausible form is taken:
    `{id, merged_profile_id, profile}`, `{winner_id, loser_id}`, `{profile_id, merged_from}`,
    or the winning profile whose identities carry `merged_from`. Loads to `{id, merged_ids}`."""

    class Meta:
        unknown = INCLUDE

    id = Identifier(load_default=None)
    winner_id = Identifier(load_default=None)
    profile_id = Identifier(load_default=None)
    loser_id = Identifiers(load_default=list)
    merged_profile_id = Identifiers(load_default=list)
    merged_profile_ids = Identifiers(load_default=list)
    merged_from = Identifiers(load_default=list)
    identities = fields.List(fields.Nested(IdentityRef), load_default=list, allow_none=True)
    profile = fields.Nested(_ProfileRef, load_default=dict, allow_none=True)

    @post_load
    def resolve(self, data, **kwargs):
        profile = data["profile"] or {}
        data["identities"] = data["identities"] or []
        winner = data["winner_id"] or data["profile_id"] or data["id"] or profile.get("id")
        if not winner:
            raise ValidationError("the winning profile's id is required (id, winner_id or profile_id)", "id")
        losers = (data["loser_id"] + data["merged_profile_id"] + data["merged_profile_ids"]
                  + data["merged_from"])
        losers += [i["merged_from"] for i in data["identities"] + (profile.get("identities") or [])
                   if i.get("merged_from")]
        losers = sorted(set(losers) - {winner})
        if not losers:
            raise ValidationError("the merged profile's id is required (merged_profile_id, loser_id, "
                                  "merged_from, or identities[].merged_from)", "merged_profile_id")
        return {"id": winner, "merged_ids": losers}


class OmneoIdentityEvent(Schema):
    """`identity.created|updated`: the identity (`{id, profile_id, handle, identifier}`) or the
    profile carrying it (`{id, identities: [...]}`). Loads to `{profile_id, zendesk_user_id}`
    (the user id only when the body is the identity itself), or to `{ignore: reason}` when it
    carries no identity with our handle. Our identity's identifier must be a Zendesk user id."""

    class Meta:
        unknown = INCLUDE

    id = Identifier(load_default=None)
    profile_id = Identifier(load_default=None)
    handle = fields.String(load_default=None, allow_none=True)
    identifier = fields.Raw(load_default=None, allow_none=True)
    identities = fields.List(fields.Nested(IdentityRef), load_default=None, allow_none=True)

    def __init__(self, *, handle: str = "zendesk", **kwargs):
        super().__init__(**kwargs)
        self.handle = handle

    @post_load
    def resolve(self, data, **kwargs):
        if data["handle"] is not None or data["profile_id"] is not None:
            if not data["profile_id"]:
                raise ValidationError("the identity's profile_id is required", "profile_id")
            if not data["handle"]:
                raise ValidationError("the identity's handle is required", "handle")
            if data["handle"] != self.handle:
                return {"ignore": f"not a {self.handle} identity"}
            return {"profile_id": data["profile_id"],
                    "zendesk_user_id": self._user_id(data["identifier"], "identifier")}
        if data["identities"] is not None:
            if not data["id"]:
                raise ValidationError("the profile's id is required", "id")
            mine = [i for i in data["identities"] if i.get("handle") == self.handle]
            if not mine:
                return {"ignore": f"the profile carries no {self.handle} identity"}
            for i in mine:
                self._user_id(i.get("identifier"), "identities.identifier")
            return {"profile_id": data["id"], "zendesk_user_id": None}
        raise ValidationError("an identity (profile_id, handle, identifier) or a profile with "
                              "identities is required", "profile_id")

    @staticmethod
    def _user_id(value, name: str) -> str:
        text = str(value).strip() if isinstance(value, (str, int)) and not isinstance(value, bool) else ""
        if not paths.is_id(text, paths.ZENDESK_ID):
            raise ValidationError("must be a Zendesk user id (digits)", name)
        return text


# `X-Omneo-Event` is not covered by the signature, so a signed body of one event could be replayed
# under another's name. Bodies of other events that must never read as a deletion:
OTHER_EVENTS_FIELDS = ("profile_id", "handle", "identifier", "winner_id", "loser_id",
                       "merged_profile_id", "merged_profile_ids")


class OmneoProfileDeleted(OmneoProfileEvent):
    """`profile.deleted`: expect nothing but `id`; `identities` (the `zendesk` one) when sent.

    Refused when the body contradicts the event: it says the profile is live (a `profile_type`
    other than deleted or merged: a `profile.created|updated` body), or it carries the fields of
    an identity or merge event."""

    identities = fields.List(fields.Nested(IdentityRef), load_default=list, allow_none=True)

    @validates_schema(pass_original=True)
    def _is_a_deletion(self, data, original, **kwargs):
        kind = original.get("profile_type")
        if kind is not None and kind not in GONE_PROFILE_TYPES:
            raise ValidationError("a profile.deleted body cannot describe a live profile "
                                  "(profile_type is not deleted); refused", "profile_type")
        other = [name for name in OTHER_EVENTS_FIELDS if name in original]
        if other:
            raise ValidationError("a profile.deleted body carries only the profile's id (and "
                                  "identities), not another event's fields; refused", other[0])


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
