"""Whether Redis may drop our keys, and how close it is to its memory limit.

Read from `INFO memory` (`maxmemory_policy`, `used_memory`, `maxmemory`), never `CONFIG GET`:
managed services (ElastiCache, Azure Cache, Memorystore) refuse CONFIG. Everything durable lives
in this Redis, so anything but `noeviction` is wrong: when memory runs out Redis would drop keys
silently instead of refusing writes (a refused write is a 503 the sender retries, or a job that
waits). `check`, `/readyz`, the metrics and every process's start-up log ask here.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

log = logging.getLogger("omneo_zendesk.redis")

NOEVICTION = "noeviction"
HEADROOM_WARN = 0.8  # of maxmemory used: warn, before writes are refused
_ANY_KEY = ("queued jobs, due retries, dead letters, sync watermarks, erasure tombstones and "
            "the reconciliation's watermarks")
_TTL_KEYS = ("delivery dedupe marks, profile locks, pending-sync marks and erasure tombstones "
             "(deliveries may then run twice, two jobs may work on one profile, an erased "
             "profile may be re-created)")


@dataclass(frozen=True)
class Memory:
    policy: str | None  # None: the server did not say
    used: int | None
    maxmemory: int | None  # 0: no limit

    @property
    def share_used(self) -> float | None:
        return self.used / self.maxmemory if self.used is not None and self.maxmemory else None


def read(client) -> Memory:
    info = client.info("memory")

    def number(name):
        try:
            return int(info[name])
        except (KeyError, TypeError, ValueError):
            return None

    policy = info.get("maxmemory_policy")
    return Memory(policy.decode() if isinstance(policy, bytes) else policy,
                  number("used_memory"), number("maxmemory"))


def would_drop(policy: str) -> str:
    """What Redis would drop under this eviction policy when memory runs out."""
    if policy.startswith("allkeys-"):
        return "any key: " + _ANY_KEY
    if policy.startswith("volatile-"):
        return "keys with a TTL: " + _TTL_KEYS
    return "keys it chooses"


def eviction_problem(memory: Memory) -> str | None:
    """Why this Redis may lose our keys, in one sentence; None when it will not."""
    if memory.policy is None or memory.policy == NOEVICTION:
        return None
    return (f"maxmemory-policy is {memory.policy}: when memory runs out Redis drops "
            f"{would_drop(memory.policy)}; set it to noeviction")


def describe(memory: Memory) -> str:
    mib = lambda n: f"{n / 2**20:.0f} MiB"  # noqa: E731
    used = mib(memory.used) if memory.used is not None else "unknown"
    limit = mib(memory.maxmemory) if memory.maxmemory else "no maxmemory"
    share = f" ({memory.share_used:.0%})" if memory.share_used is not None else ""
    return f"maxmemory-policy {memory.policy or 'unknown'}, used {used} of {limit}{share}"


def log_at_start(client, component: str) -> None:
    """One line at start: a loud warning when Redis may drop our keys or is nearly full."""
    try:
        memory = read(client)
    except Exception as exc:  # Redis not answering yet: the process reconnects by itself
        log.info("redis memory not read at start (%s)", type(exc).__name__, extra={"component": component})
        return
    extra = {"component": component, "maxmemory_policy": memory.policy,
             "used_memory": memory.used, "maxmemory": memory.maxmemory}
    problem = eviction_problem(memory)
    if problem:
        log.warning("REDIS MAY DROP OUR KEYS: %s (%s)", problem, describe(memory), extra=extra)
    elif memory.share_used is not None and memory.share_used >= HEADROOM_WARN:
        log.warning("redis nearly full: %s; writes are refused at maxmemory", describe(memory),
                    extra=extra)
    else:
        log.info("redis memory: %s", describe(memory), extra=extra)
