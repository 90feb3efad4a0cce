"""Zendesk's own event type names, as an event-subscribed webhook sends them (and as the webhook's
`subscriptions` list them). "Solved" is not an event of its own: it is a status change whose current
status is SOLVED. A satisfaction rating arrives as `ticket.csat_received`."""

ZENDESK_EVENT_PREFIX = "zen:event-type:"
TICKET_CREATED = ZENDESK_EVENT_PREFIX + "ticket.created"
TICKET_STATUS_CHANGED = ZENDESK_EVENT_PREFIX + "ticket.status_changed"
TICKET_CSAT_RECEIVED = ZENDESK_EVENT_PREFIX + "ticket.csat_received"
TICKET_COMMENT_ADDED = ZENDESK_EVENT_PREFIX + "ticket.comment_added"
DEFAULT_TICKET_EVENTS = (TICKET_CREATED, TICKET_STATUS_CHANGED, TICKET_CSAT_RECEIVED)
KNOWN_TICKET_EVENTS = DEFAULT_TICKET_EVENTS + (TICKET_COMMENT_ADDED,)
# The user events our second webhook subscribes to (integration/profiles/user_events.py acts on them).
USER_EVENT_PREFIX = ZENDESK_EVENT_PREFIX + "user."
USER_EVENTS = tuple(USER_EVENT_PREFIX + name for name in (
    "merged", "deleted", "active_changed", "external_id_changed",
    "identity_created", "identity_changed", "identity_deleted"))


def ticket_status(value) -> str:
    """A ticket status (or an object carrying one), upper-cased: Zendesk sends `SOLVED`, a
    published sample `"Open"`, the REST API `solved`. Statuses are compared only through this."""
    if isinstance(value, dict):
        value = value.get("status")
    return str(value or "").strip().upper()
