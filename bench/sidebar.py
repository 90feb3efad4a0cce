"""Sidebar latency, cold, warm and with Omneo down, against a baseline measured in the same run.

    python bench/sidebar.py [--profiles 40] [--rounds 5] [--omneo-latency 0.05] [--down-views 20]

Starts Redis, the Omneo sandbox (each call delayed by --omneo-latency, like a remote API) and the
receiver under gunicorn as real processes, seeds profiles with rewards, and times
`GET /sidebar/profile` over HTTP with a token like the one Zendesk's proxy signs:
- baseline: `GET /healthz` on the same server, same client (the cost of a round trip);
- cold: the first view of each profile (the requester read from the Zendesk sandbox, resolved,
  four Omneo calls, caches filled);
- warm: the same views again, answered from the Redis cache;
- one direct Omneo call, to express the cold path in Omneo round trips;
- Omneo down (every call 503) and Omneo hanging (every call takes --hang seconds): the agent's
  refresh (`?refresh=1`, past the cache) of customers seen before, answered with the last-known
  view; the hanging case is bounded by SIDEBAR_OMNEO_DEADLINE_SECONDS, its own ceiling here.
Ratios are p50/p50 and p95/p95 against the baseline. This is a benchmark, not a test.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import jwt  # noqa: E402
import redis  # noqa: E402
import requests  # noqa: E402

from integration.store import keys  # noqa: E402
from integration.sandbox.devstack import DevStack  # noqa: E402


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))]


def timed(session: requests.Session, url: str, headers: dict | None = None) -> float:
    started = time.perf_counter()
    resp = session.get(url, headers=headers, timeout=30)
    elapsed = time.perf_counter() - started
    resp.raise_for_status()
    return elapsed


def timed_stale(session: requests.Session, url: str, headers: dict) -> float:
    """A view that must be the last-known one (Omneo is down)."""
    started = time.perf_counter()
    resp = session.get(url, headers=headers, timeout=30)
    elapsed = time.perf_counter() - started
    resp.raise_for_status()
    if not resp.json().get("stale"):
        raise SystemExit(f"expected the last-known view, got {resp.text[:200]}")
    return elapsed


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profiles", type=int, default=40, help="distinct customers (cold views)")
    parser.add_argument("--rounds", type=int, default=5, help="warm views of each customer")
    parser.add_argument("--omneo-latency", type=float, default=0.05,
                        help="seconds the Omneo sandbox takes per call")
    parser.add_argument("--down-views", type=int, default=20,
                        help="views timed in each Omneo-down case")
    parser.add_argument("--hang", type=float, default=5.0,
                        help="seconds a hanging Omneo takes per call (past the deadline)")
    args = parser.parse_args(argv)

    dev = DevStack(tempfile.mkdtemp(prefix="bench-sidebar-"))
    try:
        dev.start_redis()
        # our own limiter must not be what is measured
        dev.start_sandboxes(extra={"OMNEO_REQUESTS_PER_MINUTE": "100000",
                                   "ZENDESK_REQUESTS_PER_MINUTE": "100000"})
        receiver = dev.start_receiver()
        omneo = dev.urls["omneo_sandbox"]
        secret = dev.env["ZENDESK_APP_SECRET"]
        r = redis.Redis.from_url(dev.env["REDIS_URL"])

        for n in range(args.profiles):
            pid = f"bench-{n}"
            # the requester as Zendesk has them: the service reads who they are there
            requests.post(f"{dev.urls['zendesk_sandbox']}/_sandbox/users", timeout=10, json={
                "id": 10_000 + n, "name": f"Customer {n}",
                "email": f"customer{n}@example.com"}).raise_for_status()
            requests.post(f"{omneo}/_sandbox/profiles?emit=0", timeout=10, json={
                "id": pid, "first_name": "Customer", "last_name": str(n),
                "email": f"customer{n}@example.com", "tier": "gold",
                "identities": [{"handle": "zendesk", "identifier": str(10_000 + n)}]}).raise_for_status()
            requests.post(f"{omneo}/_sandbox/profiles/{pid}/rewards", timeout=10, json={
                "balances": {"reward_balance": 10, "credit_balance": 5, "point_balance": 100},
                "benefits": [{"name": "Voucher", "expires_at": "2099-01-01 00:00:00"}],
                "transactions": [{"transacted_at": f"2026-01-{d:02d} 10:00:00", "location": "Store",
                                  "total": 20, "items": 2} for d in range(1, 9)]}).raise_for_status()
        requests.post(f"{omneo}/_sandbox/config", json={"latency": args.omneo_latency},
                      timeout=10).raise_for_status()

        tokens = {n: {"Authorization": "Bearer " + jwt.encode(
            {"zendesk_user_id": 10_000 + n, "exp": int(time.time()) + 590}, secret, algorithm="HS256")}
            for n in range(args.profiles)}
        session = requests.Session()
        url = receiver + "/sidebar/profile"
        for _ in range(20):  # warm up connections and the app's own lazy parts
            timed(session, receiver + "/healthz")
        timed(session, url, tokens[0])
        for key in r.scan_iter(f"{keys.PREFIX}:cache:*"):
            r.delete(key)

        baseline, cold, warm = [], [], []
        calls_before = requests.get(f"{omneo}/_sandbox/stats", timeout=10).json().get("calls", 0)
        for n in range(args.profiles):
            baseline.append(timed(session, receiver + "/healthz"))
            cold.append(timed(session, url, tokens[n]))
        calls_cold = requests.get(f"{omneo}/_sandbox/stats", timeout=10).json().get("calls", 0)
        for _ in range(args.rounds):
            for n in range(args.profiles):
                baseline.append(timed(session, receiver + "/healthz"))
                warm.append(timed(session, url, tokens[n]))
        calls_warm = requests.get(f"{omneo}/_sandbox/stats", timeout=10).json().get("calls", 0)
        # one Omneo round trip as this machine sees it, to count the cold path in round trips
        auth = {"Authorization": f"Bearer {dev.env['OMNEO_API_TOKEN']}"}
        omneo_call = [timed(session, f"{omneo}/api/v3/profiles/bench-{n % args.profiles}", auth)
                      for n in range(20)]
        down, hanging = [], []
        requests.post(f"{omneo}/_sandbox/config", timeout=10, json={
            "latency": 0, "fail": [{"path": ".", "status": 503, "count": 10 ** 6}]}).raise_for_status()
        for n in range(args.down_views):
            down.append(timed_stale(session, url + "?refresh=1", tokens[n % args.profiles]))
        requests.post(f"{omneo}/_sandbox/config", timeout=10,
                      json={"latency": args.hang, "fail": []}).raise_for_status()
        for n in range(args.down_views):
            hanging.append(timed_stale(session, url + "?refresh=1", tokens[n % args.profiles]))
        deadline = float(dev.env.get("SIDEBAR_OMNEO_DEADLINE_SECONDS", 1.5))
    finally:
        dev.stop()

    base50, base95 = percentile(baseline, 50), percentile(baseline, 95)
    print(f"sidebar latency: {args.profiles} customers, {args.rounds} warm rounds, "
          f"Omneo sandbox latency {args.omneo_latency * 1000:.0f} ms per call")
    print(f"{'':<22}{'n':>6}{'p50 ms':>10}{'p95 ms':>10}{'p50 ratio':>12}{'p95 ratio':>12}")
    for name, samples in (("baseline (/healthz)", baseline), ("cold (Omneo)", cold),
                          ("warm (Redis cache)", warm), ("Omneo down (503s)", down),
                          (f"Omneo hanging ({args.hang:g} s)", hanging)):
        p50, p95 = percentile(samples, 50), percentile(samples, 95)
        print(f"{name:<22}{len(samples):>6}{p50 * 1000:>10.2f}{p95 * 1000:>10.2f}"
              f"{p50 / base50:>11.1f}x{p95 / base95:>11.1f}x")
    print(f"Omneo calls per view: cold {(calls_cold - calls_before) / args.profiles:.1f}, "
          f"warm {(calls_warm - calls_cold) / (args.profiles * args.rounds):.1f}")
    trip = percentile(omneo_call, 50)
    print(f"one Omneo round trip (p50, direct): {trip * 1000:.2f} ms; cold p50 = "
          f"{percentile(cold, 50) / trip:.1f} round trips (the four calls one after another: 4+)")
    for name, samples in (("down", down), ("hanging", hanging)):
        p95 = percentile(samples, 95)
        print(f"Omneo {name}: last-known view served {len(samples)}/{len(samples)}, p95 "
              f"{p95:.2f} s = {p95 / deadline:.2f}x the {deadline:g} s deadline; aim p95 < 2.5 s: "
              f"{'met' if p95 < 2.5 else 'NOT met'}")


if __name__ == "__main__":
    main()
