"""What `omneo-zendesk check` and `setup` do, as plain functions over the two clients.

`check_*` read and never write: each returns rows saying what works and, when it does not, what
to fix. `ensure_*` register our webhooks idempotently: list first, then create what is missing and
update what differs, so running setup twice leaves exactly one webhook per trigger.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable
from urllib.parse import urlsplit

from integration import tier_field
from integration.errors import ApiError, NotFound, PermanentError, TransientError
from integration.omneo import OmneoClient
from integration.settings import USER_EVENTS, Settings
from integration.zendesk import ZendeskClient, zendesk_client

OMNEO_TRIGGERS = ("profile.created", "profile.updated", "profile.deleted", "profile.merged",
                  "identity.created", "identity.updated")
ZENDESK_WEBHOOK_NAME = "omneo-zendesk ticket events"
ZENDESK_USER_WEBHOOK_NAME = "omneo-zendesk user events"


@dataclass(frozen=True)
class Row:
    item: str
    status: str  # "ok", "warn", "FAIL", or for setup: "created", "updated", "unchanged", "removed"
    detail: str = ""
    fix: str = ""

    @property
    def failed(self) -> bool:
        return self.status == "FAIL"


def clients(settings: Settings, redis=None) -> tuple[OmneoClient, ZendeskClient]:
    """Clients without the shared Redis limiter: onboarding makes a handful of calls and must
    work before Redis does. The OAuth token is shared through `redis` when given; without it
    (Redis not answering) this command keeps a token of its own."""
    omneo = OmneoClient(settings.omneo_base_url, settings.omneo_api_token, settings.http_timeout_seconds)
    if redis is None and settings.zendesk_auth_mode == "client_credentials":
        import fakeredis

        redis = fakeredis.FakeRedis()
    return omneo, zendesk_client(settings, redis)


def receiver_urls(public_url: str) -> dict[str, str]:
    base = public_url.rstrip("/")
    return {"omneo": f"{base}/webhooks/omneo", "zendesk": f"{base}/webhooks/zendesk"}


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


# check ---------------------------------------------------------------------------------------
def check_redis(client) -> Row:
    try:
        client.ping()
    except Exception as exc:
        return Row("redis", "FAIL", f"no answer ({type(exc).__name__})",
                   "set REDIS_URL to a reachable redis:// URL")
    return Row("redis", "ok", "answers PING")


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
    from integration.zendesk_auth_check import auth_rows

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


# setup ---------------------------------------------------------------------------------------
def list_omneo_webhooks(omneo: OmneoClient) -> list[dict]:
    hooks, page = [], 1
    while True:
        body = omneo.request("GET", "/webhooks", params={"page": page, "per_page": 100})
        hooks += body.get("data") or []
        meta = body.get("meta") or {}
        if page >= int(meta.get("last_page") or page) or not body.get("data"):
            return hooks
        page += 1


def ensure_omneo_webhooks(omneo: OmneoClient, url: str, namespace: str,
                          triggers: tuple[str, ...] = OMNEO_TRIGGERS) -> list[Row]:
    """One active webhook per trigger under our namespace, pointing at `url`."""
    ours = [h for h in list_omneo_webhooks(omneo) if h.get("namespace") == namespace]
    rows = []
    for trigger in triggers:
        desired = {"trigger": trigger, "url": url, "namespace": namespace, "is_active": True,
                   "retry_hourly": True}
        same = [h for h in ours if h.get("trigger") == trigger]
        if not same:
            hook = omneo.create_webhook(desired)
            rows.append(Row(f"omneo webhook {trigger}", "created", f"id {hook.get('id')} -> {url}"))
            continue
        keep, extra = same[0], same[1:]
        if keep.get("url") != url or not keep.get("is_active", True):
            omneo.update_webhook(keep["id"], desired)
            rows.append(Row(f"omneo webhook {trigger}", "updated", f"id {keep['id']} -> {url}"))
        else:
            rows.append(Row(f"omneo webhook {trigger}", "unchanged", f"id {keep['id']}"))
        for hook in extra:  # a second webhook of ours on one trigger would deliver every event twice
            omneo.request("DELETE", f"/webhooks/{hook['id']}")
            rows.append(Row(f"omneo webhook {trigger}", "removed", f"duplicate id {hook['id']}"))
    return rows


def zendesk_subscriptions(ticket_events: tuple[str, ...]) -> list[str]:
    """TICKET_EVENTS already holds Zendesk's event type names (zen:event-type:...)."""
    return sorted(set(ticket_events))


def ensure_zendesk_webhook(zendesk: ZendeskClient, url: str,
                           ticket_events: tuple[str, ...]) -> tuple[Row, str]:
    """Our event-subscribed ticket webhook, pointing at `url`; returns (row, webhook id)."""
    desired = {"name": ZENDESK_WEBHOOK_NAME, "endpoint": url, "http_method": "POST",
               "request_format": "json", "status": "active",
               "subscriptions": zendesk_subscriptions(ticket_events),
               "description": "Ticket events for the Omneo integration (omneo-zendesk)"}
    ours = [h for h in zendesk.list_webhooks() if h.get("name") == ZENDESK_WEBHOOK_NAME]
    if not ours:
        hook = zendesk.create_webhook(desired)
        return Row("zendesk webhook", "created", f"id {hook['id']} -> {url}"), hook["id"]
    hook = ours[0]
    differs = any(hook.get(k) != desired[k] for k in ("endpoint", "status"))
    differs = differs or sorted(hook.get("subscriptions") or []) != desired["subscriptions"]
    if differs:
        zendesk.update_webhook(hook["id"], {k: desired[k] for k in ("endpoint", "status", "subscriptions")})
        return Row("zendesk webhook", "updated", f"id {hook['id']} -> {url}"), hook["id"]
    return Row("zendesk webhook", "unchanged", f"id {hook['id']}"), hook["id"]


def ensure_zendesk_user_webhook(zendesk: ZendeskClient, url: str, secret: str) -> Row:
    """Our user-events webhook beside the ticket one, signed with the same secret (`secret`, the
    ticket webhook's), so one ZENDESK_WEBHOOK_SECRET verifies both. Zendesk takes a signing
    secret only when a webhook is created, so one signed otherwise is deleted and created again."""
    desired = {"name": ZENDESK_USER_WEBHOOK_NAME, "endpoint": url, "http_method": "POST",
               "request_format": "json", "status": "active", "subscriptions": sorted(USER_EVENTS),
               "description": "User merges, deletions and edits for the Omneo integration (omneo-zendesk)"}
    ours = [h for h in zendesk.list_webhooks() if h.get("name") == ZENDESK_USER_WEBHOOK_NAME]
    keep = next((h for h in ours if zendesk.get_webhook_signing_secret(h["id"]) == secret), None)
    recreated = any(h is not keep for h in ours) and keep is None
    for hook in ours:  # signed otherwise, or a second one that would deliver every event twice
        if hook is not keep:
            zendesk.delete_webhook(hook["id"])
    if keep is None:
        hook = zendesk.create_webhook(dict(desired, signing_secret={"algorithm": "SHA256", "secret": secret}))
        return Row("zendesk user webhook", "updated" if recreated else "created",
                   f"id {hook['id']} -> {url}" + (" (re-created: it had another signing secret)"
                                                  if recreated else ""))
    hook = keep
    if (any(hook.get(k) != desired[k] for k in ("endpoint", "status"))
            or sorted(hook.get("subscriptions") or []) != desired["subscriptions"]):
        zendesk.update_webhook(hook["id"], {k: desired[k] for k in ("endpoint", "status", "subscriptions")})
        return Row("zendesk user webhook", "updated", f"id {hook['id']} -> {url}")
    return Row("zendesk user webhook", "unchanged", f"id {hook['id']}")


def ensure_user_fields(zendesk: ZendeskClient, settings: Settings) -> list[Row]:
    if not tier_field.wanted(settings):
        return []
    created = tier_field.ensure(zendesk)
    return [Row(f"zendesk user field {tier_field.KEY}", "created" if created else "unchanged")]
