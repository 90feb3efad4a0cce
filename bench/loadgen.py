"""A small HTTP load generator, run as its own process so it does not share the server's GIL.

    python3 bench/loadgen.py PLAN.json  ->  one JSON line of results on stdout

PLAN: {"url": "http://127.0.0.1:PORT/path", "concurrency": 8, "max_seconds": 60,
       "rate": null, "requests": [[body_text, {header: value}], ...]}
Each of `concurrency` threads keeps one keep-alive connection and takes the next prepared
request until all are sent or `max_seconds` have passed. Signing happens before, not here.
Without `rate` the threads send back to back (the most the server can take). With `rate`
(requests a second) request i is due at start + i / rate, and its latency runs from when it
was due, so a server that falls behind shows it in the latencies (no coordinated omission).
"""
from __future__ import annotations

import http.client
import itertools
import json
import sys
import threading
import time
from collections import Counter
from urllib.parse import urlsplit


def run(plan: dict) -> dict:
    url = urlsplit(plan["url"])
    prepared = [(body.encode(), headers) for body, headers in plan["requests"]]
    next_index = itertools.count()
    deadline_box = []
    latencies: list[float] = []
    statuses: Counter = Counter()
    errors: Counter = Counter()
    lock = threading.Lock()
    start = threading.Barrier(plan["concurrency"] + 1)
    rate = plan.get("rate")

    def worker():
        conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
        mine, codes = [], Counter()
        start.wait()
        while True:
            i = next(next_index)
            if i >= len(prepared) or time.perf_counter() > deadline_box[0]:
                break
            body, headers = prepared[i]
            t0 = time.perf_counter()
            if rate:
                due = deadline_box[1] + i / rate
                if due > t0:
                    time.sleep(due - t0)
                t0 = due
            try:
                conn.request("POST", url.path, body=body, headers=headers)
                resp = conn.getresponse()
                resp.read()
            except (OSError, http.client.HTTPException) as exc:
                errors[type(exc).__name__] += 1
                conn.close()
                conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
                continue
            mine.append(time.perf_counter() - t0)
            codes[resp.status] += 1
        conn.close()
        with lock:
            latencies.extend(mine)
            statuses.update(codes)

    threads = [threading.Thread(target=worker) for _ in range(plan["concurrency"])]
    for t in threads:
        t.start()
    cpu0 = time.process_time()
    t_start = time.perf_counter()
    deadline_box.extend([t_start + plan["max_seconds"], t_start])
    start.wait()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t_start
    return {"elapsed": elapsed, "statuses": {str(k): v for k, v in statuses.items()},
            "errors": dict(errors), "latencies": latencies,
            "client_cpu_seconds": time.process_time() - cpu0}


if __name__ == "__main__":
    with open(sys.argv[1]) as f:
        print(json.dumps(run(json.load(f))))
