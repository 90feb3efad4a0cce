"""Ingest: signed Omneo webhooks per second through the receiver under gunicorn, against a bare
Flask endpoint under the same gunicorn settings (the ceiling), both driven by the same load
generator in a separate process. Nothing lost: every 202 must be a job on the Redis queue.

    python3 bench/ingest.py [--requests 3000] [--rounds 3] [--concurrency 8]
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import redis  # noqa: E402

from bench.common import (ROOT, cpu_seconds, median, new_stack, pct, proc_pid,  # noqa: E402
                          process_tree, profile_body, ratio, redis_commands, say, signed_webhook,
                          table)

AIM_SHARE, AIM_P99_MS = 0.5, 50.0


def plan_file(url: str, secret: str, n: int, concurrency: int, max_seconds: float) -> str:
    """n signed webhooks, each for a distinct profile so that coalescing cannot hide a loss."""
    reqs = []
    for i in range(n):
        raw, headers = signed_webhook(secret, profile_body(str(uuid.uuid4()), i))
        reqs.append([raw.decode(), headers])
    f = tempfile.NamedTemporaryFile("w", suffix=".json", delete=False)
    json.dump({"url": url + "/webhooks/omneo", "concurrency": concurrency, "max_seconds": max_seconds,
               "requests": reqs}, f)
    f.close()
    return f.name


def load(url: str, secret: str, n: int, concurrency: int, max_seconds: float) -> dict:
    path = plan_file(url, secret, n, concurrency, max_seconds)
    out = subprocess.run([sys.executable, str(ROOT / "bench" / "loadgen.py"), path],
                         capture_output=True, text=True, timeout=max_seconds + 60, check=True)
    Path(path).unlink()
    result = json.loads(out.stdout)
    result["rps"] = len(result["latencies"]) / result["elapsed"]
    return result


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=3000, help="per round and target")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--concurrency", type=int, default=8, help="connections (2 processes x 4 threads)")
    ap.add_argument("--processes", type=int, default=2, help="gunicorn workers, as WEB_CONCURRENCY")
    ap.add_argument("--max-seconds", type=float, default=60)
    args = ap.parse_args(argv)

    dev = new_stack()
    try:
        dev.start_redis()
        dev.start_sandboxes()
        receiver = dev.start_receiver(processes=args.processes)  # no worker: jobs stay queued
        bare = dev.start_wsgi("bare-flask", "bench.bare_app:application", processes=args.processes)
        secret = dev.env["OMNEO_WEBHOOK_SECRET"]
        r = redis.Redis.from_url(dev.env["REDIS_URL"])
        say("warming up both servers")
        for url in (bare, receiver):
            load(url, secret, 300, args.concurrency, args.max_seconds)
        results = {"bare": [], "receiver": []}
        servers = {"bare": process_tree(proc_pid(dev, "bare-flask")),
                   "receiver": process_tree(proc_pid(dev, "receiver"))}
        redis_pid = [proc_pid(dev, "redis")]
        lost = extra = 0
        for round_ in range(args.rounds):  # interleaved, so drift hits both alike
            for name, url in (("bare", bare), ("receiver", receiver)):
                queued_before = r.llen("sync")
                cpu0, rcpu0 = cpu_seconds(servers[name]), cpu_seconds(redis_pid)
                cmds0 = redis_commands(r)
                res = load(url, secret, args.requests, args.concurrency, args.max_seconds)
                res["server_cpu"] = cpu_seconds(servers[name]) - cpu0
                res["redis_cpu"] = cpu_seconds(redis_pid) - rcpu0
                res["redis_commands"] = redis_commands(r) - cmds0
                if name == "receiver":
                    accepted = res["statuses"].get("202", 0)
                    queued = r.llen("sync") - queued_before
                    lost += max(0, accepted - queued)
                    extra += max(0, queued - accepted)
                    res["queued"] = queued
                results[name].append(res)
                say(f"round {round_ + 1} {name}: {res['rps']:.0f}/s, statuses {res['statuses']}, "
                    f"errors {res['errors']}, p99 {pct(res['latencies'], 99) * 1000:.1f} ms")
    finally:
        dev.stop()

    def summary(runs):
        rps = median([x["rps"] for x in runs])
        lat = [v for x in runs for v in x["latencies"]]
        statuses = {}
        for x in runs:
            for k, v in x["statuses"].items():
                statuses[k] = statuses.get(k, 0) + v
        errors = sum(sum(x["errors"].values()) for x in runs)
        n = max(1, len(lat))
        cpu = sum(x["client_cpu_seconds"] for x in runs) / n * 1e6
        server = sum(x["server_cpu"] + x["redis_cpu"] for x in runs) / n * 1e6
        return rps, pct(lat, 50) * 1000, pct(lat, 99) * 1000, statuses, errors, cpu, server

    b_rps, b50, b99, b_st, b_err, b_cpu, b_srv = summary(results["bare"])
    r_rps, r50, r99, r_st, r_err, r_cpu, r_srv = summary(results["receiver"])
    sent = sum(r_st.values()) + r_err
    per_webhook = sum(x["redis_commands"] for x in results["receiver"]) / max(1, sum(r_st.values()))
    accepted = r_st.get("202", 0)
    ok = (r_rps >= AIM_SHARE * b_rps and r99 < AIM_P99_MS and lost == 0 and r_err == 0
          and accepted == args.requests * args.rounds)
    rows = [
        ["bare Flask (ceiling)", f"{b_rps:,.0f}", "100%", f"{b50:.1f}", f"{b99:.1f}",
         ", ".join(f"{k}: {v}" for k, v in sorted(b_st.items())), f"{b_srv:.0f}", "1.0x",
         f"{b_cpu:.0f}"],
        ["receiver `POST /webhooks/omneo`", f"{r_rps:,.0f}", ratio(r_rps, b_rps), f"{r50:.1f}", f"{r99:.1f}",
         ", ".join(f"{k}: {v}" for k, v in sorted(r_st.items())), f"{r_srv:.0f}",
         f"{r_srv / b_srv:.1f}x", f"{r_cpu:.0f}"],
    ]
    print(table(
        "Ingest: signed webhooks per second (gunicorn gthread, "
        f"{args.processes} processes x 4 threads, {args.concurrency} keep-alive connections)",
        ["target", "requests/s", "of ceiling", "p50 ms", "p99 ms", "answers", "server CPU µs/req",
         "CPU vs ceiling", "client CPU µs/req"],
        rows,
        notes=[f"{args.rounds} interleaved rounds of {args.requests:,} requests per target after a warm-up; "
               "requests/s is the median round, latencies pool all rounds",
               f"nothing lost: {accepted:,} answered 202 of {sent:,} sent, {accepted - lost:,} jobs reached "
               f"the Redis `sync` queue, {lost} missing, {extra} unexplained, {r_err} connection errors "
               "(each webhook names a distinct profile, so coalescing hides nothing)",
               f"aim: >= {AIM_SHARE:.0%} of the ceiling, p99 < {AIM_P99_MS:.0f} ms, nothing lost: "
               + ("**met**" if ok else "**missed**"),
               f"Redis commands per accepted webhook: {per_webhook:.1f} (INFO commandstats on the "
               "stack's own redis-server)",
               "server CPU = user+system time of the gunicorn processes and redis-server over the "
               "rounds, per request: the figure least moved by other load on the machine",
               "load generator: bench/loadgen.py, Python http.client threads in a separate process "
               "on the same 2 cores; its CPU per request is shown so its share is visible"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
