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


def seen_marks(day: int, bucket: int) -> str:
    """Hash: dedupe marks of webhook deliveries accepted on this day (days since 1970), in one
    of integration.store.marks.SEEN_BUCKETS; it expires whole (integration.store.marks lays them out)."""
    return f"{PREFIX}:marks:seen:{day}:{bucket}"


def legacy_seen(source: str, delivery_id: str) -> str:
    """A delivery's dedupe mark in the old layout, one key each: still looked for, never written."""
    return f"{PREFIX}:seen:{source}:{delivery_id}"


def pending_sync(profile_id: str) -> str:
    """A sync job for this profile is queued and not started yet (coalesces bursts)."""
    return f"{PREFIX}:pending:sync:{profile_id}"


def profile_lock(profile_id: str) -> str:
    return f"{PREFIX}:lock:profile:{profile_id}"


def synced_marks(bucket: int) -> str:
    """Hash: profile id -> watermark of its last sync (fingerprint, Omneo updated_at, Zendesk user
    id), for the profiles in this bucket (integration.store.marks lays them out, integration.state
    reads and writes them)."""
    return f"{PREFIX}:marks:synced:{bucket}"


def legacy_synced(profile_id: str) -> str:
    """A watermark in the old layout, one key a profile (JSON): moved to its bucket when read or
    by `omneo-zendesk marks migrate`."""
    return f"{PREFIX}:synced:{profile_id}"


LEGACY_SYNCED_PATTERN = f"{PREFIX}:synced:*"
# set once no watermark of the old layout is left, so reads stop looking for them
LEGACY_SYNCED_GONE = f"{PREFIX}:marks:legacy-synced-gone"


def erased(profile_id: str) -> str:
    """Tombstone: this profile was erased; a late update must not re-create it."""
    return f"{PREFIX}:erased:{profile_id}"


def sidebar_cache(profile_id: str) -> str:
    return f"{PREFIX}:cache:sidebar:{profile_id}"


def sidebar_requester(zendesk_user_id: str) -> str:
    """Which profile a Zendesk requester resolved to (two ids and a fingerprint of what Zendesk
    said of the user, no personal data); as short-lived as the sidebar cache."""
    return f"{PREFIX}:cache:sidebar-requester:{zendesk_user_id}"


def sidebar_last_known(profile_id: str) -> str:
    """The last good sidebar view of a profile, served (marked with its age) while Omneo fails;
    kept for SIDEBAR_LAST_KNOWN_SECONDS."""
    return f"{PREFIX}:last-known:sidebar:{profile_id}"


def sidebar_last_requester(zendesk_user_id: str) -> str:
    """Which profile a Zendesk requester last resolved to, as long-lived as the last-known view:
    how that view is found while Omneo cannot be asked."""
    return f"{PREFIX}:last-known:sidebar-requester:{zendesk_user_id}"


def sidebar_zendesk_user(zendesk_user_id: str) -> str:
    """What Zendesk last said of a sidebar requester (email, external_id), briefly: written only
    from Zendesk's answer (integration/sidebar_requester.py)."""
    return f"{PREFIX}:cache:sidebar-zendesk-user:{zendesk_user_id}"


def sidebar_views(profile_id: str) -> list[str]:
    """Every sidebar view kept of a profile: the short cache and the last-known view."""
    return [sidebar_cache(profile_id), sidebar_last_known(profile_id)]


def sidebar_requester_links(zendesk_user_id: str) -> list[str]:
    """Every key pointing a Zendesk requester at a profile for the sidebar."""
    return [sidebar_requester(zendesk_user_id), sidebar_last_requester(zendesk_user_id),
            sidebar_zendesk_user(zendesk_user_id)]


DLQ_ENTRIES = f"{PREFIX}:dlq:entries"  # hash: id -> JSON entry
DLQ_INDEX = f"{PREFIX}:dlq:index"  # sorted set: id by time of failure


def dlq_by_profile(profile_id: str) -> str:
    return f"{PREFIX}:dlq:profile:{profile_id}"


def dlq_by_zendesk_user(zendesk_user_id: str) -> str:
    """Dead letters naming this Zendesk user (a ticket's requester), for erasure."""
    return f"{PREFIX}:dlq:zendesk-user:{zendesk_user_id}"


ERASURE_AUDIT = f"{PREFIX}:audit:erasures"  # capped list of JSON records, newest first
ERASURE_PENDING = f"{PREFIX}:erasure:pending"  # hash: profile id -> JSON record of a pending erasure
ERASURE_PENDING_SINCE = f"{PREFIX}:erasure:pending:since"  # sorted set: profile id by pending since
ERASURE_PENDING_CHECKED = f"{PREFIX}:erasure:pending:checked"  # sorted set: profile id by last re-check


def erasure_tickets(profile_id: str) -> str:
    """Set of the profile's ticket ids soft-deleted by its erasure and not yet purged."""
    return f"{PREFIX}:erasure:tickets:{profile_id}"
INTERACTIONS_SKIPPED = f"{PREFIX}:stats:interactions_skipped"  # counter of ticket events skipped
INTERACTIONS_SKIPPED_LOG = f"{PREFIX}:interactions:skipped"  # capped list of JSON records, newest first
USER_MERGES_REFUSED = f"{PREFIX}:stats:user_merges_refused"  # user.merged events Zendesk did not bear out
USER_MERGES_REFUSED_LOG = f"{PREFIX}:user_merges:refused"  # capped list of JSON records, newest first


def interaction_intent(key: str) -> str:
    """Set just before the Interaction of this ticket and activity (`interactions.interaction_key`)
    is posted: the post may have happened."""
    return f"{PREFIX}:interaction:intent:{key}"


def interaction_done(key: str) -> str:
    """The Interaction of this ticket and activity exists (value: its Omneo id, or why skipped)."""
    return f"{PREFIX}:interaction:done:{key}"


def zendesk_user_event_done(event_id: str) -> str:
    """This Zendesk user event was acted on (or found to need nothing)."""
    return f"{PREFIX}:zendesk-user-event:done:{event_id}"


def zendesk_user_event_clock(zendesk_user_id: str) -> str:
    """Hash: per aspect of a Zendesk user (active, external_id), the time of the newest event acted on."""
    return f"{PREFIX}:zendesk-user-event:clock:{zendesk_user_id}"


def zendesk_user_deleted(profile_id: str) -> str:
    """The profile's Zendesk user was deleted in Zendesk (value: its id); a sync does not re-create it."""
    return f"{PREFIX}:zendesk-user-deleted:{profile_id}"


def zendesk_email_changes(profile_id: str) -> str:
    """Hash: event id -> an email identity change made in Zendesk, until a sync reports it."""
    return f"{PREFIX}:zendesk-email-changes:{profile_id}"


# The burst sync (integration/bulk/parking.py, drain.py): profile ids parked for a bulk job
# (sorted set, by when parked), those a drain has taken (sorted set, by when taken), the drain's
# lease, and a mark that a drain was just queued.
BULK_WAITING = f"{PREFIX}:bulk:waiting"
BULK_CLAIMED = f"{PREFIX}:bulk:claimed"
BULK_DRAIN_LOCK = f"{PREFIX}:lock:bulk-drain"
BULK_DRAIN_QUEUED = f"{PREFIX}:bulk:drain-queued"
# hash: parked profile id -> the newest updated_at its webhooks announced, until a drain takes it
BULK_ANNOUNCED = f"{PREFIX}:bulk:announced"
# the lone lane's token bucket (hash: tokens, ts), and a sync job's mark that it goes alone
BULK_LANE = f"{PREFIX}:bulk:lane"


def bulk_alone(profile_id: str) -> str:
    return f"{PREFIX}:bulk:alone:{profile_id}"


RECONCILE_LOCK = f"{PREFIX}:lock:reconcile"
RECONCILE_STATE = f"{PREFIX}:reconcile:state"
TICKET_EVENTS_WATERMARK = "ticket_events_start_time"  # a field of RECONCILE_STATE: unix seconds
RECONCILE_RUNS = f"{PREFIX}:reconcile:runs"
BACKFILL_CHECKPOINT = f"{PREFIX}:backfill:checkpoint"
ZENDESK_FIELDS_READY = f"{PREFIX}:zendesk:user_fields_ready"
# Per set of Zendesk OAuth credentials (`fp`, their fingerprint, so two deployments sharing a Redis
# never read or overwrite each other's): the access token (encrypted), the lock of whoever renews
# it, a refused or failed grant kept briefly so waiting jobs do not each ask again, and the
# standing auth problem if any.
def zendesk_token(fp: str) -> str:
    return f"{PREFIX}:zendesk:oauth:token:{fp}"


def zendesk_token_renewal(fp: str) -> str:
    return f"{PREFIX}:zendesk:oauth:renewing:{fp}"


def zendesk_grant_refused(fp: str) -> str:
    return f"{PREFIX}:zendesk:oauth:refused:{fp}"


def zendesk_grant_failed(fp: str) -> str:
    return f"{PREFIX}:zendesk:oauth:failed:{fp}"


def zendesk_auth_problem(fp: str) -> str:
    return f"{PREFIX}:zendesk:auth:problem:{fp}"


def profile_keys(profile_id: str) -> list[str]:
    """Every per-profile key, for erasure: exact names, never a pattern (a pattern for profile
    `12` also matches `123`'s keys, and costs a scan of the whole keyspace). The watermark, a
    field of a shared hash, goes by `State.clear_synced`."""
    return [legacy_synced(profile_id), pending_sync(profile_id), dlq_by_profile(profile_id),
            *sidebar_views(profile_id), zendesk_user_deleted(profile_id),
            zendesk_email_changes(profile_id), erasure_tickets(profile_id)]


def zendesk_user_keys(zendesk_user_id: str) -> list[str]:
    """Keys about one Zendesk user that point at a profile, for erasure of that profile."""
    return [*sidebar_requester_links(zendesk_user_id), dlq_by_zendesk_user(zendesk_user_id),
            zendesk_user_event_clock(zendesk_user_id)]


def due(queue: str) -> str:
    """Sorted set of jobs waiting to go back on `queue` (a retry's delay), scored by due time."""
    return f"{PREFIX}:due:{queue}"


# agent actions from the sidebar (integration/agent_actions/)
def agent_action(action_id: str) -> str:
    """One agent action: ids, amounts, its state; the agent's free text only until it is done."""
    return f"{PREFIX}:action:{action_id}"


def agent_action_key(agent_id: str, installation_id: str, idempotency_key: str) -> str:
    """The action an agent's idempotency key (within one installation) already made."""
    return f"{PREFIX}:action-key:{installation_id}:{agent_id}:{idempotency_key}"


def agent_daily_total(agent_id: str, day: str) -> str:
    """What an agent has issued on a UTC day (YYYY-MM-DD), all rewards together."""
    return f"{PREFIX}:action-daily:{day}:{agent_id}"


def agent_daily_claims(agent_id: str, day: str) -> str:
    """How many benefits an agent has claimed for customers on a UTC day (YYYY-MM-DD)."""
    return f"{PREFIX}:action-claims:{day}:{agent_id}"


AGENT_ACTIONS_AUDIT = f"{PREFIX}:actions:audit"
