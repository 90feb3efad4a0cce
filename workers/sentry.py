"""Errors to Sentry, when SENTRY_DSN is set, with no personal data in what leaves the process.

`send_default_pii` stays off, request bodies and local variables are not attached, and every
event and breadcrumb passes `scrub_event` / `scrub_breadcrumb`, which mask profile fields by key
and email addresses and phone numbers anywhere in text (workers.logs does the same for logs).
ERROR log records become events (a dead-lettered job logs one), INFO records breadcrumbs.
"""
from __future__ import annotations

import logging

import sentry_sdk
from sentry_sdk.integrations.celery import CeleryIntegration
from sentry_sdk.integrations.flask import FlaskIntegration
from sentry_sdk.integrations.logging import LoggingIntegration

from integration.settings.declared import Settings
from workers.logs import scrub


def scrub_event(event: dict, hint: dict | None = None) -> dict:
    """before_send: the event with personal fields and patterns masked, breadcrumbs included."""
    return scrub(event)


def scrub_breadcrumb(crumb: dict, hint: dict | None = None) -> dict:
    return scrub(crumb)


def init_sentry(settings: Settings, component: str, **options) -> bool:
    """Start the Sentry client for this process; False when no DSN is configured."""
    if not settings.sentry_dsn:
        return False
    sentry_sdk.init(
        dsn=settings.sentry_dsn,
        environment=settings.environment,
        send_default_pii=False,
        include_local_variables=False,
        max_request_body_size="never",
        before_send=scrub_event,
        before_breadcrumb=scrub_breadcrumb,
        integrations=[
            FlaskIntegration(),
            CeleryIntegration(),
            LoggingIntegration(level=logging.INFO, event_level=logging.ERROR),
        ],
        **options,
    )
    sentry_sdk.set_tag("component", component)
    return True


def trace_headers() -> dict:
    """The trace a job should continue, for a message built without Celery's `send_task` (which
    Sentry's Celery integration patches to add these): empty when Sentry is off."""
    if not sentry_sdk.get_client().is_active():
        return {}
    headers = {"sentry-trace": sentry_sdk.get_traceparent(), "baggage": sentry_sdk.get_baggage()}
    return {k: v for k, v in headers.items() if v}
