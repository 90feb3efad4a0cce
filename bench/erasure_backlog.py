"""How long an erasure waits behind a backlog of slow sync jobs, with and without a worker of its own.

    python3 bench/erasure_backlog.py [--backlog 40] [--latency 0.5]

Starts a real stack (redis-server, both sandboxes, receiver, one Celery worker on every queue,
concurrency 2), syncs one profile, makes every Omneo call slow (`latency`), queues `backlog` sync
jobs, then deletes the profile and posts `profile.deleted`. Prints, per setup, when the erasure
finished and when the sync backlog drained, both from the moment the deletion was posted. The
drain time is the ceiling: an erasure stuck behind the backlog would finish after it.
Setups: `rotation` (the one worker; Celery/Kombu rotate the queues they poll), and `dedicated`
(plus `omneo-zendesk worker -Q erasure -c 1`, as a Procfile `worker-erasure` line would run).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import redis
import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from integration.store import keys  # noqa: E402
from integration.apis.signatures import omneo_signature  # noqa: E402
from integration.store import keys  # noqa: E402
from integration.store.state import State  # noqa: E402
from integration.apis.signatures import omneo_signature  # noqa: E402
from integration.sandbox.devstack import DevStack, wait_until  # noqa: E402


def post(dev: DevStack, event: str, body: dict) -> None:
    raw = json.dumps(body).encode()
    headers = {"Content-Type": "application/json", "X-Omneo-Event": event,
               "X-Omneo-Hmac-SHA256": omneo_signature(dev.env["OMNEO_WEBHOOK_SECRET"], raw)}
    r = requests.post(dev.urls["receiver"] + "/webhooks/omneo", data=raw, headers=headers, timeout=10)
    assert r.status_code == 202, r.text


def run(dev: DevStack, r: redis.Redis, backlog: int, latency: float, tag: str) -> dict:
    omneo, zendesk = dev.urls["omneo_sandbox"], dev.urls["zendesk_sandbox"]
    pid = f"bench-{tag}"
    requests.post(omneo + "/_sandbox/config", json={"latency": 0}, timeout=5)
    requests.post(omneo + "/_sandbox/profiles?emit=0", json={"id": pid, "first_name": "B",
                                                             "email": f"{pid}@example.com"}, timeout=5)
    post(dev, "profile.created", {"id": pid})
    wait_until(lambda: State(r, 1000).synced_mark(pid), 30, what="the first sync")
    requests.delete(f"{omneo}/_sandbox/profiles/{pid}", timeout=5)
    requests.post(omneo + "/_sandbox/config", json={"latency": latency}, timeout=5)
    for n in range(backlog):
        post(dev, "profile.updated", {"id": f"{tag}-slow-{n}"})
    started = time.time()
    post(dev, "profile.deleted", {"id": pid})

    def erased():
        raws = r.lrange(keys.ERASURE_AUDIT, 0, -1)
        return next((json.loads(x) for x in raws if json.loads(x)["profile_id"] == pid), None)

    record = wait_until(erased, 600, interval=0.02, what="the erasure")
    erasure_done = record["finished_at"] - started
    left = r.llen("sync")
    wait_until(lambda: r.llen("sync") == 0 and not r.hlen("unacked"), 600, interval=0.05,
               what="the backlog to drain")
    drained = time.time() - started
    requests.post(omneo + "/_sandbox/config", json={"latency": 0}, timeout=5)
    purged = record["zendesk_user_id"] in map(str, requests.get(zendesk + "/_sandbox/users",
                                                                timeout=5).json()["purged"])
    return {"setup": tag, "erasure_s": erasure_done, "queued_when_erased": left,
            "backlog_drained_s": drained, "purged": purged}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--backlog", type=int, default=40)
    ap.add_argument("--latency", type=float, default=0.5, help="seconds added to every Omneo call")
    args = ap.parse_args()
    dev = DevStack(tempfile.mkdtemp(prefix="bench-erasure-"), base_env={
        k: v for k, v in os.environ.items() if not k.startswith(("OMNEO_", "ZENDESK_", "REDIS_"))})
    dev.env.update(LOG_FORMAT="json")
    rows = []
    try:
        dev.start_redis()
        dev.start_sandboxes()
        dev.start_receiver()
        dev.start_worker()
        r = redis.Redis.from_url(dev.env["REDIS_URL"])
        rows.append(run(dev, r, args.backlog, args.latency, "rotation"))
        dev.start_worker("worker-erasure", queues="erasure", concurrency=1)
        rows.append(run(dev, r, args.backlog, args.latency, "dedicated"))
    finally:
        dev.stop()
    print(f"backlog {args.backlog} sync jobs, Omneo latency {args.latency}s, "
          f"main worker -c 2 on every queue")
    print(f"{'setup':<10} {'erasure done':>13} {'sync jobs still queued':>23} {'backlog drained':>16}  purged")
    for row in rows:
        print(f"{row['setup']:<10} {row['erasure_s']:>12.2f}s {row['queued_when_erased']:>23} "
              f"{row['backlog_drained_s']:>15.2f}s  {row['purged']}")


if __name__ == "__main__":
    main()
