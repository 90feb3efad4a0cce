"""Thin tasks: each names its job and hands over to a plain function in `integration`."""
from __future__ import annotations

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded

from integration import erasure, interactions, jobs
from integration.agent_actions import perform
from integration.bulk import drain, parking
from integration.profiles import linking, merge, sync, user_events
from integration.store import pending_erasures
from integration.jobs import TaskSpec
from workers import metrics, runtime
from workers.base import IntegrationTask


def task(spec: TaskSpec):
    """A task named as integration.jobs declares it (its queue comes from the same declaration)."""
    return shared_task(bind=True, base=IntegrationTask, name=spec.name)


@task(jobs.SYNC_PROFILE)
def sync_profile(self, profile_id: str):
    from workers import enqueue

    ctx = runtime.context()
    ctx.state.release_pending_sync(profile_id, self.request.id)
    if not parking.backed_up(ctx, jobs.SYNC_PROFILE.queue, profile_id):
        return sync.sync_profile(ctx, profile_id)
    if parking.park(ctx, profile_id):
        enqueue.send(self.app, jobs.SYNC_BATCH)
    return {"outcome": "parked"}


@task(jobs.SYNC_BATCH)
def sync_batch(self):
    from workers import enqueue

    ctx = runtime.context()
    # a quarter of the job's time limit to take new batches, the rest to see them through
    try:
        result = drain.drain(ctx, budget_seconds=runtime.settings().task_time_limit_seconds / 4)
    except SoftTimeLimitExceeded:  # its unfinished batches are parked again: the next drain goes on
        result = {"outcome": "stopped at the time limit", "more": True}
    if result.get("more"):
        enqueue.send(self.app, jobs.SYNC_BATCH)
    return result


@task(jobs.TICKET_INTERACTION)
def ticket_interaction(self, job: dict):
    result = interactions.record_ticket_event(runtime.context(), job)
    metrics.TICKET_EVENTS.labels(result["outcome"]).inc()
    return result


@task(jobs.MERGE_PROFILES)
def merge_profiles(self, profile_id: str, merged_ids: list):
    return merge.merge_profiles(runtime.context(), profile_id, merged_ids)


@task(jobs.LINK_IDENTITY)
def link_identity(self, profile_id: str, zendesk_user_id: str | None = None):
    return linking.link_identity(runtime.context(), profile_id, zendesk_user_id)


@task(jobs.ZENDESK_USER_EVENT)
def zendesk_user_event(self, job: dict):
    return user_events.handle(runtime.context(), job)


@task(jobs.ERASE_PROFILE)
def erase_profile(self, profile_id: str, zendesk_user_id: str | None = None,
                  requested_at: float | None = None):
    return erasure.erase_profile(runtime.context(), profile_id, zendesk_user_id=zendesk_user_id,
                                 requested_at=requested_at, job_id=self.request.id)


@task(jobs.RECHECK_ERASURES)
def recheck_erasures(self):
    """Queue again each erasure that waits for its customer's tickets to close and was not looked
    at for an ERASURE_RECHECK_SECONDS (beat sends this as often)."""
    from workers import enqueue

    ctx = runtime.context()
    due = pending_erasures.take_due(ctx.redis, runtime.settings().erasure_recheck_seconds)
    for profile_id in due:
        enqueue.send(self.app, jobs.ERASE_PROFILE, profile_id)
    return {"outcome": "rechecked", "count": len(due)}


# A reconciliation task stops after this long and queues its own continuation, so it stays well
# inside the task time limit; watermarks are saved page by page, so nothing is redone.
RECONCILE_BUDGET_SECONDS = 200


@task(jobs.RECONCILE)
def reconcile(self, trigger: str = "beat"):
    from integration.reconcile import reconciliation
    from workers import enqueue

    ctx = runtime.context()

    def erase(profile_id: str, zendesk_user_id: str) -> None:
        enqueue.send(self.app, jobs.ERASE_PROFILE, profile_id,
                     zendesk_user_id=zendesk_user_id)

    # beat may run in several processes: a run that finished within half an interval counts
    interval = runtime.settings().reconcile_interval_seconds / 2 if trigger == "beat" else None
    report = reconciliation.run(ctx, erase=erase, trigger=trigger,
                                budget_seconds=RECONCILE_BUDGET_SECONDS, min_interval_seconds=interval)
    metrics.interactions_recovered().inc(report.get("counts", {}).get("interactions_recovered", 0))
    if report.get("complete") is False:
        enqueue.send(self.app, jobs.RECONCILE, trigger="continuation")
    return report


@task(jobs.AGENT_ACTION)
def agent_action(self, action_id: str, profile_id: str, zendesk_user_id: str):
    # the profile and requester are named so that erasure finds the job's dead letter
    result = perform.run(runtime.context(), action_id)
    if result.get("kind"):  # it ended now (not "already done", not an unknown action)
        metrics.AGENT_ACTIONS.labels(result["kind"], result["outcome"]).inc()
    return result
