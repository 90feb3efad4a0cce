"""End-to-end latency: from a signed `profile.updated` webhook posted to the receiver to the Zendesk
user updated, as the Zendesk sandbox records the write (its clock is this machine's clock, read
with time.time() on both sides, so no polling resolution enters the figure). The ceiling is the
bare round trips one such sync makes, done directly: Omneo GET profile + Zendesk create_or_update.

    python3 bench/latency.py [--idle 60] [--backlog 300]
"""
from __future__ import annotations

import argparse
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import requests  # noqa: E402

import redis  # noqa: E402

from bench.common import (Sandboxes, new_stack, pct, redis_commands, say, signed_webhook,  # noqa: E402
                          start_stack, table, wait_settled, wait_until)
from integration.settings.declared import SETTINGS  # noqa: E402
from integration.sandbox.devstack import (SANDBOX_OMNEO_TOKEN, SANDBOX_ZENDESK_EMAIL,  # noqa: E402
                                          SANDBOX_ZENDESK_TOKEN)

UNLIMITED = 100_000
THRESHOLD = next(s.default for s in SETTINGS if s.env == "BULK_SYNC_THRESHOLD")
QUIET_SECONDS = 5.0  # nothing posted: how many Redis commands the processes make on their own


class Driver:
    def __init__(self, dev, sb: Sandboxes):
        self.sb = sb
        self.http = requests.Session()
        self.secret = dev.env["OMNEO_WEBHOOK_SECRET"]
        self.url = dev.urls["receiver"] + "/webhooks/omneo"

    def post(self, profile: dict) -> float:
        """Post the profile as Omneo would (the body is the profile); the time just before."""
        raw, headers = signed_webhook(self.secret, profile)
        t0 = time.time()
        r = self.http.post(self.url, data=raw, headers=headers, timeout=10)
        if r.status_code != 202:
            raise RuntimeError(f"receiver answered {r.status_code}: {r.text[:200]}")
        return t0

    def seed(self, n: int, tag: str) -> list[str]:
        """n profiles, synced once, so what we time later is an update of an existing user."""
        ids = [f"{tag}-{uuid.uuid4().hex[:12]}" for _ in range(n)]
        for i, pid in enumerate(ids):
            self.post(self.sb.put_profile(id=pid, first_name=f"Lat{i}", last_name="Bench",
                                          email=f"{pid}@example.com", tier="gold"))
        wanted = set(ids)
        wait_until(lambda: wanted <= set(self.sb.updated()), 120, interval=0.2, what="the seed syncs")
        return ids

    def change(self, pid: str) -> dict:
        return self.sb.put_profile(id=pid, last_name=f"Changed{uuid.uuid4().hex[:6]}")


def floor_round_trips(dev, ids: list[str]) -> list[float]:
    """What one update costs at the least: the API calls of the sync, made directly."""
    omneo, zendesk = requests.Session(), requests.Session()
    omneo.headers["Authorization"] = f"Bearer {SANDBOX_OMNEO_TOKEN}"
    zendesk.auth = (f"{SANDBOX_ZENDESK_EMAIL}/token", SANDBOX_ZENDESK_TOKEN)
    base_o = dev.env["OMNEO_BASE_URL"]
    base_z = dev.env["ZENDESK_BASE_URL"] + "/api/v2"
    out = []
    for pid in ids:
        t0 = time.perf_counter()
        profile = omneo.get(f"{base_o}/profiles/{pid}", timeout=10).json()["data"]
        zendesk.post(f"{base_z}/users/create_or_update", timeout=10, json={"user": {
            "external_id": pid, "name": f"{profile['first_name']} {profile['last_name']}x",
            "email": profile["email"], "role": "end-user"}}).raise_for_status()
        out.append(time.perf_counter() - t0)
    return out


def idle(driver: Driver, ids: list[str]) -> list[float]:
    """One webhook at a time, the next only once the last user was written: an empty queue."""
    out = []
    for pid in ids:
        t0 = driver.post(driver.change(pid))
        done = wait_until(lambda: (driver.sb.updated(pid).get(pid) or 0) > t0 and driver.sb.updated(pid),
                          30, interval=0.002, what=f"user {pid} updated")
        out.append(done[pid] - t0)
    return out


def backlog(driver: Driver, ids: list[str]) -> tuple[list[float], float]:
    """All webhooks posted back to back; each timed from its own post to its own user's write."""
    changed = [driver.change(pid) for pid in ids]
    sent = {p["id"]: driver.post(p) for p in changed}

    def all_done():
        times = driver.sb.updated()
        return times if all((times.get(p) or 0) > t for p, t in sent.items()) else None

    times = wait_until(all_done, 300, interval=0.2, what="the backlog to drain")
    first = min(sent.values())
    return [times[p] - sent[p] for p in ids], max(times[p] for p in ids) - first


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--idle", type=int, default=60, help="updates timed one at a time")
    ap.add_argument("--backlog", type=int, default=300, help="updates posted at once")
    ap.add_argument("--concurrency", type=int, default=2, help="worker processes")
    args = ap.parse_args(argv)

    dev = new_stack(ZENDESK_REQUESTS_PER_MINUTE=UNLIMITED, OMNEO_REQUESTS_PER_MINUTE=UNLIMITED)
    try:
        sb = start_stack(dev, receiver_processes=2)
        dev.start_worker(concurrency=args.concurrency)
        driver = Driver(dev, sb)
        say(f"seeding {args.idle + args.backlog} synced profiles")
        idle_ids = driver.seed(args.idle, "idle")
        backlog_ids = driver.seed(args.backlog, "backlog")
        # the seeding's 300 syncs go by a bulk drain, whose identity writes, marks and lingering
        # would otherwise land in the idle window below
        wait_settled(dev, idle_ids + backlog_ids)
        say("bare round trips")
        floor = floor_round_trips(dev, idle_ids)
        say("idle queue")
        r = redis.Redis.from_url(dev.env["REDIS_URL"])
        quiet0, q0 = redis_commands(r), time.monotonic()
        time.sleep(QUIET_SECONDS)  # nothing posted: the workers' and receiver's own polling
        background = (redis_commands(r) - quiet0) / (time.monotonic() - q0)
        cmds0, z0, o0, w0 = redis_commands(r), sb.stats("zendesk"), sb.stats("omneo"), time.monotonic()
        by_name0 = r.info("commandstats")
        lat_idle = idle(driver, idle_ids)
        window = time.monotonic() - w0
        by_name1 = r.info("commandstats")
        kinds = {k[8:]: (v["calls"] - by_name0.get(k, {}).get("calls", 0)) / len(idle_ids)
                 for k, v in by_name1.items() if k.startswith("cmdstat_") and k != "cmdstat_info"}
        kinds = sorted(((n, k) for k, n in kinds.items() if n >= 0.5), reverse=True)
        per_sync = {"redis": (redis_commands(r) - cmds0) / len(idle_ids),
                    "polling": background * window / len(idle_ids),
                    "zendesk": (sb.stats("zendesk")["calls"] - z0["calls"]) / len(idle_ids),
                    "omneo": (sb.stats("omneo")["calls"] - o0["calls"]) / len(idle_ids)}
        say("backlog")
        lat_backlog, drain = backlog(driver, backlog_ids)
    finally:
        dev.stop()

    ms = lambda v: f"{v * 1000:.1f}"  # noqa: E731
    f50, f99 = pct(floor, 50), pct(floor, 99)
    drain_rate = len(lat_backlog) / drain
    ideal_rate = args.concurrency / f50  # each worker doing nothing but the bare round trips
    rows = [
        ["bare API round trips of one sync (ceiling)", len(floor), ms(f50), ms(f99), "1.0x"],
        ["webhook -> Zendesk user updated, idle queue", len(lat_idle), ms(pct(lat_idle, 50)),
         ms(pct(lat_idle, 99)), f"{pct(lat_idle, 50) / f50:.1f}x"],
        [f"webhook -> Zendesk user updated, backlog of {len(lat_backlog)} posted at once "
         f"({'above' if len(lat_backlog) >= THRESHOLD else 'below'} BULK_SYNC_THRESHOLD {THRESHOLD}: "
         f"{'parked, bulk jobs' if len(lat_backlog) >= THRESHOLD else 'single syncs'})", len(lat_backlog),
         ms(pct(lat_backlog, 50)), ms(pct(lat_backlog, 99)), "queue wait, see below"],
    ]
    print(table("End-to-end latency: Omneo webhook to Zendesk user updated",
                ["case", "n", "p50 ms", "p99 ms", "p50 vs ceiling"], rows,
                notes=[f"backlog drained at {drain_rate:.1f} updates/s against a ceiling of {ideal_rate:.1f}/s "
                       f"({args.concurrency} workers each doing only the bare round trips back to back; above the threshold "
                       "the backlog goes by bulk jobs, whose round trip sets its latencies): "
                       f"{drain_rate / ideal_rate:.0%}; a backlog's latencies are its queue wait, so they "
                       "grow with its length and the drain rate is the figure to compare",
                       "start: just before the webhook is posted to the receiver (gunicorn, 2 processes); "
                       "end: the Zendesk sandbox's own timestamp of the user write (time.time() on the same "
                       "machine), so polling adds nothing to the figure",
                       f"{args.concurrency} Celery worker processes; budgets set high so the limiter does not "
                       "bound these figures (sync_throughput.py covers the budget); each case updates an "
                       "existing, already linked user: Omneo GET profile, Zendesk create_or_update",
                       f"per update, idle: {per_sync['zendesk']:.1f} Zendesk and {per_sync['omneo']:.1f} "
                       f"Omneo calls, {per_sync['redis']:.0f} Redis commands (receiver, Celery and the job; "
                       f"calls inside Lua scripts included), of which about {per_sync['polling']:.0f} are the "
                       f"processes' own polling over the same time ({background:.0f} commands a second with "
                       f"nothing posted, measured for {QUIET_SECONDS:g} s before)",
                       "Redis commands per idle update by name: " + ", ".join(f"{k} {n:.1f}" for n, k in kinds),
                       "the seeding's syncs (a burst: they go by a bulk drain) are waited for until every "
                       "profile has its sync mark and no drain is left, before anything is timed"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
