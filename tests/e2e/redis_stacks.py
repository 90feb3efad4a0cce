"""Stacks of real processes on production-shaped Redis (integration/sandbox/redis_topology.py) for the
e2e tests."""
from __future__ import annotations

import redis

from integration.store.connection import parse
from integration.sandbox.devstack import DevStack
from integration.sandbox.redis_topology import start_tls_redis
from tests.e2e.conftest import Stack, start_stack

ACL_PASSWORD = "acl-user-password-7f3a"


def client_for(url: str) -> redis.Redis:
    t = parse(url)
    return redis.Redis(host=t.host, port=t.port, **t.client_kwargs())


def start_tls_stack(log_dir, extra_env: dict | None = None, workers: int = 1,
                    concurrency: int = 2) -> DevStack:
    """Receiver and workers on TLS with client certificates, as the least-privilege ACL user."""
    def tls_redis(dev: DevStack) -> None:
        _, dev.admin_url = start_tls_redis(dev, ACL_PASSWORD)

    return start_stack(log_dir, extra_env, workers, concurrency, start_redis=tls_redis)


def tls_stack(dev: DevStack) -> Stack:
    """The test's view of the stack; its own Redis connection is the admin's (flush, inspect)."""
    s = Stack.__new__(Stack)
    s.dev, s.env = dev, dev.env
    s.redis = client_for(dev.admin_url)
    s.zendesk, s.omneo = dev.urls["zendesk_sandbox"], dev.urls["omneo_sandbox"]
    return s
