"""A mass erasure against Zendesk's limit on permanent deletion: erasures a minute vs that ceiling.

    python3 bench/erasure_mass.py [--users 60] [--limit 10] [--window 10]

Starts a real stack (redis-server, both sandboxes, receiver, a worker on every queue but
`erasure` and one on `erasure`, concurrency 2 each), syncs `users` profiles, deletes them in Omneo
and posts a `profile.deleted` for each at once. The Zendesk sandbox allows `limit` permanent
deletions every `window` seconds (Zendesk: 700 every 600 s, which our own bucket of 70 a minute
follows; the default here, 60 a minute, is below it, so the sandbox's limit and its 429s are what
hold the purge). Prints erasures a minute, from the first post to the last user purged, against
the ceiling min(`limit` x 60 / `window`, 70), and how many 429s permanent deletion answered.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import redis
import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import new_stack, profile_body, ratio, say, signed_webhook, start_stack, table  # noqa: E402
from integration import jobs  # noqa: E402
from integration.store import keys
from integration.apis.ratelimit import ZENDESK_PURGE_PER_MINUTE  # noqa: E402
from integration.store.state import State  # noqa: E402
from integration.sandbox.devstack import wait_until  # noqa: E402


def post(dev, event: str, body: dict) -> None:
    raw, headers = signed_webhook(dev.env["OMNEO_WEBHOOK_SECRET"], body, event)
    r = requests.post(dev.urls["receiver"] + "/webhooks/omneo", data=raw, headers=headers, timeout=10)
    assert r.status_code == 202, r.text


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--users", type=int, default=60)
    ap.add_argument("--limit", type=int, default=10, help="permanent deletions a window")
    ap.add_argument("--window", type=float, default=10.0, help="the window, in seconds")
    args = ap.parse_args()
    dev = new_stack(RETRY_MAX_SECONDS=60, ZENDESK_REQUESTS_PER_MINUTE=100000)
    try:
        sandboxes = start_stack(dev)
        dev.start_worker("worker", queues=",".join(q for q in jobs.QUEUES if q != "erasure"))
        dev.start_worker("worker-erasure", queues="erasure")
        r = redis.Redis.from_url(dev.env["REDIS_URL"])
        state = State(r, lock_ttl_ms=60_000)
        ids = [f"mass-{n}" for n in range(args.users)]
        for n, pid in enumerate(ids):
            sandboxes.put_profile(**profile_body(pid, n))
            post(dev, "profile.created", {"id": pid})
        wait_until(lambda: all(state.synced_marks(ids).values()), 300, what="the syncs")
        say(f"{args.users} users synced")
        sandboxes.configure("zendesk", permanent_deletion_limit=args.limit,
                            permanent_deletion_window_seconds=args.window)
        for pid in ids:
            requests.delete(f"{sandboxes.omneo}/_sandbox/profiles/{pid}", timeout=5).raise_for_status()
        started = time.monotonic()
        for pid in ids:
            post(dev, "profile.deleted", {"id": pid})
        wait_until(lambda: r.llen(keys.ERASURE_AUDIT) >= args.users, 900, interval=0.2,
                   what="every erasure")
        took = time.monotonic() - started
        stats = sandboxes.stats()
        dead = r.zcard(keys.DLQ_INDEX)
    finally:
        dev.stop()
    ceiling = min(args.limit * 60 / args.window, ZENDESK_PURGE_PER_MINUTE)
    rate = args.users / took * 60
    print(table(f"Mass erasure vs the permanent-deletion limit ({args.limit} / {args.window:g} s)",
                ["users", "took (s)", "erasures / min", "ceiling / min", "of ceiling",
                 "429s from permanent deletion", "dead letters"],
                [[args.users, took, rate, ceiling, ratio(rate, ceiling),
                  stats.get("purge_rate_limited", 0), dead]],
                ["the first window's purges start at once (nothing was purged before): the rate "
                 "over a run of few windows is above what a long purge sustains",
                 "a 429 from permanent deletion pauses that endpoint only; waiting erasures wait in "
                 "Redis (the due set), not in a worker"]))


if __name__ == "__main__":
    main()
