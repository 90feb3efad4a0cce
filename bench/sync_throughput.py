"""Sync throughput: profiles synced per minute against the Zendesk sandbox holding a budget of R
requests a minute (its sliding window answers 429 beyond that), with ZENDESK_REQUESTS_PER_MINUTE=R
for our shared limiter. The ceiling is R itself: one new profile costs one Zendesk call
(create_or_update), so R profiles a minute is the most any client could move. An unthrottled
run beside it shows the machine is not what bounds the figure.

Single syncs are measured below BULK_SYNC_THRESHOLD: the webhooks are fed so that fewer syncs wait
than the threshold, so none is parked and each runs alone. A burst above it follows: every webhook
posted at once, so the receiver parks them and a drain sends them 100 a bulk job. Each run starts
once the one before it has finished all its work (identities and marks included).

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
                          table, wait_settled, wait_until)

AIM_SHARE, AIM_429 = 0.90, 0.01


def new_stack_threshold() -> str:
    from integration.settings.declared import SETTINGS
    return next(s.default for s in SETTINGS if s.env == "BULK_SYNC_THRESHOLD")
UNLIMITED = 100_000  # the largest budget the settings accept


def seed(sb: Sandboxes, n: int, tag: str) -> list[str]:
    ids = []
    for i in range(n):
        pid = f"{tag}-{uuid.uuid4().hex[:12]}"
        sb.put_profile(id=pid, first_name=f"Sync{i}", last_name="Bench", email=f"{pid}@example.com",
                       mobile_phone="+61400000000", tier="gold")
        ids.append(pid)
    return ids


def run(dev, sb: Sandboxes, ids: list[str], timeout: float, below: int | None = None) -> dict:
    """Post one profile.updated webhook per profile; wait for every user; time from first post to
    the last user's write as the Zendesk sandbox recorded it. With `below`, a webhook is posted
    only while fewer than `below` syncs wait (none is then parked); without, all back to back."""
    import redis
    import requests

    r = redis.Redis.from_url(dev.env["REDIS_URL"])
    http = requests.Session()
    secret, url = dev.env["OMNEO_WEBHOOK_SECRET"], dev.urls["receiver"] + "/webhooks/omneo"
    prepared = [signed_webhook(secret, {"id": pid}) for pid in ids]
    stats0 = sb.stats("zendesk")
    parked = 0
    t0 = time.time()
    for raw, headers in prepared:
        while below is not None and r.llen("sync") >= below:
            time.sleep(0.01)
        answer = http.post(url, data=raw, headers=headers, timeout=10)
        if answer.status_code != 202:
            raise RuntimeError(f"receiver answered {answer.status_code}: {answer.text[:200]}")
        parked += bool(answer.json().get("parked"))
    wanted = set(ids)

    def all_synced():
        got = {k: v for k, v in sb.updated().items() if k in wanted}
        return got if len(got) == len(wanted) else None

    times = wait_until(all_synced, timeout, interval=0.5, what=f"{len(ids)} users in the Zendesk sandbox")
    stats1 = sb.stats("zendesk")
    elapsed = max(times.values()) - t0
    calls = stats1.get("calls", 0) - stats0.get("calls", 0)
    limited = stats1.get("rate_limited", 0) - stats0.get("rate_limited", 0)
    bulk = stats1.get("writes:POST /api/v2/users/create_or_update_many", 0) - \
        stats0.get("writes:POST /api/v2/users/create_or_update_many", 0)
    wait_settled(dev, ids)  # the next run starts once this one's work is all done
    return {"n": len(ids), "elapsed": elapsed, "per_minute": len(ids) / elapsed * 60,
            "calls": calls, "limited": limited, "parked": parked, "bulk_jobs": bulk}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rate", type=int, default=240, help="R: the Zendesk budget, requests a minute")
    ap.add_argument("--profiles", type=int, default=None, help="default: 1.5 R (about 90 s)")
    ap.add_argument("--unthrottled", type=int, default=200, help="profiles in the unthrottled run")
    ap.add_argument("--concurrency", type=int, default=2, help="worker processes")
    args = ap.parse_args(argv)
    n = args.profiles or int(args.rate * 1.5)
    threshold = int(new_stack_threshold())
    below = max(1, threshold // 2)  # syncs waiting stay well below it: none is parked

    dev = new_stack(OMNEO_REQUESTS_PER_MINUTE=UNLIMITED)
    try:
        sb = start_stack(dev)

        say(f"unthrottled run: {args.unthrottled} profiles")
        fast = dev.start_worker("worker-unthrottled", concurrency=args.concurrency,
                                env={**dev.env, "ZENDESK_REQUESTS_PER_MINUTE": str(UNLIMITED)})
        ids = seed(sb, args.unthrottled, "warm")
        free = run(dev, sb, ids, timeout=120, below=below)
        fast.stop()
        say(f"  {free['per_minute']:.0f} profiles/min")

        say(f"budget run: R={args.rate}/min, {n} profiles, single syncs below the threshold")
        sb.configure("zendesk", rate_per_minute=args.rate)  # a fresh window
        dev.start_worker("worker-budget", concurrency=args.concurrency,
                         env={**dev.env, "ZENDESK_REQUESTS_PER_MINUTE": str(args.rate)})
        ids = seed(sb, n, "sync")
        res = run(dev, sb, ids, timeout=n / args.rate * 60 * 3 + 60, below=below)
        say(f"  {res['per_minute']:.0f} profiles/min, {res['calls']} calls, {res['limited']} met 429")
        say(f"burst above the threshold: {n} profiles posted at once")
        sb.configure("zendesk", rate_per_minute=args.rate)
        ids = seed(sb, n, "burst")
        burst = run(dev, sb, ids, timeout=n / args.rate * 60 * 3 + 60)
        say(f"  {burst['per_minute']:.0f} profiles/min, {burst['calls']} calls, {burst['parked']} parked")
    finally:
        dev.stop()

    share_429 = res["limited"] / res["calls"] if res["calls"] else 0.0
    ok = res["per_minute"] >= AIM_SHARE * args.rate and share_429 < AIM_429
    ok = ok and res["parked"] == 0 and free["parked"] == 0
    rows = [
        ["budget R (ceiling for single syncs)", f"{args.rate}", "100%", "", "", "", "", ""],
        [f"single syncs below the threshold, budget R ({res['n']} profiles)", f"{res['per_minute']:.0f}",
         ratio(res["per_minute"], args.rate), f"{res['elapsed']:.1f}", f"{res['calls']}",
         f"{res['limited']} ({share_429:.1%})", res["parked"], res["bulk_jobs"]],
        [f"single syncs below the threshold, unthrottled ({free['n']} profiles)", f"{free['per_minute']:.0f}",
         ratio(free["per_minute"], args.rate), f"{free['elapsed']:.1f}", f"{free['calls']}",
         f"{free['limited']}", free["parked"], free["bulk_jobs"]],
        [f"burst above the threshold, budget R ({burst['n']} profiles posted at once)",
         f"{burst['per_minute']:.0f}", ratio(burst["per_minute"], args.rate), f"{burst['elapsed']:.1f}",
         f"{burst['calls']}", f"{burst['limited']}", burst["parked"], burst["bulk_jobs"]],
    ]
    print(table(f"Sync throughput: profiles per minute, Zendesk budget R = {args.rate} requests/min",
                ["run", "profiles/min", "of R", "seconds", "Zendesk calls", "calls that met 429",
                 "webhooks parked", "bulk jobs"], rows,
                notes=[f"{args.concurrency} worker processes; each profile is new, so a sync is one Zendesk "
                       "call (create_or_update) plus two Omneo calls (profile, identity; Omneo unthrottled); "
                       "the first sync also reads and creates the tier user field",
                       "time runs from the first webhook posted to the last user write recorded by the sandbox",
                       "the unthrottled run shows what this machine could move with no budget: the budget, "
                       "not the machine, bounds the first row",
                       f"single syncs: a webhook is posted only while fewer than {below} jobs wait on the sync "
                       f"queue (BULK_SYNC_THRESHOLD {threshold}), so none is parked; the burst posts every "
                       "webhook at once and goes by bulk jobs (its ceiling is 100 x R: bench/burst.py)",
                       "each run starts after the previous one finished all its work (identities, marks, "
                       "the drain's lease)",
                       f"aim: single syncs >= {AIM_SHARE:.0%} of R with < {AIM_429:.0%} of calls meeting 429, "
                       "none parked: "
                       + ("**met**" if ok else "**missed**")]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
