"""Reading back a job that sits in a Celery queue list in Redis, as a worker would see it."""
from __future__ import annotations

import base64
import json


def decode(raw: bytes) -> dict:
    message = json.loads(raw)
    assert message["properties"]["body_encoding"] == "base64"
    args, kwargs, _embed = json.loads(base64.b64decode(message["body"]))
    return {"name": message["headers"]["task"], "task_id": message["headers"]["id"], "args": args,
            "kwargs": kwargs, "queue": message["properties"]["delivery_info"]["routing_key"]}
