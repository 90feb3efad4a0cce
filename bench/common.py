"""What the benchmark scripts share: a stack of real processes, signed webhooks, percentiles,
and the markdown table each script prints on stdout (progress goes to stderr)."""
from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as `python3 bench/x.py` from a checkout
    sys.path.insert(0, str(ROOT))

import requests  # noqa: E402

from integration.apis.signatures import omneo_signature  # noqa: E402
from integration.sandbox.devstack import DevStack, free_port, python_argv, wait_until  # noqa: E402


def say(*parts) -> None:
    print(*parts, file=sys.stderr, flush=True)


def new_stack(**env) -> DevStack:
    """A DevStack that ignores any real credentials in the environment."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("OMNEO_", "ZENDESK_", "REDIS_"))}
    dev = DevStack(tempfile.mkdtemp(prefix="oz-bench-"), base_env=base)
    dev.env.update({"LOG_FORMAT": "json", **{k: str(v) for k, v in env.items()}})
    return dev


def start_wsgi(dev: DevStack, name: str, app: str, processes: int = 2) -> str:
    """Serve another WSGI app (`module:attr`, with a GET /healthz) as `omneo-zendesk web` serves ours."""
    from web.cli.processes import gunicorn_argv

    port = free_port()
    proc = dev._spawn(name, python_argv("-m", *gunicorn_argv(app, "127.0.0.1", port, processes)))
    url = f"http://127.0.0.1:{port}"
    wait_until(lambda: proc.alive() and requests.get(url + "/healthz", timeout=1).ok, 30, what=name)
    dev.urls[name] = url
    return url


def signed_webhook(secret: str, body: dict, event: str = "profile.updated") -> tuple[bytes, dict]:
    raw = json.dumps(body).encode()
    return raw, {"Content-Type": "application/json", "X-Omneo-Event": event,
                 "X-Omneo-Hmac-SHA256": omneo_signature(secret, raw)}


def profile_body(profile_id: str | None = None, n: int = 0) -> dict:
    """A profile as Omneo posts it (fields at the root), with made-up personal data."""
    profile_id = profile_id or str(uuid.uuid4())
    return {"id": profile_id, "first_name": f"Bench{n}", "last_name": "Customer",
            "email": f"bench.{profile_id[:12]}@example.com", "mobile_phone": "+61400000000",
            "tier": {"handle": "gold", "name": "Gold"}, "profile_type": "active",
            "updated_at": "2026-01-01 00:00:00", "identities": []}


class Sandboxes:
    """The control routes of the two sandbox APIs of a stack."""

    def __init__(self, dev: DevStack):
        self.zendesk = dev.urls["zendesk_sandbox"]
        self.omneo = dev.urls["omneo_sandbox"]
        self.http = requests.Session()

    def put_profile(self, **fields) -> dict:
        r = self.http.post(self.omneo + "/_sandbox/profiles?emit=0", json=fields, timeout=10)
        r.raise_for_status()
        return r.json()["data"]

    def updated(self, external_id: str | None = None) -> dict[str, float]:
        params = {"external_id": external_id} if external_id else None
        r = self.http.get(self.zendesk + "/_sandbox/user_updates", params=params, timeout=10)
        r.raise_for_status()
        return r.json()["updated"]

    def stats(self, which: str = "zendesk") -> dict:
        return self.http.get(getattr(self, which) + "/_sandbox/stats", timeout=10).json()

    def configure(self, which: str, **config) -> None:
        self.http.post(getattr(self, which) + "/_sandbox/config", json=config, timeout=10).raise_for_status()


def start_stack(dev: DevStack, receiver_processes: int = 1) -> Sandboxes:
    """Start the stack's Redis, both sandboxes and the receiver (no worker); the sandboxes' handle."""
    dev.start_redis()
    dev.start_sandboxes()
    dev.start_receiver(processes=receiver_processes)
    return Sandboxes(dev)


def process_tree(pid: int) -> list[int]:
    """`pid` and its descendants (Linux /proc)."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        for task in Path(f"/proc/{p}/task").glob("*"):
            try:
                todo += [int(c) for c in (task / "children").read_text().split()]
            except OSError:
                pass
    return out


def cpu_seconds(pids) -> float:
    """User + system CPU seconds these processes have used so far."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / tick


def redis_commands(client, command: str | None = None) -> int:
    """Commands the Redis server has run so far (INFO commandstats), ours and Celery's alike, or
    only those named `command`."""
    stats = client.info("commandstats")
    if command:
        return stats.get(f"cmdstat_{command}", {}).get("calls", 0)
    return sum(v["calls"] for k, v in stats.items()
               if k.startswith("cmdstat_") and k not in ("cmdstat_info", "cmdstat_monitor"))


def proc_pid(dev: DevStack, name: str) -> int:
    return next(p.popen.pid for p in dev.processes if p.name == name)


def pct(values, p: float) -> float:
    """The p-th percentile (nearest rank) of `values`."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(1, min(len(ordered), int(round(p / 100 * len(ordered) + 0.5))))
    return ordered[rank - 1]


def median(values) -> float:
    return statistics.median(values) if values else float("nan")


def table(title: str, headers: list[str], rows: list[list], notes: list[str] = ()) -> str:
    out = [f"### {title}", "", "| " + " | ".join(headers) + " |",
           "|" + "|".join("---" for _ in headers) + "|"]
    out += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    if notes:
        out += [""] + [f"- {n}" for n in notes]
    return "\n".join(out) + "\n"


def _cell(value) -> str:
    if isinstance(value, float):
        return f"{value:,.1f}" if abs(value) >= 10 else f"{value:.2f}"
    return str(value)


def ratio(value: float, ceiling: float) -> str:
    return f"{value / ceiling:.0%}" if ceiling else "n/a"



def wait_settled(dev: DevStack, profile_ids, timeout: float = 300.0) -> None:
    """Wait until a set-up's syncs have finished all their work, not only the user writes: every
    profile has its sync mark (written after its identity), nothing is queued, parked or claimed,
    and no drain holds its lease (a drain lingers a few seconds for more). A benchmark that
    measures before then counts the set-up's own writes as its own."""
    import redis

    from integration.store import keys
    from integration.store.state import State

    r = redis.Redis.from_url(dev.env["REDIS_URL"])
    state, wanted = State(r, 1000), [str(p) for p in profile_ids]

    def settled():
        pipe = r.pipeline(transaction=False)
        pipe.llen("sync")
        pipe.zcard(keys.BULK_WAITING)
        pipe.zcard(keys.BULK_CLAIMED)
        pipe.exists(keys.BULK_DRAIN_LOCK)
        pipe.exists(keys.BULK_DRAIN_QUEUED)
        if any(pipe.execute()):
            return False
        return all(all(state.synced_marks(wanted[i:i + 1000]).values())
                   for i in range(0, len(wanted), 1000))

    wait_until(settled, timeout, interval=0.2, what="the set-up's syncs to finish")
