"""The two clients onboarding calls, and the receiver URLs it registers."""
from __future__ import annotations

import fakeredis

from integration.apis.omneo import OmneoClient
from integration.apis.zendesk import ZendeskClient, zendesk_client
from integration.settings.declared import Settings


def clients(settings: Settings, redis=None) -> tuple[OmneoClient, ZendeskClient]:
    """Clients without the shared Redis limiter: onboarding makes a handful of calls and must
    work before Redis does. The OAuth token is shared through `redis` when given; without it
    (Redis not answering) this command keeps a token of its own."""
    omneo = OmneoClient(settings.omneo_base_url, settings.omneo_api_token, settings.http_timeout_seconds)
    if redis is None and settings.zendesk_auth_mode == "client_credentials":
        redis = fakeredis.FakeRedis()
    return omneo, zendesk_client(settings, redis)


def receiver_urls(public_url: str) -> dict[str, str]:
    base = public_url.rstrip("/")
    return {"omneo": f"{base}/webhooks/omneo", "zendesk": f"{base}/webhooks/zendesk"}
