"""Backfill throughput against the Zendesk request budget.

    python bench/backfill.py [--profiles 3000] [--budgets 30,60,240]

Starts redis-server and both sandboxes as real processes, seeds the Omneo sandbox with
`--profiles` profiles, and for each Zendesk budget R (requests a minute, given to our shared
limiter as ZENDESK_REQUESTS_PER_MINUTE) runs the backfill from scratch and reports:
- users/min measured (profiles synced / wall time of the whole backfill);
- the ceiling 100 x R (every request a 100-user bulk job, nothing else);
- their ratio, and the Zendesk requests actually spent (bulk posts, job polls, setup);
- the Omneo requests a second and the machine's load average, to tell which side set the pace.
Omneo gets a budget high enough not to be what is measured (in production the one identity
write per newly linked profile makes OMNEO_REQUESTS_PER_MINUTE a second ceiling). The sandbox's
own rate limit is off: the budget is held by our limiter. This is a benchmark, not a test.
"""
from __future__ import annotations

import argparse
import collections
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import redis  # noqa: E402
import requests  # noqa: E402

from integration.bulk.backfill import Backfill  # noqa: E402
from integration.wiring import build_context  # noqa: E402
from integration.settings.declared import load_settings  # noqa: E402
from integration.sandbox.devstack import DevStack  # noqa: E402


def run_once(dev: DevStack, profiles: int, budget: int) -> dict:
    r = redis.Redis.from_url(dev.env["REDIS_URL"])
    r.flushall()
    for url in (dev.urls["zendesk_sandbox"], dev.urls["omneo_sandbox"]):
        requests.post(url + "/_sandbox/reset", timeout=10).raise_for_status()
    requests.post(dev.urls["omneo_sandbox"] + "/_sandbox/profiles/bulk", timeout=60,
                  json={"count": profiles, "prefix": "bench-"}).raise_for_status()
    settings = load_settings({**dev.env, "ZENDESK_REQUESTS_PER_MINUTE": str(budget),
                              "OMNEO_REQUESTS_PER_MINUTE": "100000"})
    calls = collections.Counter()
    ctx = build_context(settings, on_call=lambda api, status: calls.update([api]))
    started = time.monotonic()
    result = Backfill(ctx).run()
    elapsed = time.monotonic() - started
    users = requests.get(dev.urls["zendesk_sandbox"] + "/_sandbox/users", timeout=30).json()["users"]
    assert result["finished"] and len(users) == profiles, (result, len(users))
    per_minute = profiles / elapsed * 60
    return {"budget": budget, "seconds": elapsed, "users_per_minute": per_minute,
            "ceiling": 100 * budget, "ratio": per_minute / (100 * budget),
            "zendesk_requests": calls["zendesk"], "omneo_requests": calls["omneo"]}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profiles", type=int, default=3000)
    parser.add_argument("--budgets", default="30,60,240",
                        help="Zendesk requests a minute to try, comma-separated")
    args = parser.parse_args(argv)
    budgets = [int(b) for b in args.budgets.split(",") if b.strip()]

    dev = DevStack(tempfile.mkdtemp(prefix="bench-backfill-"))
    try:
        dev.start_redis()
        dev.start_sandboxes()
        print(f"backfill of {args.profiles} profiles, bulk jobs of 100, up to 25 jobs in flight")
        print(f"{'budget R/min':>12} {'seconds':>8} {'users/min':>10} {'ceiling 100R':>13} "
              f"{'ratio':>6} {'zendesk req':>12} {'omneo req':>10} {'omneo req/s':>12} {'load':>5}")
        for budget in budgets:
            m = run_once(dev, args.profiles, budget)
            print(f"{m['budget']:>12} {m['seconds']:>8.1f} {m['users_per_minute']:>10.0f} "
                  f"{m['ceiling']:>13} {m['ratio']:>6.2f} {m['zendesk_requests']:>12} "
                  f"{m['omneo_requests']:>10} {m['omneo_requests'] / m['seconds']:>12.0f} "
                  f"{os.getloadavg()[0]:>5.1f}", flush=True)
        print("reading: a ratio well below 1 while omneo req/s stays flat across budgets means the Omneo identity writes "
              "(or this machine's load) set the pace, not the Zendesk budget")
    finally:
        dev.stop()


if __name__ == "__main__":
    main()
