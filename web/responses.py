"""The receivers' answers, shaped the same everywhere."""
from __future__ import annotations

from flask import jsonify


def accepted(job_id: str, **extra):
    """202 naming the job, in the body and in X-Job-Id (which the access log line records)."""
    return jsonify(status="accepted", job_id=job_id, **extra), 202, {"X-Job-Id": job_id}


def ignored(reason: str, **extra):
    return jsonify(status="ignored", reason=reason, **extra), 200


def problem(status: int, message: str):
    return jsonify(status="error", error=message), status
