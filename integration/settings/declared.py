"""Every setting of the product, declared once, read from the environment in one place and validated once.

`SETTINGS` holds one declaration a setting (integration/settings/kinds.py says what one holds); the
marshmallow schema, the frozen `Settings` and README's settings table (`python3 -m integration.settings`
prints it) follow from it. `load_settings(os.environ)` returns a frozen `Settings` or raises
`SettingsError` whose message is one line naming the variable and what it wants. Secret values never
appear in that line.
"""
from __future__ import annotations

import dataclasses
from typing import Mapping
from urllib.parse import quote

from marshmallow import EXCLUDE, Schema, ValidationError, validates_schema
from marshmallow.validate import OneOf

from integration.store.connection import RedisUrlError, parse
from integration.settings.kinds import (EMAIL, MILLISECONDS, NAME, REQUIRED, SECONDS, URL, Flag, Items, Names, Number,
                                       Setting, Text, Whole, at_least, markdown_table, pattern,
                                       profile_url)
from integration.apis.zendesk_events import DEFAULT_TICKET_EVENTS, KNOWN_TICKET_EVENTS, ZENDESK_EVENT_PREFIX

ALL_SYNC_ATTRIBUTES = ("name", "email", "mobile", "tier")
# What every Zendesk call of ours needs (README lists which call needs which). User fields, job
# statuses and the incremental user export come under `users`.
DEFAULT_ZENDESK_SCOPES = "users:read users:write tickets:read webhooks:read webhooks:write"
_SCOPE = r"(read|write|[a-z_]+:(read|write))"
ZENDESK_SCOPE_RE = rf"^\s*{_SCOPE}(\s+{_SCOPE})*\s*$"

# A job's hard time limit. Shortened only when BROKER_VISIBILITY_TIMEOUT_SECONDS is set so short
# (tests) that a job must end sooner to be acknowledged before Redis hands its message out again.
# Retries wait in Redis (workers.due), not in a worker, so the timeout need only outlast one run.
JOB_TIME_LIMIT_SECONDS = 300
MIN_JOB_TIME_LIMIT_SECONDS = 5

_SECRET_8 = at_least(8, "a secret of at least 8 characters")
_NUMBER = pattern(r"^\d+$", "a number")
_NOT_SENT = "unset (not sent)"

SETTINGS: tuple[Setting, ...] = (
    Setting("REDIS_URL", Text(pattern(r"^rediss?://", "a redis:// or rediss:// URL")), REQUIRED,
            "the shared Redis: broker, dedupe marks, locks, watermarks, dead letters; `rediss://` for TLS, "
            "whose query may name `ssl_cert_reqs`, `ssl_ca_certs`, `ssl_certfile`, `ssl_keyfile`",
            secret=True, missing="a redis:// URL of the shared Redis", shown="required (`dev`: embedded)"),
    Setting("OMNEO_TENANT", Text(NAME), None, "Omneo tenant name", shown="required unless `OMNEO_BASE_URL`"),
    Setting("OMNEO_BASE_URL", Text(URL), None, "Omneo API base, e.g. `https://api.acme.getomneo.com/api/v3`",
            shown="from `OMNEO_TENANT`"),
    Setting("OMNEO_API_TOKEN", Text(at_least(1, "a non-empty bearer token")), REQUIRED,
            "bearer token of an Omneo machine user", secret=True,
            missing="the bearer token of an Omneo machine user"),
    Setting("OMNEO_WEBHOOK_SECRET", Text(_SECRET_8), REQUIRED, "key of Omneo's `X-Omneo-Hmac-SHA256` signature",
            secret=True, missing="the secret Omneo signs webhooks with"),
    Setting("OMNEO_NAMESPACE", Text(NAME), "zendesk", "namespace of our webhooks and interactions (stops loops)"),
    Setting("OMNEO_IDENTITY_HANDLE", Text(NAME), "zendesk",
            "identity handle linking a profile to its Zendesk user"),
    Setting("CX_MANAGER_PROFILE_URL", Text(profile_url),
            "https://{tenant}.manager.getomneo.com/profiles/{profile_id}",
            "link to a profile, with `{tenant}` and `{profile_id}`"),
    Setting("CX_MANAGER_SEARCH_URL", Text(), "https://{tenant}.manager.getomneo.com/profiles?search={email}",
            "the sidebar's search for an unknown requester, with `{tenant}` and `{email}`"),
    Setting("ZENDESK_SUBDOMAIN", Text(NAME), None, "Zendesk subdomain",
            shown="required unless `ZENDESK_BASE_URL`", keep=False),
    Setting("ZENDESK_BASE_URL", Text(URL), None, "e.g. `https://acme.zendesk.com`",
            shown="from `ZENDESK_SUBDOMAIN`"),
    Setting("ZENDESK_CLIENT_ID", Text(pattern(r"^\S+$", "the OAuth client's Identifier, no spaces")), None,
            "the *Identifier* of a confidential OAuth client (see Connecting Zendesk)",
            shown="required (or a deprecated way below)"),
    Setting("ZENDESK_CLIENT_SECRET", Text(at_least(8, "the OAuth client's secret (Admin Center shows it once)")),
            None, "that client's secret (shown once when created)", secret=True,
            shown="required with `ZENDESK_CLIENT_ID`"),
    Setting("ZENDESK_OAUTH_SCOPES", Text(pattern(ZENDESK_SCOPE_RE, "space-separated scopes such as "
                                                 "'users:read users:write' (read, write, or resource:read|write)"),
                                         tidy=lambda v: " ".join(v.split())), DEFAULT_ZENDESK_SCOPES,
            "scopes asked for, space-separated; must be among the client's allowed scopes"),
    Setting("ZENDESK_TOKEN_LIFETIME_SECONDS", Whole(300, 172_800, SECONDS), 1800,
            "lifetime asked for each token, 300 to 172800 (Zendesk's answer wins)"),
    Setting("ZENDESK_MARKETPLACE_NAME", Text(), None, "sent as `X-Zendesk-Marketplace-Name`, for a partner "
            "distributing this through a global OAuth client", shown=_NOT_SENT),
    Setting("ZENDESK_MARKETPLACE_ORGANIZATION_ID", Text(_NUMBER), None,
            "sent as `X-Zendesk-Marketplace-Organization-Id` (a number)", shown=_NOT_SENT),
    Setting("ZENDESK_MARKETPLACE_APP_ID", Text(_NUMBER), None,
            "sent as `X-Zendesk-Marketplace-App-Id` (a number)", shown=_NOT_SENT),
    Setting("ZENDESK_EMAIL", Text(EMAIL), None, "deprecated: admin email for API-token auth"),
    Setting("ZENDESK_API_TOKEN", Text(), None,
            "deprecated (stops working 30 Apr 2027): API token, with `ZENDESK_EMAIL`", secret=True),
    Setting("ZENDESK_OAUTH_TOKEN", Text(), None, "deprecated: a fixed bearer token, used as is and never renewed",
            secret=True),
    Setting("ZENDESK_WEBHOOK_SECRET", Text(_SECRET_8), REQUIRED,
            "signing secret of our Zendesk webhook (`setup` says where it is)", secret=True,
            missing="the signing secret of our Zendesk webhook"),
    Setting("ZENDESK_APP_SECRET",
            Text(at_least(32, "a secret of at least 32 characters (HS256 wants a 256-bit key)")), REQUIRED,
            "shared secret the sidebar app signs its JWTs with (32+ characters)", secret=True,
            missing="the shared secret of the Zendesk sidebar app"),
    Setting("SYNC_ATTRIBUTES", Names(ALL_SYNC_ATTRIBUTES), ALL_SYNC_ATTRIBUTES,
            "profile attributes that sync: these four or a subset"),
    Setting("TICKET_EVENTS", Names(KNOWN_TICKET_EVENTS, ZENDESK_EVENT_PREFIX), DEFAULT_TICKET_EVENTS,
            "ticket event types that become interactions"),
    Setting("ZENDESK_REQUESTS_PER_MINUTE", Whole(1, 100_000), 400,
            "the Zendesk plan's API budget, shared by all workers"),
    Setting("OMNEO_REQUESTS_PER_MINUTE", Whole(1, 100_000), 600, "the same for Omneo"),
    Setting("ZENDESK_BUDGET_RESERVE_PERCENT", Whole(0, 90), 20,
            "share of the account's Zendesk budget left to others: we slow down as the remaining budget "
            "Zendesk reports nears it (0: off)"),
    Setting("BULK_SYNC_THRESHOLD", Whole(0, 100_000, "a whole number from {lo} (off) to {hi}"), 20,
            "syncs waiting (sync queue plus bulk backlog) from which new syncs go by 100-user bulk jobs "
            "instead of one by one (0: never)"),
    Setting("BULK_LONE_LANE_PERCENT", Whole(0, 50), 5,
            "share of ZENDESK_REQUESTS_PER_MINUTE for changes of contact details (name, email, phone) "
            "that go alone while a burst is parked for bulk jobs (0: none go alone)"),
    Setting("HTTP_TIMEOUT_SECONDS", Number(0.1, 120, SECONDS), 10.0, "timeout of every API call"),
    Setting("TASK_MAX_ATTEMPTS", Whole(1, 50), 8, "attempts before a failing job is dead-lettered"),
    Setting("DLQ_RETENTION_DAYS", Whole(1, 365, "days, from {lo} to {hi}"), 30,
            "how long a dead letter is kept after it last failed"),
    Setting("RETRY_BASE_SECONDS", Number(0, 3600, SECONDS), 60.0, "first retry delay (exponential, full jitter)"),
    Setting("RETRY_MAX_SECONDS", Number(0, 3600, SECONDS), 1800.0, "longest retry delay"),
    Setting("BROKER_VISIBILITY_TIMEOUT_SECONDS", Whole(1, 7 * 86400, SECONDS), 360,
            "when Redis redelivers a job whose worker died; a job's time limit is the lesser of 300 s and this "
            "less a sixth (at least 10 s less)"),
    Setting("REDIS_SENTINELS", Text(), None, "comma-separated `host:port` of the sentinels; `REDIS_URL` then "
            "gives only the database, user, password and TLS options", shown="unset (no Sentinel)"),
    Setting("REDIS_SENTINEL_MASTER", Text(pattern(r"^[\w.-]+$", "a master set's name")), None,
            "the master set's name the sentinels watch (with `REDIS_SENTINELS`)"),
    Setting("REDIS_MIN_REPLICAS_ACKED", Whole(0, 10), 0, "replicas that must acknowledge a job (Redis `WAIT`) "
            "before a receiver answers 202; else 503 (0: no wait)"),
    Setting("REDIS_WAIT_TIMEOUT_MS", Whole(1, 60_000, MILLISECONDS), 500,
            "how long a receiver waits for those replicas"),
    Setting("SIDEBAR_CACHE_SECONDS", Whole(0, 3600, SECONDS), 60, "how long the sidebar's Omneo view is cached"),
    Setting("SIDEBAR_LAST_KNOWN_SECONDS", Whole(0, 7 * 86400, SECONDS), 86400,
            "how long the last good view of a customer is kept, to show while Omneo fails (`0`: off)"),
    Setting("SIDEBAR_OMNEO_DEADLINE_SECONDS", Number(0.1, 10, SECONDS), 1.5,
            "how long the sidebar waits for Omneo before serving the last-known view (or a 504)"),
    Setting("ZENDESK_APP_PUBLIC_KEY", Text(pattern(r"-----BEGIN PUBLIC KEY-----", "the app's PEM public key "
                                                   "(`\\n` for line breaks)"), tidy=lambda v: v.replace("\\n", "\n")),
            None, "the sidebar app's public key, to verify the ZAF JWT Zendesk posts (agent actions)",
            shown="unset (no agent actions)"),
    Setting("ZENDESK_APP_INSTALLATION_ID", Text(_NUMBER), None,
            "the app's installation id: the ZAF JWT's audience must name it", shown="unset (no agent actions)"),
    Setting("SIDEBAR_ACTION_ROLES", Items(r"admin|agent|\d+", "comma-separated roles: admin, agent or custom "
                                                               "role ids"), ("admin",),
            "Zendesk roles (`admin`, `agent`) or custom role ids whose agents may act from the sidebar"),
    Setting("SIDEBAR_REWARD_DEFINITIONS", Items(r"\d+", "comma-separated Omneo reward definition ids"), None,
            "Omneo reward definitions an agent may issue as a goodwill reward", shown="unset (no rewards)"),
    Setting("SIDEBAR_ACTION_REASONS", Items(r"[a-z0-9_-]+", "comma-separated reason handles (a-z, 0-9, _ -)"),
            ("late_delivery", "damaged_item", "service_failure", "other"),
            "the reasons an agent picks one of (with free text)"),
    Setting("SIDEBAR_REWARD_MAX_VALUE", Number(0.01, 1_000_000, "an amount from {lo} to {hi}"), 50.0,
            "the most one goodwill reward may be worth (over it: refused)"),
    Setting("SIDEBAR_AGENT_DAILY_CAP", Number(0, 10_000_000, "an amount from {lo} to {hi}"), 200.0,
            "the most one agent may issue in a UTC day, all rewards together (over it: refused)"),
    Setting("SIDEBAR_AGENT_DAILY_CLAIMS", Whole(0, 10_000), 10,
            "how many benefits one agent may claim for customers in a UTC day (over it: refused)"),
    Setting("SIDEBAR_SESSION_SECONDS", Whole(60, 3600, SECONDS), 900,
            "lifetime of the session the sidebar is handed for agent actions"),
    Setting("ZENDESK_RECREATE_DELETED_USERS", Flag(), False,
            "whether a profile update re-creates a Zendesk user an agent (or a deletion schedule) deleted"),
    Setting("ERASURE_TICKETS", Text(OneOf(["wait", "delete"])), "wait",
            "what erasure does with the customer's Zendesk tickets: `wait` (keep them; a user who still "
            "requests a ticket that is not closed is cleared at once but for the email, and deleted once "
            "none is left) or `delete` (delete them permanently, then the user; needs `tickets:write`)"),
    Setting("ERASURE_RECHECK_SECONDS", Whole(1, 7 * 86400, SECONDS), 3600,
            "how often beat looks again at erasures waiting for a customer's tickets to close"),
    Setting("RECONCILE_INTERVAL_SECONDS", Whole(10, 7 * 86400, SECONDS), 3600,
            "how often beat queues a reconciliation"),
    Setting("SENTRY_DSN", Text(URL), None, "errors to Sentry (scrubbed of personal data)", secret=True,
            shown="off"),
    Setting("LOG_FORMAT", Text(OneOf(["json", "text"])), "json", "`json` (production) or `text` (`dev`)"),
    Setting("ENVIRONMENT", Text(), "production", "name in logs and Sentry"),
    Setting("PUBLIC_URL", Text(URL, tidy=lambda v: v.rstrip("/") or None), None,
            "where Omneo and Zendesk reach the receiver (`setup`, `check`)"),
    Setting("FLOWER_BASIC_AUTH", Text(pattern(r"^[^:,\s]+:\S{8,}$", "user:password, the password at least 8 "
                                              "characters")), None,
            "`user:password` guarding Flower (required by `flower`)", secret=True),
    Setting("PROMETHEUS_MULTIPROC_DIR", Text(), None, "directory where every process of a host keeps its metrics",
            shown="unset (`dev`, Dockerfile: set)"),
    Setting("METRICS_TOKEN", Text(pattern(r"^[\x21-\x7e]{16,}$", "at least 16 printable ASCII characters")),
            None, "bearer token `/metrics` requires (16+ printable ASCII characters); unset, `/metrics` is open",
            secret=True),
)


class SettingsError(Exception):
    """A setting is missing or malformed; str() is one line naming the variable."""


class _Derived:
    """What `Settings` works out from its fields."""

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


Settings = dataclasses.make_dataclass(
    "Settings", [s.dataclass_field() for s in SETTINGS if s.keep], bases=(_Derived,),
    frozen=True, kw_only=True)
Settings.__module__ = __name__
Settings.__doc__ = "The validated settings: one attribute a declaration of SETTINGS (its name in lower case)."


class _CrossFieldRules(Schema):
    class Meta:
        unknown = EXCLUDE

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


SettingsSchema = _CrossFieldRules.from_dict({s.env: s.schema_field() for s in SETTINGS}, name="SettingsSchema")


def _check_together(data: dict) -> None:
    """The rules between settings that need their loaded values."""
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
    _check_together(data)
    values = {s.attr: s.kind.settle(data[s.env]) for s in SETTINGS if s.keep}
    tenant = data["OMNEO_TENANT"] or ""
    omneo_base = data["OMNEO_BASE_URL"] or f"https://api.{tenant}.getomneo.com/api/v3"
    zendesk_base = data["ZENDESK_BASE_URL"] or f"https://{data['ZENDESK_SUBDOMAIN']}.zendesk.com"
    values.update(omneo_tenant=tenant, omneo_base_url=omneo_base.rstrip("/"),
                  zendesk_base_url=zendesk_base.rstrip("/"))
    return Settings(**values)

