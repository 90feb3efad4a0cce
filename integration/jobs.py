"""Every job this service runs, declared once: its task name and the queue it waits on.

Plain data, so the receivers, the dead-letter store and the workers share one declaration without
importing Celery: the Celery tasks take their names from it (workers.tasks), and the queue list,
the routes, beat's entry and the worker's default `-Q` are derived from it (workers.celery_app).
"""
from __future__ import annotations

from dataclasses import dataclass

PREFIX = "omneo_zendesk."


@dataclass(frozen=True)
class TaskSpec:
    name: str
    queue: str


def _task(short_name: str, queue: str) -> TaskSpec:
    return TaskSpec(PREFIX + short_name, queue)


SYNC_PROFILE = _task("sync_profile", "sync")
MERGE_PROFILES = _task("merge_profiles", "sync")
LINK_IDENTITY = _task("link_identity", "sync")
ZENDESK_USER_EVENT = _task("zendesk_user_event", "sync")
ERASE_PROFILE = _task("erase_profile", "erasure")
# beat's look at erasures waiting for tickets to close: it queues their erasures again
RECHECK_ERASURES = _task("recheck_erasures", "erasure")
TICKET_INTERACTION = _task("ticket_interaction", "interactions")
RECONCILE = _task("reconcile", "reconcile")
# the burst drain runs beside the sync queue, not behind the backlog it drains
SYNC_BATCH = _task("sync_batch", "reconcile")
# an agent is waiting on the sidebar for it: its own queue, not behind a sync backlog
AGENT_ACTION = _task("agent_action", "actions")

ALL = (SYNC_PROFILE, MERGE_PROFILES, LINK_IDENTITY, ZENDESK_USER_EVENT, ERASE_PROFILE,
       TICKET_INTERACTION, RECONCILE, SYNC_BATCH, RECHECK_ERASURES, AGENT_ACTION)
BY_NAME = {spec.name: spec for spec in ALL}
# in order of first use: the worker's default `-Q`, and the queues /metrics reports
QUEUES = tuple(dict.fromkeys(spec.queue for spec in ALL))
