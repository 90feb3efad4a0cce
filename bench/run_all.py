"""Run every benchmark in turn and write bench/RESULTS.md with their tables, the commit and the
machine. Each script prints its markdown table on stdout (progress on stderr) and stands alone:

    python3 bench/run_all.py [--only ingest,latency] [--output bench/RESULTS.md]
"""
from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

# (name, script candidates: the first that exists runs, what it measures)
BENCHMARKS = [
    ("ingest", ["ingest.py"], "signed webhooks per second through the receiver vs bare Flask"),
    ("ingest_wait", ["ingest_wait.py"], "ingest with WAIT for a replica vs without, one run"),
    ("sync_throughput", ["sync_throughput.py"], "profiles synced per minute vs the Zendesk budget R"),
    ("latency", ["latency.py"], "webhook to Zendesk user updated, idle and with a backlog"),
    ("sidebar", ["sidebar.py"], "GET /sidebar/profile, cold and warm"),
    ("backfill", ["backfill.py"], "bulk backfill users per minute vs 100 x R"),
    ("erasure_backlog", ["erasure_backlog.py"], "an erasure's wait behind a sync backlog"),
    ("erasure_mass", ["erasure_mass.py"], "erasures a minute vs the permanent-deletion limit"),
    ("redis_memory", ["redis_memory.py"], "Redis bytes a profile (watermarks) and a delivery (dedupe marks) vs the old layout"),
]
TIMEOUT_SECONDS = 1200


def git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True).stdout.strip()


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine() -> str:
    load = " / ".join(f"{x:.2f}" for x in os.getloadavg())
    return (f"{os.cpu_count()} CPUs (nproc), {cpu_model()}, Python {platform.python_version()}, "
            f"{platform.system()} {platform.release()}; load average at start {load}")


def run_one(script: Path) -> tuple[str, float]:
    started = time.monotonic()
    proc = subprocess.run([sys.executable, str(script)], cwd=ROOT, stdout=subprocess.PIPE,
                          stderr=None, text=True, timeout=TIMEOUT_SECONDS)
    took = time.monotonic() - started
    if proc.returncode != 0:
        return (f"**failed** (exit {proc.returncode}); output so far:\n\n```\n{proc.stdout[-2000:]}\n```\n",
                took)
    if not proc.stdout.lstrip().startswith("#"):  # a plain-text table: keep its columns
        return f"```text\n{proc.stdout.rstrip()}\n```\n", took
    return proc.stdout, took


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", default="", help="comma-separated names: " + ", ".join(b[0] for b in BENCHMARKS))
    ap.add_argument("--output", default=str(HERE / "RESULTS.md"))
    args = ap.parse_args(argv)
    only = {x.strip() for x in args.only.split(",") if x.strip()}

    commit = git("rev-parse", "--short", "HEAD")
    output = os.path.relpath(os.path.abspath(args.output), ROOT)
    changed = [line for line in git("status", "--porcelain", "--untracked-files=no").splitlines()
               if line.split(maxsplit=1)[-1] != output]  # a results file of an earlier run is not code
    dirty = " (with uncommitted changes)" if changed else ""
    started = datetime.now(timezone.utc)
    header = [
        "# Benchmark results", "",
        f"- commit: `{commit}`{dirty}",
        f"- run: {started:%Y-%m-%d %H:%M} UTC, by `python3 bench/run_all.py`",
        f"- machine: {machine()}",
        "",
        "Every figure stands beside a ceiling measured in the same run on the same machine. "
        "The machine is shared and its speed drifts (other work was running during this run), so "
        "the absolute numbers move from run to run: **the ratios against the ceilings are what "
        "matter**. Each script can be run alone; `--help` lists its knobs. What each one measures, "
        "and what profiling found, is in [README.md](README.md) beside this file.",
        "",
    ]
    sections, failed = [], 0
    for name, candidates, what in BENCHMARKS:
        if only and name not in only:
            continue
        script = next((HERE / c for c in candidates if (HERE / c).exists()), None)
        sections.append(f"## {name}: {what}\n")
        if script is None:
            sections.append("not run: no script on this checkout\n")
            continue
        print(f"== {name}: {script.relative_to(ROOT)}", file=sys.stderr, flush=True)
        try:
            out, took = run_one(script)
        except subprocess.TimeoutExpired:
            out, took = f"**failed**: over {TIMEOUT_SECONDS} s\n", TIMEOUT_SECONDS
        failed += out.startswith("**failed**")
        print(out, flush=True)
        sections.append(f"`python3 {script.relative_to(ROOT)}` ({took:.0f} s)\n\n{out}")
    load = " / ".join(f"{x:.2f}" for x in os.getloadavg())
    header.insert(5, f"- load average at the end: {load} (1 / 5 / 15 minutes; 2 means both cores busy)")
    Path(args.output).write_text("\n".join(header + sections))
    print(f"wrote {args.output}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
