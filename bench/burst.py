"""Bursts: `profile.updated` webhooks for many linked profiles at once, against the ceiling of
100 x R profiles a minute (every Zendesk request a 100-user bulk job) at a budget of R.

Real processes: redis-server, both sandboxes, the receiver (2 processes), one Celery worker (2
processes), and bench/loadgen.py posting the webhooks.
The profiles are first linked by a backfill (unthrottled), then all changed in Omneo and their
webhooks posted as fast as the receiver takes them. A few lone updates, each for another linked
profile, are posted in the middle of the burst and timed from post to the Zendesk sandbox's own
record of the write. The premise of the lone lane (integration/bulk/parking.py) is what each
changes: the burst's members their tier only (a tier recalculation), a lone update the profile's
name (a person's edit in CX Manager); every webhook body is the whole profile, as Omneo's event
context is. A second run does it again with another consumer spending half the account's
budget (the sandbox's simulated integration): our 429s, theirs, and the share of the budget we took.
The migration case does it once more with every sync mark removed first: profiles an earlier
integration linked (identity and external_id in place), which this deployment never synced.

    python3 bench/burst.py [--profiles 20000] [--rate 400] [--job-seconds 2]
                           [--cases alone,shared,migration]
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import requests  # noqa: E402

from bench.common import (Sandboxes, median, new_stack, pct, ratio, say, signed_webhook,  # noqa: E402
                          start_stack, table, wait_settled, wait_until)
from integration.bulk.backfill import Backfill  # noqa: E402
from integration.wiring import build_context  # noqa: E402
from integration.settings.declared import load_settings  # noqa: E402

UNLIMITED = 100_000
LONE = 5  # lone updates per run
LONE_SPACING = 3.0  # seconds from one lone update's post to the next: a person's edits, at most
# the lone lane's pace (BULK_LONE_LANE_PERCENT 5 of R = 400: 20 a minute)
AIM_SHARE, AIM_LONE_P50 = 0.50, 1.0
CASES = ("alone", "shared", "migration")


def post_all(url: str, prepared: list, connections: int = 8) -> None:
    """Post back to back from bench/loadgen.py, a process of its own with keep-alive connections
    (posting from this process's threads measured the load generator: about 140 a second)."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump({"url": url, "concurrency": connections, "max_seconds": 600,
                   "requests": [[raw.decode(), headers] for raw, headers in prepared]}, f)
    try:
        out = subprocess.run([sys.executable, str(ROOT / "bench" / "loadgen.py"), f.name],
                             capture_output=True, text=True, timeout=660, check=True)
    finally:
        Path(f.name).unlink()
    result = json.loads(out.stdout)
    if result["statuses"] != {"202": len(prepared)} or result["errors"]:
        raise RuntimeError(f"receiver answered {result['statuses']}, errors {result['errors']}")


def trace(dev, sb, t0: float, stop: threading.Event, rows: list) -> None:
    """Every half second: the sync queue's length, the parked and claimed profiles, and the
    Zendesk requests so far."""
    import redis

    from integration.store import keys
    r = redis.Redis.from_url(dev.env["REDIS_URL"])
    while not stop.wait(0.5):
        pipe = r.pipeline(transaction=False)
        pipe.llen("sync")
        pipe.zcard(keys.BULK_WAITING)
        pipe.zcard(keys.BULK_CLAIMED)
        rows.append((time.time() - t0, *pipe.execute(), sb.stats("zendesk").get("calls", 0)))


TIERS = {"bronze": "Bronze", "silver": "Silver", "gold": "Gold", "platinum": "Platinum",
         "diamond": "Diamond", "ruby": "Ruby"}


def context(pid: str, tier: str) -> dict:
    """The webhook body of a seeded profile (the sandbox's `count`/`prefix` seeding) whose tier
    changed: the whole profile, as Omneo's event context carries it."""
    n = int(pid.rsplit("-", 1)[1])
    return {"id": pid, "first_name": f"Customer{n}", "last_name": "Seeded", "email": f"burst-{n}@example.com",
            "mobile_phone": None, "mobile_phone_e164": None, "tier": {"handle": tier, "name": TIERS[tier]},
            "tier_handle": tier}


def burst(dev, sb: Sandboxes, ids: list[str], lone: list[str], tier: str, rate: int,
          traced: bool = False) -> dict:
    secret, url = dev.env["OMNEO_WEBHOOK_SECRET"], dev.urls["receiver"] + "/webhooks/omneo"
    requests.post(sb.omneo + "/_sandbox/profiles/bulk", timeout=120,
                  json={"profiles": [{"id": pid, "tier": tier} for pid in ids]}).raise_for_status()
    prepared = [signed_webhook(secret, context(pid, tier)) for pid in ids]
    z0, o0 = sb.stats("zendesk"), sb.stats("omneo")
    t0 = time.time()
    stop, samples = threading.Event(), []
    if traced:
        threading.Thread(target=trace, args=(dev, sb, t0, stop, samples), daemon=True).start()
    half = len(prepared) // 2
    poster = threading.Thread(target=post_all, args=(url, prepared[:half]))
    poster.start()
    poster.join()
    first_half = time.time() - t0
    latencies, went_alone = [], 0
    rest = threading.Thread(target=post_all, args=(url, prepared[half:]))
    rest.start()
    for n, pid in enumerate(lone):  # in the middle of the burst, while the rest is posted
        if n:
            time.sleep(max(0.0, sent + LONE_SPACING - time.time()))
        edited = sb.put_profile(id=pid, first_name=f"Lone {tier} {n}")  # a person's edit: the name
        raw, headers = signed_webhook(secret, edited)
        sent = time.time()
        answer = requests.post(url, data=raw, headers=headers, timeout=10)
        answer.raise_for_status()
        went_alone += not answer.json().get("parked")
        written = wait_until(lambda: (sb.updated(pid).get(pid) or 0) > sent and sb.updated(pid)[pid],
                             120, interval=0.02, what=f"lone update {pid}")
        latencies.append(written - sent)
    lone_done = time.time() - t0
    rest.join()
    posted = time.time() - t0
    wanted = set(ids)

    def all_written():
        got = {k: v for k, v in sb.updated().items() if k in wanted and v > t0}
        return got if len(got) == len(wanted) else None

    times = wait_until(all_written, len(ids) / rate * 60 + 600, interval=2.0,
                       what=f"{len(ids)} users updated")
    elapsed = max(times.values()) - t0
    wait_settled(dev, ids + list(lone))  # the run's marks and identities, before the next run
    stop.set()
    if traced:
        say(f"  first half posted at {first_half:.1f}s, lone updates done at {lone_done:.1f}s, "
            f"all posted at {posted:.1f}s; written at {elapsed:.1f}s")
        for row in samples[::max(1, len(samples) // 40)]:
            say("  t={:6.1f}s sync queue {:6d} parked {:6d} claimed {:5d} zendesk requests {:5d}".format(*row))
    z1, o1 = sb.stats("zendesk"), sb.stats("omneo")
    d = lambda a, b, k: b.get(k, 0) - a.get(k, 0)  # noqa: E731
    return {"n": len(ids), "elapsed": elapsed, "per_minute": len(ids) / elapsed * 60,
            "zendesk": d(z0, z1, "calls"), "omneo": d(o0, o1, "calls"),
            "limited": d(z0, z1, "rate_limited"), "other_calls": d(z0, z1, "other_calls"),
            "other_limited": d(z0, z1, "other_rate_limited"), "lone": latencies,
            "alone": went_alone}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--profiles", type=int, default=20_000)
    ap.add_argument("--rate", type=int, default=400, help="R: the account's Zendesk budget a minute")
    ap.add_argument("--concurrency", type=int, default=2, help="the worker's processes (one runs the drain)")
    ap.add_argument("--receivers", type=int, default=2, help="the receiver's processes")
    ap.add_argument("--trace", action="store_true", help="print the queue, parked and claimed over time")
    ap.add_argument("--job-seconds", type=float, default=2.0,
                    help="how long the sandbox takes a bulk job from queued to completed")
    ap.add_argument("--cases", default=",".join(CASES),
                    help=f"which runs, comma-separated, of {', '.join(CASES)}")
    args = ap.parse_args(argv)
    n, rate = args.profiles, args.rate
    cases = [c for c in args.cases.split(",") if c]
    if not cases or set(cases) - set(CASES):
        ap.error(f"--cases takes some of {', '.join(CASES)}")

    dev = new_stack(OMNEO_REQUESTS_PER_MINUTE=UNLIMITED, ZENDESK_REQUESTS_PER_MINUTE=rate)
    try:
        sb = start_stack(dev, receiver_processes=args.receivers)
        say(f"seeding and linking {n} profiles")
        requests.post(sb.omneo + "/_sandbox/profiles/bulk", timeout=300,
                      json={"count": n + len(CASES) * LONE, "prefix": "burst-"}).raise_for_status()
        every = [f"burst-{i:05d}" for i in range(1, n + len(CASES) * LONE + 1)]
        ids = every[:n]
        lones = {c: every[n + k * LONE:n + (k + 1) * LONE] for k, c in enumerate(CASES)}
        settings = load_settings({**dev.env, "ZENDESK_REQUESTS_PER_MINUTE": str(UNLIMITED)})
        ctx = build_context(settings)
        linked = Backfill(ctx).run()
        assert linked["finished"] and linked["created"] == len(every), linked
        sb.configure("zendesk", rate_per_minute=rate, bulk_job_seconds=args.job_seconds)
        dev.start_worker("worker", concurrency=args.concurrency)

        results = {}
        if "alone" in cases:
            say(f"burst of {n} at R={rate}/min")
            results["alone"] = burst(dev, sb, ids, lones["alone"], "platinum", rate, args.trace)
            say(f"  {results['alone']['per_minute']:.0f}/min, lone p50 {median(results['alone']['lone']):.2f}s")
        if "shared" in cases:
            say("the same with another consumer using half the budget")
            sb.configure("zendesk", rate_per_minute=rate, other_consumer_per_minute=rate // 2)
            results["shared"] = burst(dev, sb, ids, lones["shared"], "diamond", rate, args.trace)
            sb.configure("zendesk", other_consumer_per_minute=0)
            say(f"  {results['shared']['per_minute']:.0f}/min, 429s ours {results['shared']['limited']} "
                f"theirs {results['shared']['other_limited']}")
        if "migration" in cases:
            say("migration: every profile linked, no sync mark of ours")
            ctx.state.clear_synced(*every)
            results["migration"] = burst(dev, sb, ids, lones["migration"], "ruby", rate, args.trace)
            say(f"  {results['migration']['per_minute']:.0f}/min, "
                f"{results['migration']['zendesk'] / n:.4f} Zendesk requests a profile")
    finally:
        dev.stop()

    ceiling = 100 * rate
    rows = []
    names = {"alone": "burst alone", "shared": "burst, another consumer at R/2",
             "migration": "migration: linked, no marks of ours"}
    for case, r in results.items():
        name = names[case]
        minutes = r["elapsed"] / 60
        rows.append([f"{name} ({r['n']} profiles)", f"{r['per_minute']:.0f}", ratio(r["per_minute"], ceiling),
                     f"{r['per_minute'] / rate:.1f} x R", f"{r['elapsed']:.1f}",
                     f"{r['zendesk'] / r['n']:.4f}", f"{r['omneo'] / r['n']:.4f}",
                     f"{median(r['lone']):.2f} / {pct(r['lone'], 100):.2f} ({r['alone']} alone)",
                     f"{r['limited']} / {r['other_limited']}",
                     f"{r['zendesk'] / (rate * minutes):.0%} / {r['other_calls'] / (rate * minutes):.0%}"])
    ok = all(r["per_minute"] >= AIM_SHARE * ceiling and median(r["lone"]) < AIM_LONE_P50
             and r["limited"] == 0 and r["other_limited"] == 0 for r in results.values())
    print(table(f"Burst: profiles a minute against 100 x R = {ceiling}, Zendesk budget R = {rate}/min",
                ["run", "profiles/min", "of 100 x R", "x R", "seconds", "Zendesk req/profile",
                 "Omneo req/profile", f"lone update p50 / max s ({LONE})", "429s ours / theirs",
                 "budget used ours / theirs"], rows,
                notes=[f"every profile already linked (a backfill ran first); each webhook follows a change "
                       "in Omneo (the tier), so every profile needs a Zendesk write",
                       "migration: the same profiles with every sync mark removed first, as after moving from "
                       "another integration (identity and external_id in place) or replacing Redis",
                       "each run starts once the one before has written all its marks and identities",
                       f"the sandbox takes a bulk job {args.job_seconds:g} s from queued to completed; "
                       "time runs from the first webhook posted to the last user write the sandbox recorded",
                       "lone updates: another linked profile's name changed (a person's edit in CX Manager) and "
                       "posted in the middle of the burst, timed from its post to the sandbox's record of its "
                       f"write, {LONE_SPACING:g} s or more apart; the burst's members change their tier only. "
                       "Every body is the whole profile. `alone`: answered as queued, not parked (by the lone "
                       "lane, or as the backlog was under BULK_SYNC_THRESHOLD)",
                       "budget used: requests over R x the run's minutes; the other consumer spends R/2 evenly, "
                       f"our reserve is ZENDESK_BUDGET_RESERVE_PERCENT (default 20)",
                       f"aim: >= {AIM_SHARE:.0%} of 100 x R, lone p50 < {AIM_LONE_P50:g} s, no 429 for either "
                       "consumer: " + ("**met**" if ok else "**missed**")]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
