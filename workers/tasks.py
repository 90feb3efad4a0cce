"""Thin tasks: each names its job and hands over to a plain function in `integration`."""
from __future__ import annotations

from celery import shared_task

from integration import interactions, sync
from workers import metrics, runtime
from workers.base import IntegrationTask


@shared_task(bind=True, base=IntegrationTask, name="omneo_zendesk.sync_profile")
def sync_profile(self, profile_id: str):
    ctx = runtime.context()
    ctx.state.release_pending_sync(profile_id, self.request.id)
    return sync.sync_profile(ctx, profile_id)


@shared_task(bind=True, base=IntegrationTask, name="omneo_zendesk.ticket_interaction")
def ticket_interaction(self, job: dict):
    result = interactions.record_ticket_event(runtime.context(), job)
    metrics.TICKET_EVENTS.labels(result["outcome"]).inc()
    return result
