"""What `omneo-zendesk check` looks at: each check reads and never writes, and returns rows
saying what works and, when it does not, what to fix."""
from __future__ import annotations

from typing import Callable
from urllib.parse import urlsplit

from integration.profiles import tier_field
from integration.profiles import tier_field
from integration.store import pending_erasures, redis_memory
from integration.errors import ApiError, NotFound, PermanentError, TransientError
from integration.apis.omneo import OmneoClient
from integration.onboarding.registration import (OMNEO_TRIGGERS, ZENDESK_USER_WEBHOOK_NAME,
                                                  ZENDESK_WEBHOOK_NAME, list_omneo_webhooks)
from integration.onboarding.rows import Row
from integration.onboarding.zendesk_auth_check import auth_rows
from integration.settings.declared import Settings
from integration.apis.zendesk import ZendeskClient


def _where(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname}" + (f":{parts.port}" if parts.port else "")


def _failure(item: str, exc: Exception, auth_fix: str, where: str) -> Row:
    if isinstance(exc, TransientError) and exc.status is None:
        return Row(item, "FAIL", f"cannot reach {where}", "check the base URL setting and the network")
    status = getattr(exc, "status", None)
    if status == 401:
        return Row(item, "FAIL", "credentials rejected (401)", auth_fix)
    if status == 403:
        return Row(item, "FAIL", "permission denied (403)", auth_fix)
    return Row(item, "FAIL", f"answered {status or type(exc).__name__}", "see the API's status page; try again")


def _probe(item: str, call: Callable[[], Row], auth_fix: str, where: str) -> Row:
    try:
        return call()
    except ApiError as exc:
        return _failure(item, exc, auth_fix, where)


def check_redis(client) -> Row:
    try:
        client.ping()
    except Exception as exc:
        return Row("redis", "FAIL", f"no answer ({type(exc).__name__})",
                   "set REDIS_URL to a reachable redis:// URL")
    return Row("redis", "ok", "answers PING")


PENDING_ERASURE_WARN_DAYS = 25  # the law gives a month to answer an erasure request


def check_erasures(settings: Settings, client) -> Row:
    """Erasures waiting for tickets to close: a warning once one waits past 25 days."""
    count, oldest = pending_erasures.summary(client)
    days = oldest / 86400
    if settings.erasure_tickets == "delete" and not can_write_tickets(settings):
        return Row("erasures", "warn", "ERASURE_TICKETS=delete deletes tickets, which needs the "
                   "tickets:write scope", "add tickets:write to ZENDESK_OAUTH_SCOPES")
    if count and days > PENDING_ERASURE_WARN_DAYS:
        return Row("erasures", "warn", f"{count} pending, the oldest for {days:.0f} days: its "
                   "customer still requests a ticket that is not closed",
                   "close or solve those tickets (`erasures list` names the Zendesk users), or set "
                   "ERASURE_TICKETS=delete")
    return Row("erasures", "ok", f"{count} pending" + (f", the oldest for {days:.1f} days" if count else ""))


def can_write_tickets(settings: Settings) -> bool:
    """Whether our Zendesk token may change tickets: `tickets:write` (or `write`) asked for, when
    we ask for scopes at all (OAuth client credentials)."""
    return settings.zendesk_auth_mode != "client_credentials" \
        or bool({"write", "tickets:write"} & set(settings.zendesk_oauth_scopes.split()))


def check_agent_actions(settings: Settings) -> Row:
    """Agent actions from the sidebar: set up or not, and the scope their internal note needs."""
    if not settings.zendesk_app_public_key or not settings.zendesk_app_installation_id:
        return Row("agent actions", "ok", "off (ZENDESK_APP_PUBLIC_KEY and ZENDESK_APP_INSTALLATION_ID unset): "
                   "the sidebar is read-only")
    if not can_write_tickets(settings):
        return Row("agent actions", "warn", "each action adds an internal note to the ticket, which needs the "
                   "tickets:write scope", "add tickets:write to ZENDESK_OAUTH_SCOPES and the client's allowed scopes")
    rewards = ",".join(settings.sidebar_reward_definitions or ()) or "none (benefit claims only)"
    return Row("agent actions", "ok", f"roles {','.join(settings.sidebar_action_roles)}; reward definitions {rewards}")


def check_redis_memory(client) -> Row:
    """The eviction policy (FAIL unless noeviction) and how full Redis is (warn from 80%)."""
    try:
        memory = redis_memory.read(client)
    except Exception as exc:
        return Row("redis: maxmemory-policy", "warn", f"INFO memory refused ({type(exc).__name__})",
                   "allow the INFO command to our Redis user (README, Redis in production)")
    problem = redis_memory.eviction_problem(memory)
    if problem:
        return Row("redis: maxmemory-policy", "FAIL", problem,
                   "set maxmemory-policy to noeviction (README, Redis in production)")
    if memory.policy is None:
        return Row("redis: maxmemory-policy", "warn", "INFO memory does not name the policy",
                   "make sure the server's maxmemory-policy is noeviction")
    share = memory.share_used
    if share is not None and share >= redis_memory.HEADROOM_WARN:
        return Row("redis: maxmemory-policy", "warn", redis_memory.describe(memory),
                   "give Redis more memory (README: sizing) before writes are refused")
    return Row("redis: maxmemory-policy", "ok", redis_memory.describe(memory))


def check_omneo(settings: Settings, omneo: OmneoClient) -> list[Row]:
    where = _where(settings.omneo_base_url)
    fix = "set OMNEO_API_TOKEN to the token of an Omneo machine user allowed to read profiles"

    def auth() -> Row:
        body = omneo.request("GET", "/profiles", params={"per_page": 1})
        total = (body.get("meta") or {}).get("total") if isinstance(body, dict) else None
        return Row("omneo: auth, read profiles", "ok",
                   f"{where}" + (f", {total} profiles" if total is not None else ""))

    rows = [_probe("omneo: auth, read profiles", auth, fix, where)]
    if rows[0].failed:
        return rows

    def hooks() -> Row:
        ours = [h for h in list_omneo_webhooks(omneo) if h.get("namespace") == settings.omneo_namespace]
        triggers = sorted({h.get("trigger") for h in ours})
        missing = [t for t in OMNEO_TRIGGERS if t not in triggers]
        if missing:
            return Row("omneo: webhooks", "warn", f"missing under namespace "
                       f"{settings.omneo_namespace!r}: {', '.join(missing)}", "run omneo-zendesk setup")
        return Row("omneo: webhooks", "ok", f"{len(ours)} registered under {settings.omneo_namespace!r}")

    rows.append(_probe("omneo: webhooks", hooks,
                       "give the machine user permission to manage webhooks", where))

    def handle() -> Row:
        try:
            omneo.search_profile_by_identity(settings.omneo_identity_handle, "omneo-zendesk-check")
        except NotFound:
            pass
        except PermanentError as exc:
            if exc.status in (401, 403):
                raise
            return Row("omneo: identity handle", "FAIL",
                       f"{settings.omneo_identity_handle!r} refused ({exc.status})",
                       "create the identity handle in Omneo or set OMNEO_IDENTITY_HANDLE")
        return Row("omneo: identity handle", "ok", f"{settings.omneo_identity_handle!r} usable")

    rows.append(_probe("omneo: identity handle", handle,
                       "give the machine user permission to read identities", where))
    return rows


def check_zendesk(settings: Settings, zendesk: ZendeskClient) -> list[Row]:
    where = _where(settings.zendesk_base_url)
    oauth = settings.zendesk_auth_mode == "client_credentials"
    fix = ("check ZENDESK_CLIENT_ID and ZENDESK_CLIENT_SECRET" if oauth else
           "set ZENDESK_CLIENT_ID and ZENDESK_CLIENT_SECRET (see README, Connecting Zendesk)")
    admin_fix = ("create the OAuth client as an admin: user fields, the user export and webhooks "
                 "need the token's user to be one" if oauth else "use an admin's credentials: "
                 "webhooks and user fields need an admin")

    def auth() -> Row:
        me = zendesk.request("GET", "/users/me")["user"]
        if not me.get("id"):
            return Row("zendesk: auth", "FAIL", "answered as an anonymous user", fix)
        if me.get("role") != "admin":
            return Row("zendesk: auth", "FAIL", f"signed in as user {me['id']}, a {me.get('role')!r}",
                       admin_fix)
        return Row("zendesk: auth", "ok", f"{where}, user {me['id']} is an admin")

    rows = auth_rows(settings, zendesk)
    if rows[-1].failed:
        return rows
    rows.append(_probe("zendesk: auth", auth, fix, where))
    if rows[-1].failed:
        return rows

    def fields() -> Row:
        found = tier_field.present(zendesk.list_user_fields())
        if tier_field.wanted(settings) and not found:
            return Row("zendesk: user fields", "warn", f"{tier_field.KEY!r} missing",
                       "run omneo-zendesk setup (the first sync would also create it)")
        return Row("zendesk: user fields", "ok", "readable" + (
            f", {tier_field.KEY!r} present" if found else ""))

    rows.append(_probe("zendesk: user fields", fields, admin_fix, where))

    def hook() -> Row:
        ours = [h for h in zendesk.list_webhooks() if h.get("name") == ZENDESK_WEBHOOK_NAME]
        if not ours:
            return Row("zendesk: ticket webhook", "warn", "not registered", "run omneo-zendesk setup")
        secret = zendesk.get_webhook_signing_secret(ours[0]["id"])
        if secret != settings.zendesk_webhook_secret:
            return Row("zendesk: ticket webhook", "FAIL",
                       f"{ours[0]['id']}: ZENDESK_WEBHOOK_SECRET is not its signing secret",
                       "set ZENDESK_WEBHOOK_SECRET to the secret `setup --show-secret` prints")
        return Row("zendesk: ticket webhook", "ok",
                   f"{ours[0]['id']} -> {ours[0].get('endpoint')}, secret matches")

    rows.append(_probe("zendesk: ticket webhook", hook, admin_fix, where))

    def user_hook() -> Row:
        ours = [h for h in zendesk.list_webhooks() if h.get("name") == ZENDESK_USER_WEBHOOK_NAME]
        if not ours:
            return Row("zendesk: user webhook", "warn", "not registered: merges and deletions in "
                       "Zendesk wait for reconciliation", "run omneo-zendesk setup")
        if zendesk.get_webhook_signing_secret(ours[0]["id"]) != settings.zendesk_webhook_secret:
            return Row("zendesk: user webhook", "FAIL", f"{ours[0]['id']}: signed with another secret "
                       "than ZENDESK_WEBHOOK_SECRET", "run omneo-zendesk setup (it re-creates it)")
        return Row("zendesk: user webhook", "ok", f"{ours[0]['id']} -> {ours[0].get('endpoint')}")

    rows.append(_probe("zendesk: user webhook", user_hook, admin_fix, where))
    return rows


def check_receiver(public_url: str | None, get: Callable) -> Row:
    if not public_url:
        return Row("receiver", "warn", "no public URL to try", "set PUBLIC_URL (or pass --public-url)")
    try:
        ok = get(public_url.rstrip("/") + "/healthz").status_code == 200
    except Exception as exc:
        return Row("receiver", "FAIL", f"{public_url}: {type(exc).__name__}",
                   "start `omneo-zendesk web` and route PUBLIC_URL to it")
    if not ok:
        return Row("receiver", "FAIL", f"{public_url}/healthz did not answer 200",
                   "route PUBLIC_URL to `omneo-zendesk web`")
    return Row("receiver", "ok", f"{public_url}/healthz answers")
