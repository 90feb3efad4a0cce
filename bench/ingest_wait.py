"""Ingest with WAIT on against off, in one run: two receivers on one Sentinel-watched primary
with a replica, one answering 202 once the job is on the primary (REDIS_MIN_REPLICAS_ACKED=0, the
ceiling), the other once a replica has acknowledged it too (=1). Same load generator, interleaved
rounds; every 202 must be a job on the primary's queue and on the replica's.

    python3 bench/ingest_wait.py [--requests 2000] [--rounds 3] [--concurrency 8]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import redis  # noqa: E402

from bench.common import new_stack, ratio, say, table  # noqa: E402
from bench.ingest import answers, load, summary  # noqa: E402
from integration.sandbox.devstack import cli_argv, free_port, wait_until  # noqa: E402
from integration.sandbox.redis_topology import ADMIN_PASSWORD, ADMIN_USER, start_replicated_redis  # noqa: E402


def start_receiver(dev, name: str, processes: int, env: dict) -> str:
    import requests

    port = free_port()
    proc = dev._spawn(name, cli_argv("web", "--host", "127.0.0.1", "--port", str(port),
                                     "--workers", str(processes)), dict(dev.env, **env))
    url = f"http://127.0.0.1:{port}"
    wait_until(lambda: proc.alive() and requests.get(url + "/healthz", timeout=1).ok, 30, what=name)
    return url


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=2000, help="per round and receiver")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--processes", type=int, default=2, help="gunicorn workers per receiver")
    ap.add_argument("--max-seconds", type=float, default=60)
    args = ap.parse_args(argv)

    dev = new_stack()
    try:
        topology = start_replicated_redis(dev, "bench-acl-password", replicas=1)
        dev.start_sandboxes()
        targets = {
            "WAIT off (ceiling)": start_receiver(dev, "receiver-nowait", args.processes,
                                                 {"REDIS_MIN_REPLICAS_ACKED": "0"}),
            "WAIT for 1 replica": start_receiver(dev, "receiver-wait", args.processes,
                                                 {"REDIS_MIN_REPLICAS_ACKED": "1",
                                                  "REDIS_WAIT_TIMEOUT_MS": "500"}),
        }
        primary, replica = (redis.Redis(port=p, username=ADMIN_USER, password=ADMIN_PASSWORD)
                            for p in (topology["primary"], topology["replicas"][0]))
        secret = dev.env["OMNEO_WEBHOOK_SECRET"]
        say("warming up both receivers")
        for url in targets.values():
            load(url, secret, 300, args.concurrency, args.max_seconds)
        runs = {name: [] for name in targets}
        sent = accepted = 0
        for _ in range(args.rounds):
            for name, url in targets.items():
                res = load(url, secret, args.requests, args.concurrency, args.max_seconds)
                res["server_cpu"] = res["redis_cpu"] = 0.0  # CPU is not compared here
                sent += args.requests
                accepted += res["statuses"].get("202", 0)
                runs[name].append(res)
                say(f"{name}: {res['rps']:.0f}/s, statuses {res['statuses']}")
        wait_until(lambda: replica.llen("sync") == primary.llen("sync"), 30, what="the replica")
        queued, replicated = primary.llen("sync"), replica.llen("sync")
        warmup = 2 * 300
    finally:
        dev.stop()

    off, on = (summary(runs[name]) for name in targets)
    rows = [[name, f"{s['rps']:,.0f}", ratio(s["rps"], off["rps"]), f"{s['p50']:.1f}", f"{s['p99']:.1f}",
             answers(s["statuses"])] for name, s in zip(targets, (off, on))]
    print(table(
        f"Ingest with WAIT: signed webhooks per second ({args.processes} gunicorn processes per "
        f"receiver, {args.concurrency} keep-alive connections; primary + 1 replica + 3 sentinels)",
        ["receiver", "requests/s", "of WAIT off", "p50 ms", "p99 ms", "answers"], rows,
        notes=[f"{args.rounds} interleaved rounds of {args.requests:,} requests per receiver after a warm-up; "
               "requests/s is the median round, latencies pool all rounds",
               f"WAIT on is one more command in the same round trip (a pipeline: the intake script, "
               f"then WAIT 1 500); p50 ratio on/off: {on['p50'] / max(off['p50'], 1e-9):.2f}x",
               f"nothing lost: {accepted:,} of {sent:,} answered 202; {queued - warmup:,} jobs on the "
               f"primary's queue and {replicated - warmup:,} on the replica's (after the warm-up's {warmup})"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
