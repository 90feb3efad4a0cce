"""Redis memory a profile and a delivery cost: sync watermarks (what lasts) and dedupe marks.

Profiles are synced through the real stack (receiver, Celery workers, both sandboxes): one
`profile.created` each, then a burst of `profile.updated` for a share of them, a reconciliation
and some erasures. Then, from the stack's own Redis:
- bytes a profile in watermarks (MEMORY USAGE of the mark hashes / profiles marked), against the
  same watermarks written as the old layout wrote them (one JSON key a profile) in another db;
- bytes a delivery in dedupe marks (MEMORY USAGE of the day hashes / deliveries accepted), against
  the same deliveries' old keys (`oz:seen:omneo:<sha256>`, with their TTL);
- at scale: `--scale` synthetic watermarks written through `State.mark_synced_many` into an empty
  db (used_memory before and after), and whether every bucket is still listpack.

    python3 bench/redis_memory.py [--profiles 2000] [--burst 0.5] [--erase 50] [--scale 1000000]
"""
from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import redis  # noqa: E402
import requests  # noqa: E402

from bench.common import new_stack, profile_body, say, signed_webhook  # noqa: E402

from integration.store import keys, marks  # noqa: E402
from integration.sandbox.devstack import cli_argv, wait_until  # noqa: E402
from integration.store.state import State  # noqa: E402

OLD_SEEN_TTL = 3 * 24 * 3600


def memory_of(r: redis.Redis, pattern: str) -> tuple[int, int, int]:
    """Bytes (MEMORY USAGE, all samples), keys and hash fields of the keys matching `pattern`."""
    total = count = fields = 0
    for key in r.scan_iter(match=pattern, count=1000):
        total += r.memory_usage(key, samples=0) or 0
        count += 1
        fields += r.hlen(key) if r.type(key) == b"hash" else 1
    return total, count, fields


def idle(r: redis.Redis) -> bool:
    """Nothing queued, parked, claimed by a drain or taken by a worker."""
    time.sleep(1)
    return not (r.llen("sync") or r.llen("reconcile") or r.zcard(keys.BULK_WAITING)
                or r.zcard(keys.BULK_CLAIMED) or r.hlen("unacked"))


def post_all(session, url: str, secret: str, bodies: list[tuple[str, dict]]) -> list[str]:
    """Post each webhook; returns the delivery ids (as the receiver derives them) of the 202s."""
    accepted = []
    for event, body in bodies:
        raw, headers = signed_webhook(secret, body, event)
        r = session.post(url + "/webhooks/omneo", data=raw, headers=headers, timeout=30)
        if r.status_code == 202:
            accepted.append(hashlib.sha256(event.encode() + b"\n" + raw).hexdigest())
    return accepted


def old_layout(r_old: redis.Redis, state: State, profile_ids: list[str], deliveries: list[str]):
    """The same watermarks and dedupe marks as the old code wrote them."""
    pipe = r_old.pipeline(transaction=False)
    for pid, mark in state.synced_marks(profile_ids).items():
        if mark is None:
            continue
        # the old record: full-length digests, float synced_at
        record = {"fingerprint": (mark["fingerprint"] * 4)[:64], "updated_at": mark["updated_at"],
                  "zendesk_user_id": mark["zendesk_user_id"], "synced_at": time.time()}
        if mark.get("email"):
            record["email"] = (mark["email"] * 2)[:32]
        pipe.set(keys.legacy_synced(pid), json.dumps(record))
    for delivery in deliveries:
        pipe.set(keys.legacy_seen("omneo", delivery), "1", nx=True, ex=OLD_SEEN_TTL)
    pipe.execute()


def at_scale(r: redis.Redis, n: int) -> tuple[float, int, int]:
    r.flushdb()
    before = r.info("memory")["used_memory"]
    state, batch = State(r, 1000), {}
    for i in range(n):
        batch[f"{i:08d}-synthetic-{i * 7919 % 100000:05d}"] = dict(
            fingerprint=hashlib.sha256(str(i).encode()).hexdigest()[:16], updated_at="2026-01-01 00:00:00",
            zendesk_user_id=str(36000000000000 + i), email=f"c{i}@example.com")
        if len(batch) == 5000:
            state.mark_synced_many(batch)
            batch = {}
    if batch:
        state.mark_synced_many(batch)
    used = r.info("memory")["used_memory"] - before
    buckets = list(r.scan_iter(match=keys.synced_marks("*"), count=1000))
    not_listpack = sum(r.object("encoding", k) != b"listpack" for k in buckets)
    r.flushdb()
    return used / n, len(buckets), not_listpack


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profiles", type=int, default=2000, help="profiles synced through the stack")
    parser.add_argument("--burst", type=float, default=0.5, help="share of them updated in a burst")
    parser.add_argument("--erase", type=int, default=50, help="profiles erased at the end")
    parser.add_argument("--scale", type=int, default=1_000_000, help="synthetic watermarks for the "
                        "at-scale figure (0: skip)")
    args = parser.parse_args()

    dev = new_stack(BULK_SYNC_THRESHOLD=20)
    try:
        dev.start_redis()
        dev.start_sandboxes()
        dev.start_receiver()
        dev.start_worker(concurrency=4)
        url, secret = dev.urls["receiver"], dev.env["OMNEO_WEBHOOK_SECRET"]
        r = redis.Redis.from_url(dev.env["REDIS_URL"])
        session, omneo = requests.Session(), dev.urls["omneo_sandbox"]
        state = State(r, 1000)
        ids = [f"{i:07d}-bench" for i in range(args.profiles)]  # profile_body mails by the first 12
        bodies = []
        for n, pid in enumerate(ids):
            body = profile_body(pid, n)
            session.post(omneo + "/_sandbox/profiles?emit=0", json=body, timeout=10).raise_for_status()
            bodies.append(("profile.created", body))
        say(f"posting {len(ids)} profile.created")
        started = time.monotonic()
        deliveries = post_all(session, url, secret, bodies)
        say(f"{len(deliveries)} accepted")

        def synced() -> int:
            return sum(m is not None for m in state.synced_marks(ids).values())

        wait_until(lambda: synced() == len(ids), 60 + len(ids) / 5, interval=2, what="every profile synced")
        say(f"synced {len(ids)} in {time.monotonic() - started:.0f}s; burst of updates")
        burst = [("profile.updated", {**body, "last_name": "Updated", "updated_at": "2026-02-01 00:00:00"})
                 for _, body in bodies[:int(len(bodies) * args.burst)]]
        for _, body in burst:
            session.post(omneo + "/_sandbox/profiles?emit=0", json=body, timeout=10).raise_for_status()
        deliveries += post_all(session, url, secret, burst)
        wait_until(lambda: idle(r) and idle(r), 60 + len(burst) / 5, interval=2, what="the burst done")
        say("reconciliation")
        subprocess.run(cli_argv("reconcile", "run"), env=dev.env, check=True, capture_output=True, timeout=600)
        say(f"erasing {args.erase}")
        gone = ids[-args.erase:] if args.erase else []
        erasures = []
        for pid in gone:
            session.delete(f"{omneo}/_sandbox/profiles/{pid}", timeout=10).raise_for_status()
            erasures.append(("profile.deleted", {"id": pid}))
        deliveries += post_all(session, url, secret, erasures)
        wait_until(lambda: r.llen(keys.ERASURE_AUDIT) >= len(gone), 120, interval=1, what="the erasures")

        kept = [pid for pid, m in state.synced_marks(ids).items() if m is not None]
        new_bytes, new_keys, marked = memory_of(r, keys.synced_marks("*"))
        seen_bytes, seen_keys, seen_fields = memory_of(r, keys.seen_marks("*", "*"))
        r_old = redis.Redis.from_url(dev.env["REDIS_URL"], db=1)
        old_layout(r_old, state, kept, deliveries)
        old_bytes, old_keys, _ = memory_of(r_old, keys.legacy_synced("*"))
        old_seen_bytes, old_seen_keys, _ = memory_of(r_old, keys.legacy_seen("omneo", "*"))
        scale = at_scale(redis.Redis.from_url(dev.env["REDIS_URL"], db=2), args.scale) if args.scale else None
        policy = r.info("memory")["maxmemory_policy"]
    finally:
        dev.stop()

    print(f"Ran: {args.profiles} profiles synced through the stack (receiver, worker -c 4, sandboxes), "
          f"a burst updating {len(burst)}, a reconciliation, {len(gone)} erasures; "
          f"{len(deliveries)} deliveries accepted; Redis {policy}.\n")
    print("| what | today (old layout, same data) | compact marks | ratio |")
    print("|---|---|---|---|")
    print(f"| bytes a profile in watermarks (what lasts), {marked} profiles | "
          f"{old_bytes / max(old_keys, 1):.0f} ({old_keys} keys) | {new_bytes / max(marked, 1):.0f} "
          f"({new_keys} hashes) | {new_bytes / max(old_bytes, 1):.2f} |")
    print(f"| bytes a delivery in dedupe marks, {seen_fields} deliveries | "
          f"{old_seen_bytes / max(old_seen_keys, 1):.0f} ({old_seen_keys} keys) | "
          f"{seen_bytes / max(seen_fields, 1):.0f} ({seen_keys} hashes) | "
          f"{seen_bytes / max(old_seen_bytes, 1):.2f} |")
    if scale:
        per, buckets, not_listpack = scale
        print(f"| at scale: {args.scale} watermarks via State.mark_synced_many (used_memory) | "
              f"- | {per:.0f} ({buckets} hashes, {not_listpack} not listpack) | - |")


if __name__ == "__main__":
    main()
