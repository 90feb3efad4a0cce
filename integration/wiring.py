"""Wires settings to the clients and stores one process uses; built once per process."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import redis

from integration.store import connection
from integration.store.dead_letters import DeadLetters
from integration.apis.omneo import OmneoClient
from integration.apis.ratelimit import ZENDESK_EXPORT_PER_MINUTE, RedisTokenBucket
from integration.settings.declared import Settings
from integration.store.state import State
from integration.apis.zendesk import ZendeskClient, zendesk_client
from integration.store import connection
from integration.store.dead_letters import DeadLetters
from integration.apis.omneo import OmneoClient
from integration.apis.ratelimit import (PURGE_MAX_WAIT_SECONDS, ZENDESK_EXPORT_PER_MINUTE,
                                   ZENDESK_PURGE_PER_MINUTE, RedisTokenBucket)
from integration.settings.declared import Settings
from integration.store.state import State
from integration.apis.zendesk import ZendeskClient, zendesk_client


@dataclass
class Context:
    settings: Settings
    redis: redis.Redis
    omneo: OmneoClient
    zendesk: ZendeskClient
    state: State
    dead_letters: DeadLetters


connect_redis = connection.connect  # the one connection maker, under the name callers use


def build_context(settings: Settings, client: redis.Redis | None = None,
                  on_call: Callable[[str, int | None], None] | None = None,
                  on_wait: Callable[[str, float], None] | None = None) -> Context:
    r = client or connect_redis(settings)
    omneo = OmneoClient(
        settings.omneo_base_url, settings.omneo_api_token, settings.http_timeout_seconds,
        limiter=RedisTokenBucket(r, "omneo", settings.omneo_requests_per_minute, on_wait=on_wait),
        on_call=on_call)
    zendesk = zendesk_client(
        settings, r,
        limiter=RedisTokenBucket(r, "zendesk", settings.zendesk_requests_per_minute, on_wait=on_wait,
                                 reserve_percent=settings.zendesk_budget_reserve_percent),
        export_limiter=RedisTokenBucket(r, "zendesk_export", ZENDESK_EXPORT_PER_MINUTE,
                                        max_wait=90.0, on_wait=on_wait,
                                        endpoint="incremental export"),
        purge_limiter=RedisTokenBucket(r, "zendesk_purge", ZENDESK_PURGE_PER_MINUTE,
                                       max_wait=PURGE_MAX_WAIT_SECONDS, on_wait=on_wait,
                                       endpoint="permanent user deletion"),
        on_call=on_call)
    state = State(r, lock_ttl_ms=int(settings.profile_lock_ttl_seconds * 1000))
    return Context(settings, r, omneo, zendesk, state, DeadLetters(r, settings.dlq_retention_days))
