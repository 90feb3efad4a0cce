"""What one setting's declaration holds, the kinds a setting can be, and the checks they apply.

integration/settings/declared.py declares every setting as one `Setting`; the marshmallow schema, the fields
of the frozen `Settings` and README's settings table are all built from those declarations.
"""
from __future__ import annotations

import dataclasses
import re
import string
from dataclasses import dataclass
from typing import Any, Callable

from marshmallow import ValidationError, fields, validate


class _Required:
    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED: Any = _Required()  # the default of a setting that has none: start-up stops without it

WHOLE = "a whole number from {lo} to {hi}"
SECONDS = "seconds, from {lo} to {hi}"
MILLISECONDS = "milliseconds, from {lo} to {hi}"


class Kind:
    """A string, checked by `check` and tidied by `tidy` once loaded; the other kinds refine this."""

    type: Any = str

    def __init__(self, check: Callable | None = None, tidy: Callable[[str], Any] | None = None):
        self.check, self.tidy = check, tidy

    def field(self, messages: dict, **options) -> fields.Field:
        return fields.String(validate=self.check, error_messages=messages, **options)

    def settle(self, value: Any) -> Any:
        return value if value is None or self.tidy is None else self.tidy(value)

    def show(self, value: Any) -> str:
        return str(value)


class Text(Kind):
    """A string (the kind most settings are)."""


class Whole(Kind):
    """A whole number from lo to hi; `wants` says so in the one-line error."""

    type = int
    marshmallow_field = fields.Integer

    def __init__(self, lo: float, hi: float, wants: str = WHOLE):
        self.wants = wants.format(lo=lo, hi=hi)
        super().__init__(validate.Range(min=lo, max=hi, error=self.wants))

    def field(self, messages: dict, **options) -> fields.Field:
        return self.marshmallow_field(validate=self.check, error_messages={"invalid": self.wants, **messages},
                                      **options)


class Number(Whole):
    """A number from lo to hi, fractions allowed."""

    type = float
    marshmallow_field = fields.Float

    def show(self, value: Any) -> str:
        return f"{value:g}"


class Flag(Kind):
    """true or false (marshmallow's spellings: 1/0, yes/no, on/off too)."""

    type = bool

    def field(self, messages: dict, **options) -> fields.Field:
        return fields.Boolean(error_messages={"invalid": "true or false", **messages}, **options)

    def show(self, value: Any) -> str:
        return "true" if value else "false"


class _NameList(fields.String):
    def __init__(self, allowed: tuple[str, ...], prefix: str, wants: str, **options):
        super().__init__(**options)
        self.allowed, self.prefix, self.wants = allowed, prefix, wants

    def _deserialize(self, value, attr, data, **kwargs):
        names = comma_names(super()._deserialize(value, attr, data, **kwargs), self.prefix)
        if not names or any(n not in self.allowed for n in names):
            raise ValidationError(self.wants)
        return names


def comma_names(value: str, prefix: str = "") -> tuple[str, ...]:
    """The items of a comma-separated list, each given `prefix` where it lacks it."""
    items = [v.strip() for v in value.split(",") if v.strip()]
    return tuple(v if v.startswith(prefix) else prefix + v for v in items)


class Names(Kind):
    """A comma-separated list drawn from `allowed`, loaded as a tuple; `prefix` may be left off."""

    type = tuple[str, ...]

    def __init__(self, allowed: tuple[str, ...], prefix: str = ""):
        super().__init__()
        self.allowed, self.prefix = allowed, prefix

    def field(self, messages: dict, **options) -> fields.Field:
        short = ", ".join(v.removeprefix(self.prefix) for v in self.allowed)
        wants = f"a comma-separated list drawn from {short}"
        if self.prefix:
            wants += f" (with or without the {self.prefix} prefix)"
        return _NameList(self.allowed, self.prefix, wants, error_messages=messages, **options)

    def show(self, value: Any) -> str:
        return ",".join(v.removeprefix(self.prefix) for v in value)


class _ItemList(fields.String):
    def __init__(self, item: str, wants: str, **options):
        super().__init__(**options)
        self.item, self.wants = re.compile(item), wants

    def _deserialize(self, value, attr, data, **kwargs):
        items = comma_names(super()._deserialize(value, attr, data, **kwargs))
        if any(not self.item.fullmatch(i) for i in items):
            raise ValidationError(self.wants)
        return items


class Items(Kind):
    """A comma-separated list, each item matching the regex `item`, loaded as a tuple (may be empty)."""

    type = tuple[str, ...]

    def __init__(self, item: str, wants: str):
        super().__init__()
        self.item, self.wants = item, wants

    def field(self, messages: dict, **options) -> fields.Field:
        return _ItemList(self.item, self.wants, error_messages=messages, **options)

    def show(self, value: Any) -> str:
        return ",".join(value)


@dataclass(frozen=True)
class Setting:
    """One environment variable: its kind, default (REQUIRED, None or the value `Settings` holds) and
    help (README's "meaning" cell). The `Settings` attribute is the variable's name in lower case."""

    env: str
    kind: Kind
    default: Any
    help: str
    secret: bool = False  # kept out of repr (the one-line error never shows any value)
    missing: str = ""  # what the error says a required variable wants when it is unset
    shown: str = ""  # README's default cell where "required" or "unset" would not say enough
    keep: bool = True  # False: only read to derive another attribute

    def __post_init__(self):
        if self.shown and self.default is not None and self.default is not REQUIRED:
            raise ValueError(f"{self.env}: a default value is shown as it is")

    @property
    def attr(self) -> str:
        return self.env.lower()

    def schema_field(self) -> fields.Field:
        if self.default is REQUIRED:
            return self.kind.field({"required": self.missing}, required=True)
        return self.kind.field({}, load_default=self.default)

    def dataclass_field(self) -> tuple[str, Any, dataclasses.Field]:
        if self.default is REQUIRED:
            return self.attr, self.kind.type, dataclasses.field(repr=not self.secret)
        kind = self.kind.type if self.default is not None else self.kind.type | None
        return self.attr, kind, dataclasses.field(default=self.default, repr=not self.secret)

    def readme_row(self) -> str:
        if self.shown:
            cell = self.shown
        elif self.default is REQUIRED:
            cell = "required"
        else:
            cell = "unset" if self.default is None else f"`{self.kind.show(self.default)}`"
        return f"| `{self.env}` | {self.help} | {cell} |"


def markdown_table(settings: tuple[Setting, ...]) -> str:
    head = "| variable | meaning | default |\n|---|---|---|\n"
    return head + "\n".join(s.readme_row() for s in settings) + "\n"


URL = validate.URL(require_tld=False, schemes={"http", "https"}, error="an http(s) URL")
EMAIL = validate.Email(error="an email address")
NAME = validate.Regexp(r"^[a-z0-9][a-z0-9-]*$", flags=re.I, error="letters, digits and dashes")
PROFILE_URL_PLACEHOLDERS = ("tenant", "profile_id")


def profile_url(value: str) -> None:
    """An http(s) URL whose only placeholders are {tenant} and {profile_id}."""
    try:
        fields_ = [(name, spec, conv) for _, name, spec, conv in string.Formatter().parse(value)
                   if name is not None]
    except ValueError:  # an unbalanced brace
        fields_ = [("", None, None)]
    if any(name not in PROFILE_URL_PLACEHOLDERS or spec or conv for name, spec, conv in fields_):
        raise ValidationError("an http(s) URL whose only placeholders are {tenant} and {profile_id}")
    URL(value.format(tenant="tenant", profile_id="profile"))


def pattern(regex: str, wants: str) -> validate.Regexp:
    return validate.Regexp(regex, error=wants)


def at_least(length: int, wants: str) -> validate.Length:
    return validate.Length(min=length, error=wants)
