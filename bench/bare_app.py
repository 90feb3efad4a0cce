"""The ingest ceiling: a bare Flask endpoint at the receiver's path that reads the body and
answers 202, served under the same gunicorn settings as `omneo-zendesk web`."""
from __future__ import annotations

import uuid

from flask import Flask, jsonify, request

application = Flask("bare")


@application.post("/webhooks/omneo")
def receive():
    request.get_data()
    return jsonify(status="accepted", job_id=uuid.uuid4().hex), 202


@application.get("/healthz")
def healthz():
    return jsonify(status="ok")
