"""Start the whole product as real local processes: Redis, the two sandboxes, receiver, workers.

`omneo-zendesk dev`, the end-to-end tests and the benchmarks all stand on this.
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

import requests

SANDBOX_OMNEO_TOKEN = "sandbox-omneo-token"
SANDBOX_ZENDESK_EMAIL = "agent@example.com"
SANDBOX_ZENDESK_TOKEN = "sandbox-zendesk-token"  # the deprecated way in; tests' own calls use it
SANDBOX_ZENDESK_CLIENT_ID = "omneo_zendesk_sandbox"
SANDBOX_ZENDESK_CLIENT_SECRET = "sandbox-zendesk-oauth-client-secret"
SANDBOX_OMNEO_WEBHOOK_SECRET = "sandbox-omneo-webhook-secret"
SANDBOX_ZENDESK_WEBHOOK_SECRET = "sandbox-zendesk-webhook-secret"
SANDBOX_APP_SECRET = "sandbox-zendesk-app-shared-secret"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(predicate: Callable[[], object], timeout: float = 20.0, interval: float = 0.05,
               what: str = "condition"):
    """Poll `predicate` until it returns something truthy; raise TimeoutError after `timeout`."""
    deadline = time.monotonic() + timeout
    last_exc = None
    while time.monotonic() < deadline:
        try:
            value = predicate()
            if value:
                return value
        except Exception as exc:  # not ready yet
            last_exc = exc
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout}s waiting for {what}"
                       + (f" (last error: {last_exc!r})" if last_exc else ""))


class Process:
    """A child process with its output in a log file; stopped with its whole process group."""

    def __init__(self, name: str, argv: list[str], env: dict, log_dir: Path):
        self.name, self.argv, self.env = name, argv, env
        self.log_path = log_dir / f"{name}.log"
        self.popen: subprocess.Popen | None = None
        self.log_offset = 0

    def start(self) -> "Process":
        log = open(self.log_path, "ab")
        self.log_offset = log.tell()  # a restart appends: wait_for_log reads only this run's part
        self.popen = subprocess.Popen(self.argv, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                      stdin=subprocess.DEVNULL, start_new_session=True)
        log.close()
        return self

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def log_since_start(self) -> str:
        try:
            return self.log_path.read_bytes()[self.log_offset:].decode(errors="replace")
        except FileNotFoundError:
            return ""

    def wait_for_log(self, text: str, timeout: float = 30.0) -> None:
        def seen():
            if self.popen and self.popen.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.popen.returncode}:\n{self.log()[-3000:]}")
            return text in self.log_since_start()
        try:
            wait_until(seen, timeout, what=f"{self.name} to print {text!r}")
        except RuntimeError as exc:
            raise TimeoutError(str(exc)) from None

    def alive(self) -> bool:
        return bool(self.popen and self.popen.poll() is None)

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.alive():
            try:
                os.killpg(self.popen.pid, sig)
            except ProcessLookupError:
                pass

    def stop(self, timeout: float = 10.0) -> None:
        if not self.alive():
            return
        self.kill(signal.SIGTERM)
        try:
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill(signal.SIGKILL)
            self.popen.wait(5)


def python_argv(*args: str) -> list[str]:
    return [sys.executable, *args]


def cli_argv(*args: str) -> list[str]:
    return [sys.executable, "-m", "web.cli", *args]


class DevStack:
    """Processes of one local deployment and the environment they share."""

    def __init__(self, log_dir: str | Path | None = None, base_env: dict | None = None):
        self.log_dir = Path(log_dir or tempfile.mkdtemp(prefix="omneo-zendesk-"))
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.processes: list[Process] = []
        self.env = dict(base_env if base_env is not None else os.environ)
        self.env.setdefault("PYTHONUNBUFFERED", "1")
        # child processes import this checkout, whichever copy is installed
        root = str(Path(__file__).resolve().parents[2])
        self.env["PYTHONPATH"] = os.pathsep.join(p for p in (root, self.env.get("PYTHONPATH")) if p)
        # the receiver's /metrics sums every process of this stack (see workers/metrics.py)
        self.env.setdefault("PROMETHEUS_MULTIPROC_DIR", str(self.log_dir / "metrics"))
        self.urls: dict[str, str] = {}

    def _spawn(self, name: str, argv: list[str], env: dict | None = None) -> Process:
        proc = Process(name, argv, env or self.env, self.log_dir).start()
        self.processes.append(proc)
        return proc

    # Redis
    def start_redis(self, port: int | None = None, prefer: str = "auto") -> str:
        """Start redis-server (again, on `port`, after stop_redis) with nothing persisted.

        `prefer`: "auto" (the binary when there is one), "redis-server" or "fakeredis"."""
        port = port or free_port()
        binary = shutil.which("redis-server") if prefer != "fakeredis" else None
        if prefer == "redis-server" and not binary:
            raise RuntimeError("redis-server is not on the PATH")
        if binary:
            data = self.log_dir / "redis"
            data.mkdir(exist_ok=True)
            proc = self._spawn("redis", [binary, "--port", str(port), "--bind", "127.0.0.1",
                                         "--save", "", "--appendonly", "no", "--dir", str(data)])
            proc.wait_for_log("Ready to accept connections", 20)
        else:  # slow in-process fallback; only for `dev` on a machine without Redis
            proc = self._spawn("redis", python_argv("-m", "integration.sandbox.fakeredis_server",
                                                    "--port", str(port)))
            proc.wait_for_log("listening", 20)
        url = f"redis://127.0.0.1:{port}/0"
        self.env["REDIS_URL"] = url
        self.urls["redis"] = url
        self.redis_kind = "redis-server" if binary else "fakeredis (in-process, slow)"
        return url

    def stop_redis(self) -> int:
        """Stop redis-server, as an outage would; returns its port for start_redis(port)."""
        proc = next(p for p in self.processes if p.name == "redis" and p.alive())
        proc.stop()
        self.processes.remove(proc)
        return int(self.urls["redis"].rsplit(":", 1)[1].split("/")[0])

    # the two sandbox APIs
    def start_sandboxes(self, zendesk_rate: int | None = None, omneo_rate: int | None = None,
                        extra: dict | None = None, token_lifetime: float | None = None) -> None:
        """The product reaches Zendesk's sandbox with OAuth client credentials (the sandbox grants
        tokens of at most `token_lifetime` seconds when given); the sandbox still takes the
        deprecated API token too."""
        zargs = ["zendesk", "--email", SANDBOX_ZENDESK_EMAIL, "--token", SANDBOX_ZENDESK_TOKEN,
                 "--webhook-secret", SANDBOX_ZENDESK_WEBHOOK_SECRET,
                 "--client-id", SANDBOX_ZENDESK_CLIENT_ID, "--client-secret", SANDBOX_ZENDESK_CLIENT_SECRET]
        if token_lifetime:
            zargs += ["--token-lifetime", str(token_lifetime)]
        oargs = ["omneo", "--token", SANDBOX_OMNEO_TOKEN, "--webhook-secret", SANDBOX_OMNEO_WEBHOOK_SECRET]
        if zendesk_rate:
            zargs += ["--rate-per-minute", str(zendesk_rate)]
        if omneo_rate:
            oargs += ["--rate-per-minute", str(omneo_rate)]
        for name, args in (("zendesk", zargs), ("omneo", oargs)):
            port = free_port()
            proc = self._spawn(f"{name}-sandbox",
                               python_argv("-m", "integration.sandbox", *args, "--port", str(port)))
            proc.wait_for_log("sandbox listening", 20)
            self.urls[f"{name}_sandbox"] = f"http://127.0.0.1:{port}"
        self.env.update({
            "OMNEO_TENANT": "sandbox",
            "OMNEO_BASE_URL": self.urls["omneo_sandbox"] + "/api/v3",
            "OMNEO_API_TOKEN": SANDBOX_OMNEO_TOKEN,
            "OMNEO_WEBHOOK_SECRET": SANDBOX_OMNEO_WEBHOOK_SECRET,
            "ZENDESK_BASE_URL": self.urls["zendesk_sandbox"],
            "ZENDESK_CLIENT_ID": SANDBOX_ZENDESK_CLIENT_ID,
            "ZENDESK_CLIENT_SECRET": SANDBOX_ZENDESK_CLIENT_SECRET,
            "ZENDESK_WEBHOOK_SECRET": SANDBOX_ZENDESK_WEBHOOK_SECRET,
            "ZENDESK_APP_SECRET": SANDBOX_APP_SECRET,
            **(extra or {}),
        })

    # the product's own processes
    def start_receiver(self, port: int | None = None, processes: int = 1) -> str:
        port = port or free_port()
        proc = self._spawn("receiver", cli_argv("web", "--host", "127.0.0.1", "--port", str(port),
                                                "--workers", str(processes)))
        url = f"http://127.0.0.1:{port}"
        wait_until(lambda: proc.alive() and requests.get(url + "/healthz", timeout=1).ok, 30,
                   what="the receiver")
        self.urls["receiver"] = url
        return url

    def start_worker(self, name: str = "worker", queues: str | None = None, concurrency: int = 2,
                     env: dict | None = None) -> Process:
        """A worker on `queues` (comma-separated; default: the worker's own, every queue)."""
        chosen = ["-Q", queues] if queues else []
        proc = self._spawn(name, cli_argv("worker", *chosen, "-c", str(concurrency),
                                          "--loglevel", "INFO"), env)
        proc.wait_for_log("ready.", 60)
        return proc

    def start_beat(self, name: str = "beat") -> Process:
        proc = self._spawn(name, cli_argv("beat", "--loglevel", "INFO",
                                          "--schedule-file", str(self.log_dir / "beat-schedule")))
        proc.wait_for_log("beat: Starting", 60)
        return proc

    def stop(self) -> None:
        for proc in reversed(self.processes):
            proc.stop()
        self.processes.clear()
