"""A sandbox's record of its API traffic, for holding it against the vendor's own description.

With `--record-traffic DIR` (or `SANDBOX_TRAFFIC_DIR` in its environment) a sandbox process
appends one JSON line per API call to `DIR/<api>-<pid>.jsonl`: method, path, query, the request's
content type and body, who sent it (`product`: our client's User-Agent; `other`: a test's own
call), the answer's status, content type and body. Control routes (`/_sandbox/...`) are not
recorded. Credentials are not kept: only the auth scheme, and the OAuth grant's secret is masked.
"""
from __future__ import annotations

import json
import os
import threading
from pathlib import Path

from integration.apis.http import USER_AGENT

ENV = "SANDBOX_TRAFFIC_DIR"
_MASKED = ("client_secret", "access_token", "refresh_token", "secret")


FORGED_HEADER = "X-Sandbox-Forged"  # an answer a test forged on purpose: not Zendesk's shape


class TrafficRecorder:
    def __init__(self, directory: str | Path, api: str):
        Path(directory).mkdir(parents=True, exist_ok=True)
        self.path = Path(directory) / f"{api}-{os.getpid()}.jsonl"
        self._lock = threading.Lock()

    def record(self, request, response) -> None:
        if request.path.startswith("/_sandbox/"):
            return
        auth = request.headers.get("Authorization", "")
        line = {"method": request.method, "path": request.path,
                "query": request.query_string.decode(errors="replace"),
                "content_type": request.content_type or "",
                "body": _masked(request.get_data(as_text=True)) or None,
                "client": "product" if request.headers.get("User-Agent") == USER_AGENT else "other",
                "auth": auth.split(" ", 1)[0].lower() if auth else None,
                "status": response.status_code, "response_content_type": response.content_type or "",
                "response_body": _masked(response.get_data(as_text=True)) or None,
                "forged": response.headers.get(FORGED_HEADER) == "1"}
        text = json.dumps(line) + "\n"
        with self._lock, open(self.path, "a", encoding="utf-8") as out:
            out.write(text)


def _masked(text: str) -> str:
    """The body with secrets' values replaced by a placeholder of the same JSON type."""
    if not text or not any(key in text for key in _MASKED):
        return text
    try:
        body = json.loads(text)
    except ValueError:
        return text
    return json.dumps(_mask(body))


def _mask(value):
    if isinstance(value, dict):
        return {k: ("masked" if k in _MASKED and isinstance(v, str) else _mask(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [_mask(v) for v in value]
    return value


def from_environment(api: str, directory: str | None = None) -> TrafficRecorder | None:
    directory = directory or os.environ.get(ENV)
    return TrafficRecorder(directory, api) if directory else None
