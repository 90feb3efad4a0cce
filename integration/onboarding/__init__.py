"""What `omneo-zendesk check` and `setup` do, as plain functions over the two clients.

`checks` reads and never writes; `registration` registers our webhooks (and the tier field)
idempotently; both report in `Row`s. The names below are the package's whole interface.
"""
from __future__ import annotations

from integration.omneo import OmneoClient
from integration.onboarding.checks import (check_erasures, check_omneo, check_receiver, check_redis, check_redis_memory,
                                           check_zendesk)
from integration.onboarding.registration import (OMNEO_TRIGGERS, ZENDESK_USER_WEBHOOK_NAME,
                                                  ZENDESK_WEBHOOK_NAME, ensure_omneo_webhooks,
                                                  ensure_user_fields, ensure_zendesk_user_webhook,
                                                  ensure_zendesk_webhook, list_omneo_webhooks,
                                                  zendesk_subscriptions)
from integration.onboarding.rows import Row
from integration.settings import Settings
from integration.zendesk import ZendeskClient, zendesk_client

__all__ = ["OMNEO_TRIGGERS", "ZENDESK_USER_WEBHOOK_NAME", "ZENDESK_WEBHOOK_NAME", "Row",
           "check_erasures", "check_omneo", "check_receiver", "check_redis", "check_redis_memory", "check_zendesk", "clients",
           "ensure_omneo_webhooks", "ensure_user_fields", "ensure_zendesk_user_webhook",
           "ensure_zendesk_webhook", "list_omneo_webhooks", "receiver_urls", "zendesk_subscriptions"]


def clients(settings: Settings, redis=None) -> tuple[OmneoClient, ZendeskClient]:
    """Clients without the shared Redis limiter: onboarding makes a handful of calls and must
    work before Redis does. The OAuth token is shared through `redis` when given; without it
    (Redis not answering) this command keeps a token of its own."""
    omneo = OmneoClient(settings.omneo_base_url, settings.omneo_api_token, settings.http_timeout_seconds)
    if redis is None and settings.zendesk_auth_mode == "client_credentials":
        import fakeredis

        redis = fakeredis.FakeRedis()
    return omneo, zendesk_client(settings, redis)


def receiver_urls(public_url: str) -> dict[str, str]:
    base = public_url.rstrip("/")
    return {"omneo": f"{base}/webhooks/omneo", "zendesk": f"{base}/webhooks/zendesk"}
