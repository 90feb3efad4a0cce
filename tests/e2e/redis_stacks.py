"""Stacks of real processes on production-shaped Redis (integration/sandbox/redis_topology.py) for the
e2e tests."""
from __future__ import annotations

import os

import redis

from integration.redis_conn import parse
from tests.e2e.conftest import FAST_RETRIES, Stack
from integration.sandbox.devstack import DevStack
from integration.sandbox.redis_topology import start_tls_redis

ACL_PASSWORD = "acl-user-password-7f3a"


def client_for(url: str) -> redis.Redis:
    t = parse(url)
    return redis.Redis(host=t.host, port=t.port, **t.client_kwargs())


def new_dev(log_dir, extra_env: dict | None = None) -> DevStack:
    dev = DevStack(log_dir, base_env={
        k: v for k, v in os.environ.items() if not k.startswith(("OMNEO_", "ZENDESK_", "REDIS_"))})
    dev.env.update(FAST_RETRIES, **(extra_env or {}))
    return dev


def start_tls_stack(log_dir, extra_env: dict | None = None, workers: int = 1,
                    concurrency: int = 2) -> DevStack:
    """Receiver and workers on TLS with client certificates, as the least-privilege ACL user."""
    dev = new_dev(log_dir, extra_env)
    try:
        _, dev.admin_url = start_tls_redis(dev, ACL_PASSWORD)
        dev.start_sandboxes()
        dev.start_receiver()
        for i in range(workers):
            dev.start_worker("worker" if i == 0 else f"worker-{i + 1}", concurrency=concurrency)
    except BaseException:
        dev.stop()
        raise
    return dev


def tls_stack(dev: DevStack) -> Stack:
    """The test's view of the stack; its own Redis connection is the admin's (flush, inspect)."""
    s = Stack.__new__(Stack)
    s.dev, s.env = dev, dev.env
    s.redis = client_for(dev.admin_url)
    s.zendesk, s.omneo = dev.urls["zendesk_sandbox"], dev.urls["omneo_sandbox"]
    return s
