"""Every setting of the product, read from the environment in one place and validated once.

`load_settings(os.environ)` returns a frozen `Settings` or raises `SettingsError` whose message is
one line naming the variable and what it wants. Secret values never appear in that line.
"""
from __future__ import annotations

import dataclasses
import re
import string
from dataclasses import dataclass, field
from typing import Mapping
from urllib.parse import quote

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate, validates_schema

from integration.redis_conn import RedisUrlError, parse

ALL_SYNC_ATTRIBUTES = ("name", "email", "mobile", "tier")
# Zendesk's own event type names, as an event-subscribed webhook sends them (and as the webhook's
# `subscriptions` list them). "Solved" is not an event of its own: it is a status change whose
# current status is SOLVED. A satisfaction rating arrives as `ticket.csat_received`.
ZENDESK_EVENT_PREFIX = "zen:event-type:"
TICKET_CREATED = ZENDESK_EVENT_PREFIX + "ticket.created"
TICKET_STATUS_CHANGED = ZENDESK_EVENT_PREFIX + "ticket.status_changed"
TICKET_CSAT_RECEIVED = ZENDESK_EVENT_PREFIX + "ticket.csat_received"
TICKET_COMMENT_ADDED = ZENDESK_EVENT_PREFIX + "ticket.comment_added"
DEFAULT_TICKET_EVENTS = (TICKET_CREATED, TICKET_STATUS_CHANGED, TICKET_CSAT_RECEIVED)
KNOWN_TICKET_EVENTS = DEFAULT_TICKET_EVENTS + (TICKET_COMMENT_ADDED,)
# What every Zendesk call of ours needs (README lists which call needs which). User fields, job
# statuses and the incremental user export come under `users`.
DEFAULT_ZENDESK_SCOPES = "users:read users:write tickets:read webhooks:read webhooks:write"
_SCOPE = r"(read|write|[a-z_]+:(read|write))"
ZENDESK_SCOPE_RE = rf"^\s*{_SCOPE}(\s+{_SCOPE})*\s*$"
# The user events our second webhook subscribes to (integration/zendesk_user_events.py acts on them).
USER_EVENT_PREFIX = ZENDESK_EVENT_PREFIX + "user."
USER_EVENTS = tuple(USER_EVENT_PREFIX + name for name in (
    "merged", "deleted", "active_changed", "external_id_changed",
    "identity_created", "identity_changed", "identity_deleted"))


# A job's hard time limit. Shortened only when BROKER_VISIBILITY_TIMEOUT_SECONDS is set so short
# (tests) that a job must end sooner to be acknowledged before Redis hands its message out again.
# Retries wait in Redis (workers.due), not in a worker, so the timeout need only outlast one run.
JOB_TIME_LIMIT_SECONDS = 300
MIN_JOB_TIME_LIMIT_SECONDS = 5


class SettingsError(Exception):
    """A setting is missing or malformed; str() is one line naming the variable."""


@dataclass(frozen=True)
class Settings:
    redis_url: str = field(repr=False)  # may carry the Redis password
    omneo_base_url: str
    omneo_tenant: str
    omneo_api_token: str = field(repr=False)
    omneo_webhook_secret: str = field(repr=False)
    zendesk_base_url: str
    zendesk_email: str | None
    zendesk_api_token: str | None = field(repr=False)
    zendesk_oauth_token: str | None = field(repr=False)
    zendesk_webhook_secret: str = field(repr=False)
    zendesk_app_secret: str = field(repr=False)
    zendesk_client_id: str | None = None
    zendesk_client_secret: str | None = field(default=None, repr=False)
    zendesk_oauth_scopes: str = DEFAULT_ZENDESK_SCOPES
    zendesk_token_lifetime_seconds: int = 1800
    zendesk_marketplace_name: str | None = None
    zendesk_marketplace_organization_id: str | None = None
    zendesk_marketplace_app_id: str | None = None
    omneo_namespace: str = "zendesk"
    omneo_identity_handle: str = "zendesk"
    cx_manager_profile_url: str = "https://{tenant}.manager.getomneo.com/profiles/{profile_id}"
    sync_attributes: tuple[str, ...] = ALL_SYNC_ATTRIBUTES
    ticket_events: tuple[str, ...] = DEFAULT_TICKET_EVENTS
    zendesk_requests_per_minute: int = 400
    omneo_requests_per_minute: int = 600
    zendesk_budget_reserve_percent: int = 20
    bulk_sync_threshold: int = 20
    http_timeout_seconds: float = 10.0
    task_max_attempts: int = 8
    retry_base_seconds: float = 60.0
    retry_max_seconds: float = 1800.0
    broker_visibility_timeout_seconds: int = 360
    sidebar_cache_seconds: int = 60
    sidebar_last_known_seconds: int = 86400
    sidebar_omneo_deadline_seconds: float = 1.5
    cx_manager_search_url: str = "https://{tenant}.manager.getomneo.com/profiles?search={email}"
    zendesk_recreate_deleted_users: bool = False
    reconcile_interval_seconds: int = 3600
    sentry_dsn: str | None = field(default=None, repr=False)
    log_format: str = "json"
    environment: str = "production"
    public_url: str | None = None
    flower_basic_auth: str | None = field(default=None, repr=False)
    prometheus_multiproc_dir: str | None = None
    redis_sentinels: str | None = None
    redis_sentinel_master: str | None = None
    redis_min_replicas_acked: int = 0
    redis_wait_timeout_ms: int = 500
    metrics_token: str | None = field(default=None, repr=False)

    def cx_manager_url(self, profile_id: str) -> str:
        return self.cx_manager_profile_url.format(tenant=self.omneo_tenant, profile_id=profile_id)

    def cx_manager_search(self, email: str) -> str:
        return self.cx_manager_search_url.format(tenant=self.omneo_tenant, email=quote(email, safe=""))

    @property
    def task_time_limit_seconds(self) -> float:
        """The hard limit of one run of a job (see JOB_TIME_LIMIT_SECONDS)."""
        timeout = self.broker_visibility_timeout_seconds
        margin = max(2 * MIN_JOB_TIME_LIMIT_SECONDS, timeout / 6)  # a profile lock's 5 s more, and skew
        return float(max(MIN_JOB_TIME_LIMIT_SECONDS, min(JOB_TIME_LIMIT_SECONDS, timeout - margin)))

    @property
    def profile_lock_ttl_seconds(self) -> float:
        """A profile lock outlives the run that holds it: a run past its time limit is killed, so a
        lock can only expire under a job that is no longer running."""
        return self.task_time_limit_seconds + 5

    @property
    def zendesk_auth_mode(self) -> str:
        """"client_credentials" (the lasting way), else the deprecated "oauth_token" or "api_token"."""
        if self.zendesk_client_id:
            return "client_credentials"
        return "oauth_token" if self.zendesk_oauth_token else "api_token"

    def replace(self, **changes) -> "Settings":
        return dataclasses.replace(self, **changes)


_URL = validate.URL(require_tld=False, schemes={"http", "https"}, error="an http(s) URL")
_NAME = validate.Regexp(r"^[a-z0-9][a-z0-9-]*$", flags=re.I, error="letters, digits and dashes")


PROFILE_URL_PLACEHOLDERS = ("tenant", "profile_id")


def _profile_url(value: str) -> None:
    """An http(s) URL whose only placeholders are {tenant} and {profile_id}."""
    try:
        fields_ = [(name, spec, conv) for _, name, spec, conv in string.Formatter().parse(value)
                   if name is not None]
    except ValueError:  # an unbalanced brace
        fields_ = [("", None, None)]
    if any(name not in PROFILE_URL_PLACEHOLDERS or spec or conv for name, spec, conv in fields_):
        raise ValidationError("an http(s) URL whose only placeholders are {tenant} and {profile_id}")
    _URL(value.format(tenant="tenant", profile_id="profile"))


def _csv(allowed: tuple[str, ...]):
    def check(value: str) -> None:
        items = [v.strip() for v in value.split(",") if v.strip()]
        unknown = [v for v in items if v not in allowed]
        if not items or unknown:
            raise ValidationError(f"a comma-separated list drawn from {', '.join(allowed)}")

    return check


def ticket_event_names(value: str) -> tuple[str, ...]:
    """`TICKET_EVENTS` items as Zendesk's full type names; the `zen:event-type:` prefix is optional."""
    items = [v.strip() for v in value.split(",") if v.strip()]
    return tuple(v if v.startswith(ZENDESK_EVENT_PREFIX) else ZENDESK_EVENT_PREFIX + v for v in items)


def _ticket_events(value: str) -> None:
    names = ticket_event_names(value)
    if not names or any(n not in KNOWN_TICKET_EVENTS for n in names):
        short = ", ".join(n[len(ZENDESK_EVENT_PREFIX):] for n in KNOWN_TICKET_EVENTS)
        raise ValidationError(f"a comma-separated list drawn from {short} "
                              f"(with or without the {ZENDESK_EVENT_PREFIX} prefix)")


class SettingsSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    REDIS_URL = fields.String(
        required=True,
        validate=validate.Regexp(r"^rediss?://", error="a redis:// or rediss:// URL"),
        error_messages={"required": "a redis:// URL of the shared Redis"},
    )
    OMNEO_TENANT = fields.String(validate=_NAME, load_default=None)
    OMNEO_BASE_URL = fields.String(validate=_URL, load_default=None)
    OMNEO_API_TOKEN = fields.String(
        required=True,
        validate=validate.Length(min=1, error="a non-empty bearer token"),
        error_messages={"required": "the bearer token of an Omneo machine user"},
    )
    OMNEO_WEBHOOK_SECRET = fields.String(
        required=True,
        validate=validate.Length(min=8, error="a secret of at least 8 characters"),
        error_messages={"required": "the secret Omneo signs webhooks with"},
    )
    OMNEO_NAMESPACE = fields.String(validate=_NAME, load_default="zendesk")
    OMNEO_IDENTITY_HANDLE = fields.String(validate=_NAME, load_default="zendesk")
    CX_MANAGER_PROFILE_URL = fields.String(validate=_profile_url, load_default=Settings.cx_manager_profile_url)
    ZENDESK_SUBDOMAIN = fields.String(validate=_NAME, load_default=None)
    ZENDESK_BASE_URL = fields.String(validate=_URL, load_default=None)
    ZENDESK_EMAIL = fields.String(
        validate=validate.Email(error="an email address"), load_default=None
    )
    ZENDESK_API_TOKEN = fields.String(load_default=None)
    ZENDESK_OAUTH_TOKEN = fields.String(load_default=None)
    ZENDESK_CLIENT_ID = fields.String(
        validate=validate.Regexp(r"^\S+$", error="the OAuth client's Identifier, no spaces"),
        load_default=None)
    ZENDESK_CLIENT_SECRET = fields.String(
        validate=validate.Length(min=8, error="the OAuth client's secret (Admin Center shows it once)"),
        load_default=None)
    ZENDESK_OAUTH_SCOPES = fields.String(
        validate=validate.Regexp(ZENDESK_SCOPE_RE, error="space-separated scopes such as "
                                 "'users:read users:write' (read, write, or resource:read|write)"),
        load_default=DEFAULT_ZENDESK_SCOPES)
    ZENDESK_TOKEN_LIFETIME_SECONDS = fields.Integer(
        validate=validate.Range(min=300, max=172_800, error="seconds, from 300 to 172800"),
        load_default=1800,
        error_messages={"invalid": "seconds, from 300 to 172800"})
    ZENDESK_MARKETPLACE_NAME = fields.String(load_default=None)
    ZENDESK_MARKETPLACE_ORGANIZATION_ID = fields.String(
        validate=validate.Regexp(r"^\d+$", error="a number"), load_default=None)
    ZENDESK_MARKETPLACE_APP_ID = fields.String(
        validate=validate.Regexp(r"^\d+$", error="a number"), load_default=None)
    ZENDESK_WEBHOOK_SECRET = fields.String(
        required=True,
        validate=validate.Length(min=8, error="a secret of at least 8 characters"),
        error_messages={"required": "the signing secret of our Zendesk webhook"},
    )
    ZENDESK_APP_SECRET = fields.String(
        required=True,
        validate=validate.Length(min=32, error="a secret of at least 32 characters (HS256 wants a 256-bit key)"),
        error_messages={"required": "the shared secret of the Zendesk sidebar app"},
    )
    SYNC_ATTRIBUTES = fields.String(
        validate=_csv(ALL_SYNC_ATTRIBUTES), load_default=",".join(ALL_SYNC_ATTRIBUTES)
    )
    TICKET_EVENTS = fields.String(
        validate=_ticket_events, load_default=",".join(DEFAULT_TICKET_EVENTS)
    )
    ZENDESK_REQUESTS_PER_MINUTE = fields.Integer(
        validate=validate.Range(min=1, max=100_000, error="a whole number from 1 to 100000"),
        load_default=400,
        error_messages={"invalid": "a whole number from 1 to 100000"},
    )
    ZENDESK_BUDGET_RESERVE_PERCENT = fields.Integer(
        validate=validate.Range(min=0, max=90, error="a whole number from 0 to 90"),
        load_default=20,
        error_messages={"invalid": "a whole number from 0 to 90"},
    )
    BULK_SYNC_THRESHOLD = fields.Integer(
        validate=validate.Range(min=0, max=100_000, error="a whole number from 0 (off) to 100000"),
        load_default=20,
        error_messages={"invalid": "a whole number from 0 (off) to 100000"},
    )
    OMNEO_REQUESTS_PER_MINUTE = fields.Integer(
        validate=validate.Range(min=1, max=100_000, error="a whole number from 1 to 100000"),
        load_default=600,
        error_messages={"invalid": "a whole number from 1 to 100000"},
    )
    HTTP_TIMEOUT_SECONDS = fields.Float(
        validate=validate.Range(min=0.1, max=120, error="seconds, from 0.1 to 120"),
        load_default=10.0,
        error_messages={"invalid": "seconds, from 0.1 to 120"},
    )
    TASK_MAX_ATTEMPTS = fields.Integer(
        validate=validate.Range(min=1, max=50, error="a whole number from 1 to 50"),
        load_default=8,
        error_messages={"invalid": "a whole number from 1 to 50"},
    )
    RETRY_BASE_SECONDS = fields.Float(
        validate=validate.Range(min=0, max=3600, error="seconds, from 0 to 3600"),
        load_default=Settings.retry_base_seconds,
        error_messages={"invalid": "seconds, from 0 to 3600"},
    )
    RETRY_MAX_SECONDS = fields.Float(
        validate=validate.Range(min=0, max=3600, error="seconds, from 0 to 3600"),
        load_default=Settings.retry_max_seconds,
        error_messages={"invalid": "seconds, from 0 to 3600"},
    )
    BROKER_VISIBILITY_TIMEOUT_SECONDS = fields.Integer(
        validate=validate.Range(min=1, max=7 * 86400, error="seconds, from 1 to 604800"),
        load_default=Settings.broker_visibility_timeout_seconds,
        error_messages={"invalid": "seconds, from 1 to 604800"},
    )
    SIDEBAR_CACHE_SECONDS = fields.Integer(
        validate=validate.Range(min=0, max=3600, error="seconds, from 0 to 3600"),
        load_default=60,
        error_messages={"invalid": "seconds, from 0 to 3600"},
    )
    SIDEBAR_LAST_KNOWN_SECONDS = fields.Integer(
        validate=validate.Range(min=0, max=7 * 86400, error="seconds, from 0 to 604800"),
        load_default=Settings.sidebar_last_known_seconds,
        error_messages={"invalid": "seconds, from 0 to 604800"},
    )
    SIDEBAR_OMNEO_DEADLINE_SECONDS = fields.Float(
        validate=validate.Range(min=0.1, max=10, error="seconds, from 0.1 to 10"),
        load_default=Settings.sidebar_omneo_deadline_seconds,
        error_messages={"invalid": "seconds, from 0.1 to 10"},
    )
    CX_MANAGER_SEARCH_URL = fields.String(load_default=Settings.cx_manager_search_url)
    ZENDESK_RECREATE_DELETED_USERS = fields.Boolean(
        load_default=False, error_messages={"invalid": "true or false"})
    RECONCILE_INTERVAL_SECONDS = fields.Integer(
        validate=validate.Range(min=10, max=7 * 86400, error="seconds, from 10 to 604800"),
        load_default=3600,
        error_messages={"invalid": "seconds, from 10 to 604800"},
    )
    SENTRY_DSN = fields.String(validate=_URL, load_default=None)
    LOG_FORMAT = fields.String(validate=validate.OneOf(["json", "text"]), load_default="json")
    ENVIRONMENT = fields.String(load_default="production")
    PUBLIC_URL = fields.String(validate=_URL, load_default=None)
    FLOWER_BASIC_AUTH = fields.String(
        validate=validate.Regexp(r"^[^:,\s]+:\S{8,}$", error="user:password, the password at least 8 characters"),
        load_default=None,
    )
    PROMETHEUS_MULTIPROC_DIR = fields.String(load_default=None)
    REDIS_SENTINELS = fields.String(load_default=None)
    REDIS_SENTINEL_MASTER = fields.String(validate=validate.Regexp(r"^[\w.-]+$", error="a master set's name"),
                                          load_default=None)
    REDIS_MIN_REPLICAS_ACKED = fields.Integer(
        validate=validate.Range(min=0, max=10, error="a whole number from 0 to 10"),
        load_default=0, error_messages={"invalid": "a whole number from 0 to 10"})
    REDIS_WAIT_TIMEOUT_MS = fields.Integer(
        validate=validate.Range(min=1, max=60_000, error="milliseconds, from 1 to 60000"),
        load_default=500, error_messages={"invalid": "milliseconds, from 1 to 60000"})
    METRICS_TOKEN = fields.String(
        validate=validate.Regexp(r"^[\x21-\x7e]{16,}$", error="at least 16 printable ASCII characters"),
        load_default=None,
    )

    @validates_schema
    def _check_alternatives(self, data, **kwargs):
        if not data.get("OMNEO_BASE_URL") and not data.get("OMNEO_TENANT"):
            raise ValidationError("OMNEO_TENANT (or OMNEO_BASE_URL) is required", "OMNEO_TENANT")
        if not data.get("ZENDESK_BASE_URL") and not data.get("ZENDESK_SUBDOMAIN"):
            raise ValidationError(
                "ZENDESK_SUBDOMAIN (or ZENDESK_BASE_URL) is required", "ZENDESK_SUBDOMAIN"
            )
        if data.get("ZENDESK_CLIENT_ID") or data.get("ZENDESK_CLIENT_SECRET"):
            for name in ("ZENDESK_CLIENT_ID", "ZENDESK_CLIENT_SECRET"):
                if not data.get(name):
                    raise ValidationError("required with the other of ZENDESK_CLIENT_ID and "
                                          "ZENDESK_CLIENT_SECRET (a confidential OAuth client)", name)
            return
        if data.get("ZENDESK_OAUTH_TOKEN"):
            return
        if data.get("ZENDESK_EMAIL") or data.get("ZENDESK_API_TOKEN"):  # the deprecated way
            if not data.get("ZENDESK_EMAIL"):
                raise ValidationError("required with ZENDESK_API_TOKEN", "ZENDESK_EMAIL")
            if not data.get("ZENDESK_API_TOKEN"):
                raise ValidationError("an API token is required with ZENDESK_EMAIL (or, better, "
                                      "set ZENDESK_CLIENT_ID and ZENDESK_CLIENT_SECRET)", "ZENDESK_API_TOKEN")
            return
        raise ValidationError("required: the Identifier of a confidential Zendesk OAuth client, "
                              "with ZENDESK_CLIENT_SECRET (see `omneo-zendesk setup --help`)",
                              "ZENDESK_CLIENT_ID")


def _first_error(messages: dict) -> str:
    name = sorted(messages)[0]
    problem = messages[name]
    while isinstance(problem, (list, dict)):
        problem = problem[0] if isinstance(problem, list) else next(iter(problem.values()))
    text = str(problem)
    if text.startswith(name):
        return f"setting {text}"
    return f"setting {name}: {text}"


def load_settings(environ: Mapping[str, str]) -> Settings:
    """Validate the environment; raise SettingsError naming the first bad variable."""
    raw = {k: v for k, v in environ.items() if k in SettingsSchema._declared_fields and v != ""}
    try:
        data = SettingsSchema().load(raw)
    except ValidationError as exc:
        raise SettingsError(_first_error(exc.messages)) from None
    if data["RETRY_MAX_SECONDS"] < data["RETRY_BASE_SECONDS"]:
        raise SettingsError("setting RETRY_MAX_SECONDS: at least RETRY_BASE_SECONDS")
    least = 3 * MIN_JOB_TIME_LIMIT_SECONDS
    if data["BROKER_VISIBILITY_TIMEOUT_SECONDS"] < least:
        raise SettingsError("setting BROKER_VISIBILITY_TIMEOUT_SECONDS: at least "
                            f"{least} seconds (a job's time limit is shorter)")
    if bool(data["REDIS_SENTINELS"]) != bool(data["REDIS_SENTINEL_MASTER"]):
        raise SettingsError("setting REDIS_SENTINEL_MASTER: REDIS_SENTINELS and REDIS_SENTINEL_MASTER "
                            "go together")
    try:
        parse(data["REDIS_URL"], data["REDIS_SENTINELS"], data["REDIS_SENTINEL_MASTER"])
    except RedisUrlError as exc:
        raise SettingsError(f"setting {exc}") from None
    tenant = data["OMNEO_TENANT"] or ""
    omneo_base = data["OMNEO_BASE_URL"] or f"https://api.{tenant}.getomneo.com/api/v3"
    zendesk_base = data["ZENDESK_BASE_URL"] or f"https://{data['ZENDESK_SUBDOMAIN']}.zendesk.com"
    return Settings(
        redis_url=data["REDIS_URL"],
        omneo_base_url=omneo_base.rstrip("/"),
        omneo_tenant=tenant,
        omneo_api_token=data["OMNEO_API_TOKEN"],
        omneo_webhook_secret=data["OMNEO_WEBHOOK_SECRET"],
        omneo_namespace=data["OMNEO_NAMESPACE"],
        omneo_identity_handle=data["OMNEO_IDENTITY_HANDLE"],
        cx_manager_profile_url=data["CX_MANAGER_PROFILE_URL"],
        zendesk_base_url=zendesk_base.rstrip("/"),
        zendesk_email=data["ZENDESK_EMAIL"],
        zendesk_api_token=data["ZENDESK_API_TOKEN"],
        zendesk_oauth_token=data["ZENDESK_OAUTH_TOKEN"],
        zendesk_webhook_secret=data["ZENDESK_WEBHOOK_SECRET"],
        zendesk_app_secret=data["ZENDESK_APP_SECRET"],
        zendesk_client_id=data["ZENDESK_CLIENT_ID"],
        zendesk_client_secret=data["ZENDESK_CLIENT_SECRET"],
        zendesk_oauth_scopes=" ".join(data["ZENDESK_OAUTH_SCOPES"].split()),
        zendesk_token_lifetime_seconds=data["ZENDESK_TOKEN_LIFETIME_SECONDS"],
        zendesk_marketplace_name=data["ZENDESK_MARKETPLACE_NAME"],
        zendesk_marketplace_organization_id=data["ZENDESK_MARKETPLACE_ORGANIZATION_ID"],
        zendesk_marketplace_app_id=data["ZENDESK_MARKETPLACE_APP_ID"],
        sync_attributes=tuple(v.strip() for v in data["SYNC_ATTRIBUTES"].split(",") if v.strip()),
        ticket_events=ticket_event_names(data["TICKET_EVENTS"]),
        zendesk_requests_per_minute=data["ZENDESK_REQUESTS_PER_MINUTE"],
        omneo_requests_per_minute=data["OMNEO_REQUESTS_PER_MINUTE"],
        zendesk_budget_reserve_percent=data["ZENDESK_BUDGET_RESERVE_PERCENT"],
        bulk_sync_threshold=data["BULK_SYNC_THRESHOLD"],
        http_timeout_seconds=data["HTTP_TIMEOUT_SECONDS"],
        task_max_attempts=data["TASK_MAX_ATTEMPTS"],
        retry_base_seconds=data["RETRY_BASE_SECONDS"],
        retry_max_seconds=data["RETRY_MAX_SECONDS"],
        broker_visibility_timeout_seconds=data["BROKER_VISIBILITY_TIMEOUT_SECONDS"],
        sidebar_cache_seconds=data["SIDEBAR_CACHE_SECONDS"],
        sidebar_last_known_seconds=data["SIDEBAR_LAST_KNOWN_SECONDS"],
        sidebar_omneo_deadline_seconds=data["SIDEBAR_OMNEO_DEADLINE_SECONDS"],
        cx_manager_search_url=data["CX_MANAGER_SEARCH_URL"],
        zendesk_recreate_deleted_users=data["ZENDESK_RECREATE_DELETED_USERS"],
        reconcile_interval_seconds=data["RECONCILE_INTERVAL_SECONDS"],
        sentry_dsn=data["SENTRY_DSN"],
        log_format=data["LOG_FORMAT"],
        environment=data["ENVIRONMENT"],
        public_url=(data["PUBLIC_URL"] or "").rstrip("/") or None,
        flower_basic_auth=data["FLOWER_BASIC_AUTH"],
        prometheus_multiproc_dir=data["PROMETHEUS_MULTIPROC_DIR"],
        redis_sentinels=data["REDIS_SENTINELS"],
        redis_sentinel_master=data["REDIS_SENTINEL_MASTER"],
        redis_min_replicas_acked=data["REDIS_MIN_REPLICAS_ACKED"],
        redis_wait_timeout_ms=data["REDIS_WAIT_TIMEOUT_MS"],
        metrics_token=data["METRICS_TOKEN"],
    )
