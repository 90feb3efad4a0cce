"""What both sandboxes share: routing, auth, a sliding-window rate limit, JSON, control routes; and
how a stand-in runs as its own process."""
from __future__ import annotations

import collections
import json
import math
import re
import signal
import sys
import threading
import time
from datetime import datetime, timezone
from typing import Callable

from werkzeug.exceptions import HTTPException, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response


class ApiFailure(Exception):
    def __init__(self, status: int, body: dict, headers: dict | None = None):
        self.status, self.body, self.headers = status, body, headers or {}


def json_response(body, status: int = 200, headers: dict | None = None) -> Response:
    return Response(json.dumps(body), status=status, headers=headers,
                    mimetype="application/json")


def omneo_time(ts: float | None = None) -> str:
    return datetime.fromtimestamp(ts or time.time(), timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def iso_time(ts: float | None = None) -> str:
    return datetime.fromtimestamp(ts or time.time(), timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class SandboxApp:
    """A WSGI app. Subclasses add API rules with `route` and implement `authorized`."""

    name = "sandbox"

    def __init__(self, rate_per_minute: int | None = None):
        self.lock = threading.RLock()
        self._map: Map | None = None
        self.rules: list[Rule] = []
        self.handlers: dict[str, object] = {}
        self.rate_per_minute = rate_per_minute
        self._window: collections.deque[float] = collections.deque()
        self.failures: list[dict] = []
        self.latency = 0.0
        self.stats = collections.Counter()
        # every API call with its start and end (unix seconds), to check ordering across processes
        self.call_log: collections.deque[dict] = collections.deque(maxlen=10_000)
        self.traffic = None  # a sandbox.traffic.TrafficRecorder, when its traffic is recorded
        self.url = ""  # where it is served (set by ServerThread), for the URLs its answers carry
        for path, methods, fn in (
            ("/_sandbox/reset", ["POST"], self._ctl_reset),
            ("/_sandbox/config", ["POST"], self._ctl_config),
            ("/_sandbox/stats", ["GET"], self._ctl_stats),
            ("/_sandbox/calls", ["GET"], self._ctl_calls),
        ):
            self.route(path, methods, fn, control=True)
        self.reset()

    # subclass hooks
    def reset(self) -> None:
        self.stats.clear()
        self.call_log.clear()
        self._window.clear()
        self.failures = []

    def authorized(self, request: Request) -> bool:
        raise NotImplementedError

    def unauthorized(self) -> Response:
        return json_response({"error": "Unauthorized"}, 401)

    def route(self, path: str, methods: list[str], fn, control: bool = False) -> None:
        endpoint = f"{'ctl' if control else 'api'}:{fn.__name__}:{len(self.rules)}"
        self.rules.append(Rule(path, methods=methods, endpoint=endpoint))
        self.handlers[endpoint] = fn

    # control routes
    def _ctl_reset(self, request):
        with self.lock:
            self.reset()
        return json_response({"ok": True})

    def _ctl_config(self, request):
        body = request.get_json(force=True)
        with self.lock:
            if "rate_per_minute" in body:
                self.rate_per_minute = body["rate_per_minute"]
                self._window.clear()
            if "fail" in body:  # [{"path": regex, "method": "POST", "status": 503, "count": 2}]
                self.failures = list(body["fail"])
            if "latency" in body:
                self.latency = float(body["latency"])
        return json_response({"ok": True})

    def _ctl_stats(self, request):
        with self.lock:
            return json_response(dict(self.stats))

    def _ctl_calls(self, request):
        with self.lock:
            return json_response({"calls": list(self.call_log)})

    # the WSGI entry point
    def __call__(self, environ, start_response):
        request = Request(environ)
        if self._map is None:
            self.freeze()
        adapter = self._map.bind_to_environ(environ)
        try:
            endpoint, args = adapter.match()
        except NotFound:
            return json_response({"error": "NotFound", "path": request.path}, 404)(environ, start_response)
        except HTTPException as exc:
            return json_response({"error": exc.name}, exc.code)(environ, start_response)
        handler = self.handlers[endpoint]
        if endpoint.startswith("ctl:"):
            try:
                response = handler(request, **args)
            except ApiFailure as exc:
                response = json_response(exc.body, exc.status, exc.headers)
            if self.traffic is not None:
                self.traffic.record(request, response)
            return response(environ, start_response)
        started = time.time()
        response = self._api_call(request, handler, args)
        with self.lock:
            self.call_log.append({"method": request.method, "path": request.path,
                                  "query": request.query_string.decode(errors="replace"),
                                  "status": response.status_code, "started": started,
                                  "ended": time.time()})
        if self.traffic is not None:
            self.traffic.record(request, response)
        return response(environ, start_response)

    def freeze(self) -> None:
        self._map = Map(self.rules)

    def rate_headers(self) -> dict:
        """Headers telling the caller what is left of the budget (none by default); called
        under the lock just after the call took its slot."""
        return {}

    def _api_call(self, request: Request, handler, args) -> Response:
        response = self._limited_call(request, handler, args)
        for name, value in request.environ.get("sandbox.budget", {}).items():
            response.headers[name] = value
        return response

    def _limited_call(self, request: Request, handler, args) -> Response:
        with self.lock:
            self.stats["calls"] += 1
            limited = self._rate_limited()
            request.environ["sandbox.budget"] = self.rate_headers()
            if limited:
                self.stats["rate_limited"] += 1
                return json_response({"error": "TooManyRequests",
                                      "description": "Rate limit exceeded"}, 429,
                                     {"Retry-After": str(limited)})
        if not self.authorized(request):
            return self.unauthorized()
        injected = self._injected_failure(request)
        if injected is not None:
            return injected
        if self.latency:
            time.sleep(self.latency)
        try:
            with self.lock:
                response = handler(request, **args)
        except ApiFailure as exc:
            response = json_response(exc.body, exc.status, exc.headers)
        if request.method != "GET" and response.status_code < 300:
            with self.lock:
                self.stats["writes"] += 1
                self.stats[f"writes:{request.method} {_shape(request.path)}"] += 1
        return response

    def _rate_limited(self) -> int:
        """Seconds until a slot frees in the sliding one-minute window, or 0 when allowed."""
        if not self.rate_per_minute:
            return 0
        now = time.monotonic()
        while self._window and now - self._window[0] >= 60:
            self._window.popleft()
        if len(self._window) >= self.rate_per_minute:
            return max(1, math.ceil(60 - (now - self._window[0])))
        self._window.append(now)
        return 0

    def _injected_failure(self, request: Request) -> Response | None:
        with self.lock:
            for rule in self.failures:
                if rule.get("count", 0) <= 0:
                    continue
                if rule.get("method") and rule["method"] != request.method:
                    continue
                if not re.search(rule.get("path", ""), request.path):
                    continue
                rule["count"] -= 1
                self.stats["injected_failures"] += 1
                headers = {"Retry-After": str(rule["retry_after"])} if "retry_after" in rule else None
                return json_response(rule.get("body", {"error": "InjectedFailure"}),
                                     rule.get("status", 503), headers)
        return None


def _shape(path: str) -> str:
    return re.sub(r"/[0-9a-f-]{6,}|/\d+", "/:id", path)


class ServerThread:
    """Serve a sandbox on a local port in a background thread (threaded, so calls overlap)."""

    def __init__(self, app: SandboxApp, host: str = "127.0.0.1", port: int = 0):
        app.freeze()
        self.server = make_server(host, port, app, threaded=True)
        self.port = self.server.server_port
        self.url = f"http://{host}:{self.port}"
        app.url = self.url
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True,
                                       name=f"{app.name}-sandbox")

    def start(self) -> "ServerThread":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()


def serve_until_signalled(banner: str, stop: Callable[[], None]) -> None:
    """Print `banner` (DevStack waits for it), serve until SIGTERM or SIGINT, then `stop()` and exit."""
    print(banner, flush=True)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    done.wait()
    stop()
    sys.exit(0)
