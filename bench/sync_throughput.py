"""Sync throughput: profiles synced per minute against the Zendesk sandbox holding a budget of R
requests a minute (its sliding window answers 429 beyond that), with ZENDESK_REQUESTS_PER_MINUTE=R
for our shared limiter. The ceiling is R itself: one new profile costs one Zendesk call
(create_or_update), so R profiles a minute is the most any client could move. An unthrottled
run beside it shows the machine is not what bounds the figure.

    python3 bench/sync_throughput.py [--rate 240] [--profiles 300]
"""
from __future__ import annotations

import argparse
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import (Sandboxes, new_stack, ratio, say, signed_webhook, start_stack,  # noqa: E402
                          table, wait_until)

AIM_SHARE, AIM_429 = 0.90, 0.01
UNLIMITED = 100_000  # the largest budget the settings accept


def seed(sb: Sandboxes, n: int, tag: str) -> list[str]:
    ids = []
    for i in range(n):
        pid = f"{tag}-{uuid.uuid4().hex[:12]}"
        sb.put_profile(id=pid, first_name=f"Sync{i}", last_name="Bench", email=f"{pid}@example.com",
                       mobile_phone="+61400000000", tier="gold")
        ids.append(pid)
    return ids


def run(dev, sb: Sandboxes, ids: list[str], timeout: float) -> dict:
    """Post one profile.updated webhook per profile; wait for every user; time from first post to
    the last user's write as the Zendesk sandbox recorded it."""
    import requests

    http = requests.Session()
    secret, url = dev.env["OMNEO_WEBHOOK_SECRET"], dev.urls["receiver"] + "/webhooks/omneo"
    prepared = [signed_webhook(secret, {"id": pid}) for pid in ids]
    stats0 = sb.stats("zendesk")
    t0 = time.time()
    for raw, headers in prepared:
        r = http.post(url, data=raw, headers=headers, timeout=10)
        if r.status_code != 202:
            raise RuntimeError(f"receiver answered {r.status_code}: {r.text[:200]}")
    wanted = set(ids)

    def all_synced():
        got = {k: v for k, v in sb.updated().items() if k in wanted}
        return got if len(got) == len(wanted) else None

    times = wait_until(all_synced, timeout, interval=0.5, what=f"{len(ids)} users in the Zendesk sandbox")
    stats1 = sb.stats("zendesk")
    elapsed = max(times.values()) - t0
    calls = stats1.get("calls", 0) - stats0.get("calls", 0)
    limited = stats1.get("rate_limited", 0) - stats0.get("rate_limited", 0)
    return {"n": len(ids), "elapsed": elapsed, "per_minute": len(ids) / elapsed * 60,
            "calls": calls, "limited": limited}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rate", type=int, default=240, help="R: the Zendesk budget, requests a minute")
    ap.add_argument("--profiles", type=int, default=None, help="default: 1.5 R (about 90 s)")
    ap.add_argument("--unthrottled", type=int, default=200, help="profiles in the unthrottled run")
    ap.add_argument("--concurrency", type=int, default=2, help="worker processes")
    args = ap.parse_args(argv)
    n = args.profiles or int(args.rate * 1.5)

    dev = new_stack(OMNEO_REQUESTS_PER_MINUTE=UNLIMITED)
    try:
        sb = start_stack(dev)

        say(f"unthrottled run: {args.unthrottled} profiles")
        fast = dev.start_worker("worker-unthrottled", concurrency=args.concurrency,
                                env={**dev.env, "ZENDESK_REQUESTS_PER_MINUTE": str(UNLIMITED)})
        ids = seed(sb, args.unthrottled, "warm")
        free = run(dev, sb, ids, timeout=120)
        fast.stop()
        say(f"  {free['per_minute']:.0f} profiles/min")

        say(f"budget run: R={args.rate}/min, {n} profiles")
        sb.configure("zendesk", rate_per_minute=args.rate)  # a fresh window
        dev.start_worker("worker-budget", concurrency=args.concurrency,
                         env={**dev.env, "ZENDESK_REQUESTS_PER_MINUTE": str(args.rate)})
        ids = seed(sb, n, "sync")
        res = run(dev, sb, ids, timeout=n / args.rate * 60 * 3 + 60)
        say(f"  {res['per_minute']:.0f} profiles/min, {res['calls']} calls, {res['limited']} met 429")
    finally:
        dev.stop()

    share_429 = res["limited"] / res["calls"] if res["calls"] else 0.0
    ok = res["per_minute"] >= AIM_SHARE * args.rate and share_429 < AIM_429
    rows = [
        ["budget R (ceiling)", f"{args.rate}", "100%", "", "", ""],
        [f"single syncs, budget R ({res['n']} profiles)", f"{res['per_minute']:.0f}",
         ratio(res["per_minute"], args.rate), f"{res['elapsed']:.1f}", f"{res['calls']}",
         f"{res['limited']} ({share_429:.1%})"],
        [f"single syncs, unthrottled ({free['n']} profiles)", f"{free['per_minute']:.0f}",
         ratio(free["per_minute"], args.rate), f"{free['elapsed']:.1f}", f"{free['calls']}",
         f"{free['limited']}"],
    ]
    print(table(f"Sync throughput: profiles per minute, Zendesk budget R = {args.rate} requests/min",
                ["run", "profiles/min", "of R", "seconds", "Zendesk calls", "calls that met 429"], rows,
                notes=[f"{args.concurrency} worker processes; each profile is new, so a sync is one Zendesk "
                       "call (create_or_update) plus two Omneo calls (profile, identity; Omneo unthrottled); "
                       "the first sync also reads and creates the tier user field",
                       "time runs from the first webhook posted to the last user write recorded by the sandbox",
                       "the unthrottled run shows what this machine could move with no budget: the budget, "
                       "not the machine, bounds the first row",
                       f"aim: >= {AIM_SHARE:.0%} of R with < {AIM_429:.0%} of calls meeting 429: "
                       + ("**met**" if ok else "**missed**")]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
