"""Ingest: signed Omneo webhooks per second through the receiver under gunicorn, against a bare
Flask endpoint under the same gunicorn settings (the ceiling), both driven by the same load
generator in a separate process. Nothing lost: every 202 must be taken, a job on the Redis sync
queue or (past BULK_SYNC_THRESHOLD, as with no worker running) a profile parked for a bulk drain.

    python3 bench/ingest.py [--requests 3000] [--rounds 3] [--concurrency 8] [--paced-seconds 5]

Two phases: back to back (the most each server takes: requests/s), then paced at half the
ceiling's rate (the aim), where p99 says how the receiver answers at the load it should carry.
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

from integration.store import keys  # noqa: E402

from bench.common import (ROOT, cpu_seconds, median, new_stack, pct, proc_pid,  # noqa: E402
                          process_tree, profile_body, ratio, redis_commands, say, signed_webhook,
                          start_wsgi, table)

AIM_SHARE, AIM_P99_MS = 0.5, 50.0


def plan_file(url: str, secret: str, n: int, concurrency: int, max_seconds: float,
              rate: float | None = None) -> str:
    """n signed webhooks, each for a distinct profile so that coalescing cannot hide a loss."""
    reqs = []
    for i in range(n):
        raw, headers = signed_webhook(secret, profile_body(str(uuid.uuid4()), i))
        reqs.append([raw.decode(), headers])
    f = tempfile.NamedTemporaryFile("w", suffix=".json", delete=False)
    json.dump({"url": url + "/webhooks/omneo", "concurrency": concurrency, "max_seconds": max_seconds,
               "rate": rate, "requests": reqs}, f)
    f.close()
    return f.name


def load(url: str, secret: str, n: int, concurrency: int, max_seconds: float,
         rate: float | None = None) -> dict:
    path = plan_file(url, secret, n, concurrency, max_seconds, rate)
    out = subprocess.run([sys.executable, str(ROOT / "bench" / "loadgen.py"), path],
                         capture_output=True, text=True, timeout=max_seconds + 60, check=True)
    Path(path).unlink()
    result = json.loads(out.stdout)
    result["rps"] = len(result["latencies"]) / result["elapsed"]
    return result


def summary(runs: list[dict]) -> dict:
    lat = [v for x in runs for v in x["latencies"]]
    statuses: dict[str, int] = {}
    for x in runs:
        for k, v in x["statuses"].items():
            statuses[k] = statuses.get(k, 0) + v
    n = max(1, len(lat))
    return {"rps": median([x["rps"] for x in runs]), "p50": pct(lat, 50) * 1000, "p99": pct(lat, 99) * 1000,
            "statuses": statuses, "errors": sum(sum(x["errors"].values()) for x in runs),
            "client_us": sum(x["client_cpu_seconds"] for x in runs) / n * 1e6,
            "server_us": sum(x["server_cpu"] + x["redis_cpu"] for x in runs) / n * 1e6}


def answers(statuses: dict) -> str:
    return ", ".join(f"{k}: {v}" for k, v in sorted(statuses.items()))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=3000, help="per round and target")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--concurrency", type=int, default=8, help="connections (2 processes x 4 threads)")
    ap.add_argument("--processes", type=int, default=2, help="gunicorn workers, as WEB_CONCURRENCY")
    ap.add_argument("--paced-seconds", type=float, default=5, help="length of each paced run")
    ap.add_argument("--max-seconds", type=float, default=60)
    args = ap.parse_args(argv)

    dev = new_stack()
    try:
        dev.start_redis()
        dev.start_sandboxes()
        receiver = dev.start_receiver(processes=args.processes)  # no worker: jobs stay queued
        bare = start_wsgi(dev, "bare-flask", "bench.bare_app:application", processes=args.processes)
        targets = {"bare": bare, "receiver": receiver}
        secret = dev.env["OMNEO_WEBHOOK_SECRET"]
        r = redis.Redis.from_url(dev.env["REDIS_URL"])
        redis_pid = [proc_pid(dev, "redis")]
        say("warming up both servers")
        for url in targets.values():
            load(url, secret, 300, args.concurrency, args.max_seconds)
        # after the warm-up: gunicorn may still be forking workers when a server first answers,
        # and a worker missing from the list would leave its CPU uncounted
        servers = {"bare": process_tree(proc_pid(dev, "bare-flask")),
                   "receiver": process_tree(proc_pid(dev, "receiver"))}
        assert all(len(pids) == args.processes + 1 for pids in servers.values()), servers

        tally = {"sent": 0, "accepted": 0, "queued": 0, "errors": 0, "commands": 0, "evalsha": 0}

        def taken() -> int:
            """Syncs the receiver stored: jobs on the sync queue, and (past BULK_SYNC_THRESHOLD)
            profiles parked for a bulk drain in the same step, with no job of their own; each
            webhook names a distinct profile, so parking coalesces none."""
            pipe = r.pipeline(transaction=False)
            pipe.llen("sync")
            pipe.zcard(keys.BULK_WAITING)
            return sum(pipe.execute())

        def measured(name: str, n: int, rate: float | None = None) -> dict:
            queued_before = taken()
            cpu0, rcpu0, cmds0 = cpu_seconds(servers[name]), cpu_seconds(redis_pid), redis_commands(r)
            scripts0 = redis_commands(r, "evalsha")
            res = load(targets[name], secret, n, args.concurrency, args.max_seconds, rate)
            res["server_cpu"] = cpu_seconds(servers[name]) - cpu0
            res["redis_cpu"] = cpu_seconds(redis_pid) - rcpu0
            if name == "receiver":
                tally["commands"] += redis_commands(r) - cmds0
                tally["evalsha"] += redis_commands(r, "evalsha") - scripts0
                tally["sent"] += n
                tally["accepted"] += res["statuses"].get("202", 0)
                tally["errors"] += sum(res["errors"].values())
                tally["queued"] += taken() - queued_before
            say(f"{name}{' paced' if rate else ''}: {res['rps']:.0f}/s, statuses {res['statuses']}, "
                f"errors {res['errors']}, p99 {pct(res['latencies'], 99) * 1000:.1f} ms")
            return res

        closed = {"bare": [], "receiver": []}
        for _ in range(args.rounds):  # interleaved, so drift hits both alike
            for name in targets:
                closed[name].append(measured(name, args.requests))
        ceiling = summary(closed["bare"])["rps"]
        paced_rate = AIM_SHARE * ceiling
        n_paced = max(100, int(paced_rate * args.paced_seconds))
        paced = {name: [measured(name, n_paced, paced_rate)] for name in targets}
    finally:
        dev.stop()

    b, rc = summary(closed["bare"]), summary(closed["receiver"])
    bp, rp = summary(paced["bare"]), summary(paced["receiver"])
    lost = max(0, tally["accepted"] - tally["queued"])
    extra = max(0, tally["queued"] - tally["accepted"])
    per_webhook = tally["commands"] / max(1, tally["accepted"])
    scripts_per_webhook = tally["evalsha"] / max(1, tally["accepted"])
    ok = (rc["rps"] >= AIM_SHARE * b["rps"] and rp["p99"] < AIM_P99_MS and lost == 0 and extra == 0
          and tally["errors"] == 0 and tally["accepted"] == tally["sent"])
    rows = [
        ["bare Flask (ceiling)", "back to back", f"{b['rps']:,.0f}", "100%", f"{b['p50']:.1f}",
         f"{b['p99']:.1f}", answers(b["statuses"]), f"{b['server_us']:.0f}", "1.0x", f"{b['client_us']:.0f}"],
        ["receiver `POST /webhooks/omneo`", "back to back", f"{rc['rps']:,.0f}", ratio(rc["rps"], b["rps"]),
         f"{rc['p50']:.1f}", f"{rc['p99']:.1f}", answers(rc["statuses"]), f"{rc['server_us']:.0f}",
         f"{rc['server_us'] / b['server_us']:.1f}x", f"{rc['client_us']:.0f}"],
        ["bare Flask", f"paced at {paced_rate:,.0f}/s", f"{bp['rps']:,.0f}", ratio(bp["rps"], b["rps"]),
         f"{bp['p50']:.1f}", f"{bp['p99']:.1f}", answers(bp["statuses"]), f"{bp['server_us']:.0f}", "",
         f"{bp['client_us']:.0f}"],
        ["receiver `POST /webhooks/omneo`", f"paced at {paced_rate:,.0f}/s", f"{rp['rps']:,.0f}",
         ratio(rp["rps"], b["rps"]), f"{rp['p50']:.1f}", f"{rp['p99']:.1f}", answers(rp["statuses"]),
         f"{rp['server_us']:.0f}", "", f"{rp['client_us']:.0f}"],
    ]
    print(table(
        "Ingest: signed webhooks per second (gunicorn gthread, "
        f"{args.processes} processes x 4 threads, {args.concurrency} keep-alive connections)",
        ["target", "load", "requests/s", "of ceiling", "p50 ms", "p99 ms", "answers", "server CPU µs/req",
         "CPU vs ceiling", "client CPU µs/req"],
        rows,
        notes=[f"back to back: {args.rounds} interleaved rounds of {args.requests:,} requests per target after a "
               "warm-up, each connection sending its next request as soon as the last is answered; "
               "requests/s is the median round, latencies pool all rounds",
               f"paced: {n_paced:,} requests at half the ceiling's rate, each timed from when it was due "
               "(a server falling behind shows in p99)",
               f"nothing lost: {tally['accepted']:,} of {tally['sent']:,} webhooks answered 202, "
               f"{tally['queued']:,} taken (a job on the Redis `sync` queue, or parked for a bulk drain), "
               f"{lost} missing, {extra} unexplained, "
               f"{tally['errors']} connection errors (each webhook names a distinct profile, so coalescing "
               "hides nothing)",
               f"aim: back to back >= {AIM_SHARE:.0%} of the ceiling, p99 < {AIM_P99_MS:.0f} ms at half the "
               "ceiling's rate, nothing lost: " + ("**met**" if ok else "**missed**"),
               f"Redis commands per accepted webhook: {per_webhook:.1f}, of which {scripts_per_webhook:.1f} "
               "EVALSHA: one round trip running the intake script (INFO commandstats on the stack's own "
               "redis-server counts the commands inside a script too)",
               "server CPU = user+system time of the gunicorn processes and redis-server per request: "
               "the figure least moved by other load on the machine",
               "load generator: bench/loadgen.py, Python http.client threads in a separate process "
               "on the same 2 cores; its CPU per request is shown so its share is visible"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
