"""Retries wait in Redis, not in a worker: a job that will retry is written, as the message it
will be, to a sorted set of its queue scored by its due time (Redis's clock), and its current
message is acknowledged. A poller in every worker's main process moves the due messages back to
their queue, each move one Lua call, so a message is moved once however many pollers run.

So no message waits unacknowledged for longer than one run of a job: the broker's visibility
timeout can be a little over a job's time limit, and a dead worker's job runs again within it.
A Celery countdown instead holds the message unacknowledged in the worker until due; a delay longer
than the visibility timeout was then delivered twice.
"""
from __future__ import annotations

import logging
import threading
import uuid

import redis
from celery import Task
from celery.exceptions import Reject
from celery.signals import worker_ready

from integration import jobs
from integration.store import connection, keys
from workers.intake import Intake, Job

log = logging.getLogger("omneo_zendesk.jobs")

POLL_SECONDS = 1.0
BATCH = 100

# KEYS: due set; ARGV: message, delay in seconds
_SCHEDULE = """
local t = redis.call('TIME')
redis.call('ZADD', KEYS[1], tonumber(t[1]) + tonumber(t[2]) / 1e6 + tonumber(ARGV[2]), ARGV[1])
return 1
"""

# KEYS: due set, queue list; ARGV: most messages to move
_MOVE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1e6
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[1]))
for _, message in ipairs(due) do
  redis.call('LPUSH', KEYS[2], message)
  redis.call('ZREM', KEYS[1], message)
end
return #due
"""


def schedule(task: Task, client: redis.Redis, args: tuple, kwargs: dict, headers: dict,
             delay: float) -> None:
    """Put this run's job back on its queue in `delay` seconds, as the same job id with `headers`.

    If Redis cannot take the retry (an outage, a failover), the current message is rejected for
    redelivery, not acknowledged: Kombu puts it back on its queue, or, Redis still down, it stays
    unacknowledged and comes back after the visibility timeout."""
    spec = jobs.BY_NAME[task.name]
    queue = spec.queue
    message = Intake(task.app, client).envelope(Job(spec, list(args), dict(kwargs)),
                                                task.request.id, queue, headers=headers,
                                                delivery_tag=uuid.uuid4().hex)
    try:
        client.register_script(_SCHEDULE)(keys=[keys.due(queue)], args=[message, max(0.0, delay)])
    except redis.RedisError as exc:
        raise Reject(f"retry not scheduled ({type(exc).__name__})", requeue=True) from exc


def move_due(client: redis.Redis) -> int:
    """Move every due message back to its queue; how many were moved."""
    move = client.register_script(_MOVE)
    moved = 0
    for queue in jobs.QUEUES:
        while True:
            n = int(move(keys=[keys.due(queue), queue], args=[BATCH]))
            moved += n
            if n < BATCH:
                break
    return moved


def run_poller(client: redis.Redis, stop: threading.Event, interval: float = POLL_SECONDS) -> None:
    while not stop.wait(interval):
        try:
            move_due(client)
        except redis.RedisError as exc:  # an outage or a failover: the next round tries again
            log.warning("due jobs not moved", extra={"error_type": type(exc).__name__})


@worker_ready.connect
def _start_poller(sender=None, **_):
    from workers import runtime

    client = connection.connect(runtime.settings())
    threading.Thread(target=run_poller, args=(client, threading.Event()), name="oz-due-poller",
                     daemon=True).start()
