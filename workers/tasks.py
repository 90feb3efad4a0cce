"""Thin tasks: each names its job and hands over to a plain function in `integration`."""
from __future__ import annotations

from celery import shared_task

from integration import sync
from workers import runtime
from workers.base import IntegrationTask


@shared_task(bind=True, base=IntegrationTask, name="omneo_zendesk.sync_profile")
def sync_profile(self, profile_id: str):
    ctx = runtime.context()
    ctx.state.release_pending_sync(profile_id, self.request.id)
    return sync.sync_profile(ctx, profile_id)
