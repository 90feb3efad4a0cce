"""The burst's backlog in Redis: what counts as backed up, parking, and a drain's claiming.

What counts as backed up is decided here alone (`LUA`): the syncs waiting (the Celery sync
queue's length plus the profiles parked here and those a drain has taken) against
BULK_SYNC_THRESHOLD. The receiver's intake script asks it for every sync it stores: below it the
sync is queued as a job and runs alone (`sync.sync_profile`), at or above it the profile is parked
in that same atomic step, with no job of its own, and a drain job is queued unless one runs or was
just queued. A sync job that still finds syncs backed up when it starts parks its profile too.
The drain (integration/bulk/drain.py) takes the parked profiles with `CLAIM`.

Why the threshold is a backlog of 20 by default: one by one, a backlog of N waits N / R minutes
for its last sync; a bulk job costs a few seconds of Zendesk's queue whatever its size. At
R = 400 a minute the single path clears 20 syncs in 3 s, about what one bulk job takes, so from
there on batching is no slower for anyone and costs a hundredth of the budget per profile.

The lone lane (`bulk_lane`): while syncs are backed up, a change to a profile's contact details
(name, email, phone: what a person edits in CX Manager) still goes alone, as a single sync job,
instead of waiting for a bulk job's round trip; a change of the tier or points alone (what a
burst is made of: a tier recalculation, points accrual) is parked. It is told by the digest of
the contact details in the webhook's body against the one in the profile's sync mark
(integration/store/marks.py `CONTACT_PART`); a profile without one (never synced by us, or
synced before the mark had it), or a body without those fields, is parked. The lane takes a
token of its own bucket, refilled at BULK_LONE_LANE_PERCENT of ZENDESK_REQUESTS_PER_MINUTE (a
few at once): a burst of contact changes (an import) goes alone only up to that share, the rest
in bulk. Its sync spends its requests from the same Zendesk budget as everything else.
"""
from __future__ import annotations

from integration.store import keys, marks
from integration.wiring import Context

DRAIN_LEASE_SECONDS = 15.0  # renewed as the drain goes; short, so a dead drain's lease frees soon
LANE_BURST = 3  # lone changes the lane lets through at once, before its refill paces them
LANE_FLAG_SECONDS = 600  # how long the mark that a queued sync goes alone lasts (the job's wait)

# What counts as backed up, and parking, as Lua functions: the sync task runs them here, and the
# receiver's intake script (workers/intake.py) runs them in the step that stores a delivery, so a
# webhook in a burst is parked without a Celery job of its own. `bulk_park` records the newest
# `updated_at` a webhook announced for the profile (none known: forgotten, so the drain reads it)
# and returns 1 when the caller should queue a drain (none running, none just queued).
LUA = marks.PART_LUA + """
local function bulk_backed_up(queue, waiting, claimed, threshold)
  threshold = tonumber(threshold)
  return threshold > 0 and redis.call('LLEN', queue) + redis.call('ZCARD', waiting)
    + redis.call('ZCARD', claimed) >= threshold
end
local function bulk_park(waiting, announced, lease, queued, id, updated_at, queued_ttl)
  local t = redis.call('TIME')
  redis.call('ZADD', waiting, tonumber(t[1]) + tonumber(t[2]) / 1000000, id)
  local known = redis.call('HGET', announced, id)
  if updated_at == '' then
    redis.call('HDEL', announced, id)
  elseif not known or known < updated_at then
    redis.call('HSET', announced, id, updated_at)
  end
  if redis.call('EXISTS', lease) == 1 then return 0 end
  if redis.call('SET', queued, '1', 'NX', 'EX', queued_ttl) then return 1 end
  return 0
end
local function bulk_lane(bucket, id, contact, lane, alone, per_minute, capacity, flag_ttl)
  per_minute, capacity = tonumber(per_minute), tonumber(capacity)
  if contact == '' or per_minute <= 0 then return false end
  local synced = mark_part(redis.call('HGET', bucket, id), """ + str(marks.CONTACT_PART) + """)
  if not synced or synced == contact or synced == '\0' then return false end
  local t = redis.call('TIME')
  local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
  local b = redis.call('HMGET', lane, 'tokens', 'ts')
  local tokens = math.min(capacity, (tonumber(b[1]) or capacity) + (now - (tonumber(b[2]) or now)) * per_minute / 60)
  if tokens < 1 then
    redis.call('HSET', lane, 'tokens', tostring(tokens), 'ts', tostring(now))
    return false
  end
  redis.call('HSET', lane, 'tokens', tostring(tokens - 1), 'ts', tostring(now))
  redis.call('EXPIRE', lane, math.ceil(capacity * 60 / per_minute) + 60)
  redis.call('SET', alone, '1', 'EX', flag_ttl)
  return true
end
"""
# the keys bulk_backed_up takes after the queue's, and those of bulk_park, in their order
BACKLOG_KEYS = (keys.BULK_WAITING, keys.BULK_CLAIMED)
PARK_KEYS = (keys.BULK_WAITING, keys.BULK_ANNOUNCED, keys.BULK_DRAIN_LOCK, keys.BULK_DRAIN_QUEUED)
# KEYS[4], when given: the profile's mark that its sync goes alone (the lane), taken here
_BACKED_UP = LUA + """
if KEYS[4] and redis.call('DEL', KEYS[4]) == 1 then return 0 end
return bulk_backed_up(KEYS[1], KEYS[2], KEYS[3], ARGV[1]) and 1 or 0"""
_PARK = LUA + "return bulk_park(KEYS[1], KEYS[2], KEYS[3], KEYS[4], ARGV[1], ARGV[2], ARGV[3])"

# A drain's claim. KEYS: waiting, claimed, announced (CLAIM_KEYS). ARGV: how many, claims older
# than this many seconds are stale, fill seconds, eager (1 or 0). Parks stale claims again, then moves the newest `how many` waiting ids
# to the claimed set; unless eager, a batch short of `how many` waits until its oldest profile has
# waited `fill seconds`, so that jobs go full while a burst keeps arriving. Returns the ids and the
# `updated_at` each was announced with (false: none), which are forgotten.
CLAIM = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local stale = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now - tonumber(ARGV[2]))
for _, id in ipairs(stale) do
  redis.call('ZREM', KEYS[2], id)
  redis.call('ZADD', KEYS[1], 'NX', now, id)
end
if ARGV[4] ~= '1' and redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[1]) then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  if oldest[2] and tonumber(oldest[2]) > now - tonumber(ARGV[3]) then return {{}, {}} end
end
local ids = redis.call('ZREVRANGE', KEYS[1], 0, tonumber(ARGV[1]) - 1)
if #ids == 0 then return {{}, {}} end
for _, id in ipairs(ids) do
  redis.call('ZREM', KEYS[1], id)
  redis.call('ZADD', KEYS[2], now, id)
end
local announced = redis.call('HMGET', KEYS[3], unpack(ids))
redis.call('HDEL', KEYS[3], unpack(ids))
return {ids, announced}
"""
CLAIM_KEYS = (keys.BULK_WAITING, keys.BULK_CLAIMED, keys.BULK_ANNOUNCED)


def backed_up(ctx: Context, queue: str, profile_id: str | None = None) -> bool:
    """Whether syncs are backing up: `queue` is the Redis list of the sync queue. With
    `profile_id`, a sync the lone lane let through is told to go alone (False), once."""
    script = ctx.redis.register_script(_BACKED_UP)
    alone = [keys.bulk_alone(profile_id)] if profile_id is not None else []
    return bool(script(keys=[queue, *BACKLOG_KEYS, *alone], args=[ctx.settings.bulk_sync_threshold]))


def park(ctx: Context, profile_id: str, updated_at: str | None = None) -> bool:
    """Leave the profile for a bulk drain; True when the caller must queue a drain job."""
    script = ctx.redis.register_script(_PARK)
    return bool(script(keys=list(PARK_KEYS), args=park_args(profile_id, updated_at)))


def park_args(profile_id: str, updated_at: str | None) -> list:
    """bulk_park's arguments after its keys."""
    return [str(profile_id), updated_at or "", int(DRAIN_LEASE_SECONDS)]


def lane_keys(profile_id: str) -> list[str]:
    """bulk_lane's keys: the profile's sync-mark bucket, the lane's bucket, its alone mark."""
    return [marks.synced_key(profile_id), keys.BULK_LANE, keys.bulk_alone(profile_id)]


def lane_args(profile_id: str, contact: str | None, per_minute: float) -> list:
    """bulk_lane's arguments after its keys: `contact` is the body's contact digest (hex)."""
    return [str(profile_id), marks.pack_part(contact) if contact else b"", per_minute, LANE_BURST,
            LANE_FLAG_SECONDS]


def lane_per_minute(settings) -> float:
    """The lone lane's syncs a minute: BULK_LONE_LANE_PERCENT of the Zendesk budget."""
    return settings.zendesk_requests_per_minute * settings.bulk_lone_lane_percent / 100.0


def parked(ctx: Context) -> int:
    """Profiles parked and not yet taken by a drain."""
    return int(ctx.redis.zcard(keys.BULK_WAITING))
