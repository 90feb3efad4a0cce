"""How the receivers put a delivery's job on its queue: one Redis call that sets the delivery's
dedupe mark, the profile's pending-sync mark and pushes the job, all or nothing.

When syncs are backed up (integration/bulk/parking.py says when), a sync is parked for a bulk drain
in that same call instead of queued as a job of its own, and a drain job is queued if none runs or
was just queued: in a burst a webhook costs the workers nothing until a drain takes it 100 at a
time.

The dedupe marks are laid out by integration.store.marks (day-bucketed hashes that expire whole).

Atomic, so a delivery is never marked seen without its job on the queue: with a mark set first
and removed again on failure, a receiver killed in between left a mark with no job, and the
sender's retry was then answered as a duplicate. And one round trip instead of four: the two
marks, plus Celery's `send_task`, which builds a new Redis client for every message.

The message is built by Celery (`app.amqp.create_task_message`, protocol 2) and serialized as the
app's task serializer says; only its envelope, the Kombu Redis transport's JSON (a base64 body,
`delivery_info` naming the queue, a delivery tag), is shaped here. tests/e2e/test_intake.py checks
it against what Kombu itself writes for the installed versions, and every e2e test has real
Celery workers consume it.
"""
from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass, field

import redis
from celery import Celery
from kombu.serialization import dumps as serialize
from kombu.utils.json import dumps as json_dumps

from integration import jobs
from integration.bulk import parking
from integration.jobs import TaskSpec
from integration.store import keys, marks
from integration.store.state import PENDING_TTL
from workers import metrics, sentry
from workers.logs import shown_args

QUEUED, DUPLICATE, COALESCED, PARKED = "queued", "duplicate", "coalesced", "parked"

# KEYS: queue list, the delivery's dedupe-mark keys (marks.seen_keys: the hash it is written to,
# the other days' hashes, its old-layout key), and for a sync that coalesces its pending-sync mark;
# for a sync that may be parked also the drain's queue, parking.BACKLOG_KEYS and
# parking.PARK_KEYS
# ARGV: message, job id, the dedupe mark's field, when its hash expires, pending TTL; to park also
# the threshold, the drain job's message and id, and parking.park_args; for the lone lane also
# KEYS parking.lane_keys and ARGV parking.lane_args (a contact change goes alone: queued)
# A duplicate writes too (the mark, into today's hash), so that WAIT after it covers the mark it
# found: a repeat is answered as one only once the mark, and the job queued with it, are on the
# replicas. A sync whose job is still queued coalesces into it before any parking: that job reads
# the newest.
_ACCEPT = parking.LUA + """
local seen = redis.call('EXISTS', KEYS[7]) == 1
for i = 2, 6 do
  seen = seen or redis.call('HEXISTS', KEYS[i], ARGV[3]) == 1
end
redis.call('HSET', KEYS[2], ARGV[3], '1')
redis.call('EXPIREAT', KEYS[2], ARGV[4])
if seen then return {'duplicate', ''} end
if KEYS[8] then
  local queued = redis.call('GET', KEYS[8])
  if queued then return {'coalesced', queued} end
  if KEYS[9] and bulk_backed_up(KEYS[1], KEYS[10], KEYS[11], ARGV[6])
     and not (KEYS[16] and bulk_lane(KEYS[16], ARGV[12], ARGV[13], KEYS[17], KEYS[18], ARGV[14],
                                      ARGV[15], ARGV[16])) then
    if bulk_park(KEYS[12], KEYS[13], KEYS[14], KEYS[15], ARGV[9], ARGV[10], ARGV[11]) == 1 then
      redis.call('LPUSH', KEYS[9], ARGV[7])
      return {'parked', ARGV[8]}
    end
    return {'parked', ''}
  end
  redis.call('SET', KEYS[8], ARGV[2], 'EX', ARGV[5])
end
redis.call('LPUSH', KEYS[1], ARGV[1])
return {'queued', ARGV[2]}
"""


@dataclass(frozen=True)
class Job:
    """A task to run (as integration.jobs declares it), its arguments and, for a sync, the
    profile whose syncs coalesce and the `updated_at` its webhook gave (kept when it is parked)."""

    task: TaskSpec
    args: list
    kwargs: dict = field(default_factory=dict)
    coalesce_profile: str | None = None
    updated_at: str | None = None
    contact: str | None = None  # the body's contact digest (mapping.body_contact_digest), if told


@dataclass(frozen=True)
class Outcome:
    # QUEUED, DUPLICATE (nothing done), COALESCED (job_id is the one already queued) or PARKED
    # (job_id: the drain job it queued, else None)
    status: str
    job_id: str | None


class NotReplicated(redis.RedisError):
    """Fewer replicas than REDIS_MIN_REPLICAS_ACKED acknowledged the job in time."""


class Intake:
    def __init__(self, app: Celery, client: redis.Redis, min_replicas: int = 0,
                 wait_timeout_ms: int = 500, bulk_threshold: int = 0, lane_per_minute: float = 0.0):
        self.app, self.r = app, client
        self.min_replicas, self.wait_timeout_ms = min_replicas, wait_timeout_ms
        self.bulk_threshold = bulk_threshold  # BULK_SYNC_THRESHOLD; 0: syncs are never parked
        self.lane_per_minute = lane_per_minute  # the lone lane's pace (parking.lane_per_minute)
        self._accept = client.register_script(_ACCEPT)
        self._drain: tuple[str, bytes] | None = None  # the next drain job's id and message

    def accept(self, source: str, delivery_id: str, job: Job) -> Outcome:
        """Queue `job` for the first delivery of `delivery_id` from `source`."""
        job_id = uuid.uuid4().hex
        queue = job.task.queue
        seen_keys, field, expire_at = marks.seen_keys(source, delivery_id)
        if job.coalesce_profile:
            seen_keys.append(keys.pending_sync(job.coalesce_profile))
        call = dict(keys=[queue, *seen_keys],
                    args=[self.envelope(job, job_id, queue), job_id, field, expire_at, PENDING_TTL])
        if job.task == jobs.SYNC_PROFILE and job.coalesce_profile and self.bulk_threshold > 0:
            drain_id, drain_message = self._next_drain()
            call["keys"] += [jobs.SYNC_BATCH.queue, *parking.BACKLOG_KEYS, *parking.PARK_KEYS]
            call["args"] += [self.bulk_threshold, drain_message, drain_id,
                             *parking.park_args(job.coalesce_profile, job.updated_at)]
            if job.contact and self.lane_per_minute > 0:
                call["keys"] += parking.lane_keys(job.coalesce_profile)
                call["args"] += parking.lane_args(job.coalesce_profile, job.contact, self.lane_per_minute)
        if not self.min_replicas:
            status, named = self._accept(**call)
        else:
            # WAIT waits for its own connection's last write: one pipeline keeps both on one
            pipe = self.r.pipeline(transaction=False)
            self._accept(**call, client=pipe)
            pipe.wait(self.min_replicas, self.wait_timeout_ms)
            (status, named), acked = pipe.execute()
            if acked < self.min_replicas:
                raise NotReplicated(f"{acked} of {self.min_replicas} replicas acknowledged")
        status = status.decode()
        if status == QUEUED:
            metrics.JOBS_ENQUEUED.labels(job.task.name).inc()
        elif status == PARKED and named:
            # queued: the next drain needs an id of its own (one sent with this id by a thread
            # that took it meanwhile finds the drain's lease taken, and ends)
            if self._drain and self._drain[0] == named.decode():
                self._drain = None
            metrics.JOBS_ENQUEUED.labels(jobs.SYNC_BATCH.name).inc()
        return Outcome(status, named.decode() or None)

    def _next_drain(self) -> tuple[str, bytes]:
        """A drain job's message, built once and kept until a parked sync queues it (rarely: at
        most one drain is queued at a time), so a burst's webhooks do not each build one."""
        drain = self._drain
        if drain is None:
            job_id = uuid.uuid4().hex
            drain = self._drain = (job_id, self.envelope(Job(jobs.SYNC_BATCH, []), job_id,
                                                         jobs.SYNC_BATCH.queue))
        return drain

    def envelope(self, job: Job, job_id: str, queue: str, headers: dict | None = None,
                 delivery_tag: str | None = None) -> bytes:
        """The job as Kombu's Redis transport keeps a message in a queue's list (priority 0);
        `headers` are ours that a job carries across its retries (workers.base)."""
        argsrepr, kwargsrepr = shown_args(job.args, job.kwargs)
        # ignore_result=None: as send_task sends it, so the task's own setting decides
        message = self.app.amqp.create_task_message(job_id, job.task.name, list(job.args),
                                                    dict(job.kwargs), ignore_result=None,
                                                    argsrepr=argsrepr, kwargsrepr=kwargsrepr)
        content_type, encoding, body = serialize(message.body, serializer=self.app.conf.task_serializer)
        if isinstance(body, str):
            body = body.encode(encoding)
        headers = {**message.headers, **(headers or {})}
        trace = sentry.trace_headers()
        if trace:  # the worker's Sentry reads them from the inner "headers" (celery#4875)
            headers = {**headers, **trace, "headers": trace}
        return json_dumps({
            "body": base64.b64encode(body).decode(),
            "content-encoding": encoding,
            "content-type": content_type,
            "headers": headers,
            "properties": {**message.properties, "delivery_mode": 2, "priority": 0,
                           "body_encoding": "base64",
                           # unique as Kombu's uuid4, without another one
                           "delivery_tag": delivery_tag or job_id,
                           "delivery_info": {"exchange": "", "routing_key": queue}},
        }).encode()
