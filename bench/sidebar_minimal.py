"""Sidebar latency (the minimal one; bench/run_all.py prefers bench/sidebar.py when there is one):
GET /sidebar/profile with a signed JWT, as Zendesk's proxy sends it, p50 and p95.
Cold: neither the view nor the requester's profile link is cached, so Omneo is asked (identity
search, then profile, balances, benefits and transactions). Warm: the same requesters again,
served from the Redis cache. Ceilings, measured in the same run: one direct Omneo sandbox round
trip (cold), and a bare Flask GET under the same gunicorn settings (warm).

    python3 bench/sidebar_minimal.py [--customers 100]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import jwt  # noqa: E402
import requests  # noqa: E402

from bench.common import Sandboxes, new_stack, pct, say, table  # noqa: E402
from web.devstack import SANDBOX_OMNEO_TOKEN  # noqa: E402


def seed(sb: Sandboxes, n: int) -> list[str]:
    users = []
    for i in range(n):
        user_id = str(37_000_000_000 + i)
        pid = f"side-{i}"
        sb.put_profile(id=pid, first_name=f"Side{i}", last_name="Bench", email=f"{pid}@example.com",
                       tier="silver", identities=[{"handle": "zendesk", "identifier": user_id}])
        sb.http.post(f"{sb.omneo}/_sandbox/profiles/{pid}/rewards", timeout=10, json={
            "balances": {"reward_balance": 15, "credit_balance": 20, "point_balance": 300,
                         "point_balance_dollars": 3, "combined_balance_dollars": 18},
            "benefits": [{"name": "Welcome gift", "expires_at": "2099-12-31 23:59:59"}],
            "transactions": [{"transacted_at": f"2026-10-0{d} 09:30:00", "location": "Sydney CBD",
                              "total": 50 + d, "items": d} for d in range(1, 8)],
        }).raise_for_status()
        users.append(user_id)
    return users


def timed_gets(http: requests.Session, url: str, headers_list: list[dict]) -> list[float]:
    out = []
    for headers in headers_list:
        t0 = time.perf_counter()
        r = http.get(url, headers=headers, timeout=20)
        out.append(time.perf_counter() - t0)
        if r.status_code != 200:
            raise RuntimeError(f"{url} answered {r.status_code}: {r.text[:200]}")
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--customers", type=int, default=100)
    args = ap.parse_args(argv)

    dev = new_stack(OMNEO_REQUESTS_PER_MINUTE=100_000, SIDEBAR_CACHE_SECONDS=600)
    try:
        dev.start_redis()
        dev.start_sandboxes()
        receiver = dev.start_receiver(processes=2)
        bare = dev.start_wsgi("bare-flask", "bench.bare_app:application", processes=2)
        sb = Sandboxes(dev)
        users = seed(sb, args.customers)
        secret = dev.env["ZENDESK_APP_SECRET"]

        def bearer(user_id: str) -> dict:
            token = jwt.encode({"zendesk_user_id": user_id, "exp": int(time.time()) + 300}, secret,
                               algorithm="HS256")
            return {"Authorization": f"Bearer {token}"}

        http = requests.Session()
        omneo = requests.Session()
        omneo.headers["Authorization"] = f"Bearer {SANDBOX_OMNEO_TOKEN}"
        say("ceilings")
        one_call = timed_gets(omneo, dev.env["OMNEO_BASE_URL"] + "/profiles/side-0", [{}] * args.customers)
        bare_get = timed_gets(http, bare + "/healthz", [{}] * args.customers)
        say("cold, then warm")
        url = receiver + "/sidebar/profile"
        cold = timed_gets(http, url, [bearer(u) for u in users])
        calls = sb.stats("omneo").get("calls", 0)
        warm = timed_gets(http, url, [bearer(u) for u in users])
        warm_calls = sb.stats("omneo").get("calls", 0) - calls
    finally:
        dev.stop()

    ms = lambda v: f"{v * 1000:.1f}"  # noqa: E731
    rows = [
        ["one direct Omneo sandbox GET (cold ceiling)", len(one_call), ms(pct(one_call, 50)),
         ms(pct(one_call, 95)), "1.0x"],
        ["sidebar, cold (cache empty)", len(cold), ms(pct(cold, 50)), ms(pct(cold, 95)),
         f"{pct(cold, 50) / pct(one_call, 50):.1f}x"],
        ["bare Flask GET, same gunicorn (warm ceiling)", len(bare_get), ms(pct(bare_get, 50)),
         ms(pct(bare_get, 95)), "1.0x"],
        ["sidebar, warm (cached)", len(warm), ms(pct(warm, 50)), ms(pct(warm, 95)),
         f"{pct(warm, 50) / pct(bare_get, 50):.1f}x"],
    ]
    print(table("Sidebar: GET /sidebar/profile latency, one agent at a time",
                ["case", "n", "p50 ms", "p95 ms", "p50 vs its ceiling"], rows,
                notes=[f"{args.customers} customers with rewards, each requested once cold and once warm; "
                       f"warm requests made {warm_calls} Omneo calls",
                       "cold = an identity search, then profile, balances, benefits and transactions "
                       "fetched concurrently; its ceiling is one Omneo round trip, so about 2x is the floor"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
