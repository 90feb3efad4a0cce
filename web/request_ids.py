"""Every request gets an id (the caller's X-Request-Id, or a new one) that its log lines carry
and the answer echoes, so an operator can follow one webhook from the receiver to its job."""
from __future__ import annotations

import re
import uuid

from flask import Flask, g, request

from workers.logs import request_id

_SAFE = re.compile(r"^[\w.:-]{1,64}$")


def install(app: Flask) -> None:
    @app.before_request
    def _start():
        given = request.headers.get("X-Request-Id", "")
        g.request_id = given if _SAFE.match(given) else uuid.uuid4().hex
        request_id.set(g.request_id)

    @app.after_request
    def _echo(response):
        rid = g.get("request_id")
        if rid:
            response.headers["X-Request-Id"] = rid
        return response

    @app.teardown_request
    def _end(exc=None):
        request_id.set(None)
