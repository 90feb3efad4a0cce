"""What `omneo-zendesk setup` registers, idempotently: list first, then create what is missing and
update what differs, so running setup twice leaves exactly one webhook per trigger."""
from __future__ import annotations

from integration.profiles import tier_field
from integration.apis.omneo import OmneoClient
from integration.onboarding.rows import Row
from integration.settings.declared import Settings
from integration.apis.zendesk_events import USER_EVENTS
from integration.apis.zendesk import ZendeskClient

OMNEO_TRIGGERS = ("profile.created", "profile.updated", "profile.deleted", "profile.merged",
                  "identity.created", "identity.updated")
ZENDESK_WEBHOOK_NAME = "omneo-zendesk ticket events"
ZENDESK_USER_WEBHOOK_NAME = "omneo-zendesk user events"


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
