"""The Redis key layout: every key this product writes, in one place.

Everything of ours lives under `oz:`; Celery's own keys (queues, `unacked`) are left to Celery.
Keys that name a profile are listed by `profile_keys` so that erasure can drop them all.
"""
from __future__ import annotations

PREFIX = "oz"


def ratelimit_bucket(api: str) -> str:
    return f"{PREFIX}:ratelimit:{api}:bucket"


def ratelimit_pause(api: str) -> str:
    return f"{PREFIX}:ratelimit:{api}:paused_until"


def ratelimit_observed(api: str) -> str:
    """The share of the account's budget the API's last response said was left."""
    return f"{PREFIX}:ratelimit:{api}:observed_left"


def seen(source: str, delivery_id: str) -> str:
    """A webhook delivery already accepted (dedupe mark)."""
    return f"{PREFIX}:seen:{source}:{delivery_id}"


def pending_sync(profile_id: str) -> str:
    """A sync job for this profile is queued and not started yet (coalesces bursts)."""
    return f"{PREFIX}:pending:sync:{profile_id}"


def profile_lock(profile_id: str) -> str:
    return f"{PREFIX}:lock:profile:{profile_id}"


def synced(profile_id: str) -> str:
    """Watermark of the last sync: fingerprint, Omneo updated_at, Zendesk user id."""
    return f"{PREFIX}:synced:{profile_id}"


def erased(profile_id: str) -> str:
    """Tombstone: this profile was erased; a late update must not re-create it."""
    return f"{PREFIX}:erased:{profile_id}"


def sidebar_cache(profile_id: str) -> str:
    return f"{PREFIX}:cache:sidebar:{profile_id}"


def sidebar_cache_pattern(profile_id: str) -> str:
    return f"{PREFIX}:cache:sidebar:{profile_id}*"


def sidebar_requester(zendesk_user_id: str) -> str:
    """Which profile a Zendesk requester resolved to (two ids, no personal data); as short-lived
    as the sidebar cache, and checked against that cache before it is trusted."""
    return f"{PREFIX}:cache:sidebar-requester:{zendesk_user_id}"


DLQ_ENTRIES = f"{PREFIX}:dlq:entries"  # hash: id -> JSON entry
DLQ_INDEX = f"{PREFIX}:dlq:index"  # sorted set: id by time of failure


def dlq_by_profile(profile_id: str) -> str:
    return f"{PREFIX}:dlq:profile:{profile_id}"


def dlq_by_zendesk_user(zendesk_user_id: str) -> str:
    """Dead letters naming this Zendesk user (a ticket's requester), for erasure."""
    return f"{PREFIX}:dlq:zendesk-user:{zendesk_user_id}"


ERASURE_AUDIT = f"{PREFIX}:audit:erasures"  # capped list of JSON records, newest first
INTERACTIONS_SKIPPED = f"{PREFIX}:stats:interactions_skipped"  # counter of ticket events skipped
INTERACTIONS_SKIPPED_LOG = f"{PREFIX}:interactions:skipped"  # capped list of JSON records, newest first


def interaction_intent(event_id: str) -> str:
    """Set just before an Interaction is posted for this Zendesk event: the post may have happened."""
    return f"{PREFIX}:interaction:intent:{event_id}"


def interaction_done(event_id: str) -> str:
    """The Interaction for this Zendesk event exists (value: its Omneo id)."""
    return f"{PREFIX}:interaction:done:{event_id}"


# The burst sync (integration/bulk_sync.py): profile ids parked for a bulk job (sorted set, by
# when parked), those a drain has taken (sorted set, by when taken), the drain's lease, and a mark
# that a drain was just queued.
BULK_WAITING = f"{PREFIX}:bulk:waiting"
BULK_CLAIMED = f"{PREFIX}:bulk:claimed"
BULK_DRAIN_LOCK = f"{PREFIX}:lock:bulk-drain"
BULK_DRAIN_QUEUED = f"{PREFIX}:bulk:drain-queued"
RECONCILE_LOCK = f"{PREFIX}:lock:reconcile"
RECONCILE_STATE = f"{PREFIX}:reconcile:state"
RECONCILE_RUNS = f"{PREFIX}:reconcile:runs"
BACKFILL_CHECKPOINT = f"{PREFIX}:backfill:checkpoint"
ZENDESK_FIELDS_READY = f"{PREFIX}:zendesk:user_fields_ready"


def profile_keys(profile_id: str) -> list[str]:
    """Every per-profile key, for erasure (the sidebar cache is matched by pattern)."""
    return [synced(profile_id), pending_sync(profile_id), dlq_by_profile(profile_id),
            sidebar_cache(profile_id)]


def zendesk_user_keys(zendesk_user_id: str) -> list[str]:
    """Keys about one Zendesk user that point at a profile, for erasure of that profile."""
    return [sidebar_requester(zendesk_user_id), dlq_by_zendesk_user(zendesk_user_id)]


def profile_key_patterns(profile_id: str) -> list[str]:
    """Per-profile keys that come in variants, as SCAN patterns, for erasure.
    `profile_id` must already be glob-escaped."""
    return [sidebar_cache_pattern(profile_id)]
