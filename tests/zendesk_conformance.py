"""Zendesk's own OpenAPI descriptions, held against what the Zendesk sandbox saw and answered.

The sandbox records its traffic (`integration/sandbox/traffic.py`); `check_directory` validates
every request our product sent (method, path, query, JSON body) and every answer the sandbox gave
whose status the description covers, with openapi-core, and returns each mismatch naming the
operation and the field. Where the description is silent or wrong and Zendesk's developer docs
say otherwise, the exception is in `tests/zendesk_exceptions.py`, with the doc it comes from:
nowhere else.
"""
from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl

import yaml
from openapi_core import Config, OpenAPI
from openapi_core.templating.paths.exceptions import PathError
from openapi_core.templating.paths.finders import APICallPathFinder
from openapi_core.templating.responses.exceptions import ResponseNotFound
from openapi_core.testing import MockRequest, MockResponse

from tests.zendesk_exceptions import EXCEPTIONS, NULLABLE, PAGINATION

SUPPORT, WEBHOOKS = "zendesk-support-openapi.yaml", "zendesk-webhooks-openapi.yaml"
HOST = "https://example.zendesk.com"  # the descriptions' server, `https://{subdomain}.zendesk.com`
# the descriptions declare HTTP basic auth only; our product sends OAuth bearer tokens (see
# zendesk_exceptions), so every request is validated as if it carried the declared scheme
_AUTH = {"Authorization": "Basic ZXhhbXBsZTpleGFtcGxl"}

@dataclass(frozen=True)
class Finding:
    operation: str
    where: str  # "request" or "answer <status>"
    field: str
    message: str
    sample: str  # method and path of the call

    def __str__(self) -> str:
        return f"{self.operation}: {self.where}: {self.field}: {self.message} ({self.sample})"


@dataclass
class Report:
    requests: int = 0  # product requests validated
    answers: int = 0  # sandbox answers validated
    operations: set = field(default_factory=set)
    uncovered_statuses: int = 0  # answers whose status the description does not list
    forged: int = 0  # answers a test forged on purpose (tests/zendesk_exceptions.py)
    findings: list = field(default_factory=list)

    def summary(self) -> str:
        return (f"Zendesk conformance: {self.requests} requests and {self.answers} answers over "
                f"{len(self.operations)} operations checked against Zendesk's OpenAPI description "
                f"({self.uncovered_statuses} answers with a status it does not describe, {self.forged} forged "
                f"on purpose by a test); "
                f"{len(set(self.findings))} findings")


def specs_directory() -> Path:
    """`shared/specs` beside the checkout (or beside any folder above it)."""
    here = Path(__file__).resolve().parents[1]
    for folder in (here, *here.parents):
        candidate = folder / "shared" / "specs"
        if (candidate / SUPPORT).exists():
            return candidate
    raise FileNotFoundError(f"no shared/specs/{SUPPORT} beside {here} or above it")


class _Loader(yaml.CSafeLoader if hasattr(yaml, "CSafeLoader") else yaml.SafeLoader):
    """The safe loader, plus the one scalar in Zendesk's file that is a bare `=` (YAML's
    `value` tag, which the safe loader refuses): read as the string it is."""


_Loader.add_constructor("tag:yaml.org,2002:value", lambda loader, node: loader.construct_scalar(node))


def _amend(spec: dict) -> dict:
    """The description with the general exceptions of EXCEPTIONS applied."""
    schemas = spec.get("components", {}).get("schemas", {})
    for name, properties in NULLABLE.items():
        for prop in properties:
            found = schemas.get(name, {}).get("properties", {}).get(prop)
            if found is not None:
                found["nullable"] = True
                if "enum" in found:
                    found["enum"] = [*found["enum"], None]

    def any_of(node):
        if isinstance(node, dict):
            if "oneOf" in node:
                node["anyOf"] = node.pop("oneOf")
            for value in node.values():
                any_of(value)
        elif isinstance(node, list):
            for value in node:
                any_of(value)
    any_of(spec)
    return spec


@functools.lru_cache(maxsize=None)
def _api(name: str) -> OpenAPI:
    with open(specs_directory() / name, encoding="utf-8") as handle:
        spec = _amend(yaml.load(handle, Loader=_Loader))
    # Zendesk's file does not pass a strict spec check (path parameters it never declares);
    # the operations we use are sound, so requests and answers are validated without it
    return OpenAPI.from_dict(spec, config=Config(spec_validator_cls=None))


def _specific() -> list[dict]:
    return [entry for entry in EXCEPTIONS if entry["path"] != "*"]


def _exception(method: str, path: str) -> dict:
    """The specific exception for this call, if any (a literal path before a templated one)."""
    matches = [entry for entry in _specific() if entry["method"] == method and re.fullmatch(
        re.sub(r"\\\{[a-z_]+\\\}", r"[^/]+", re.escape(entry["path"])), path)]
    return min(matches, key=lambda entry: entry["path"].count("{"), default={})


def check_record(record: dict, report: Report) -> None:
    """Validate one recorded call; findings go to `report`."""
    method, path = record["method"].upper(), record["path"]
    sample = f"{method} {path}"
    api_name, api_path = (WEBHOOKS, path) if path.startswith("/api/v2/webhooks") else (SUPPORT, path)
    api = _api(api_name)
    entry = _exception(method, path)
    lookup = api_path
    if entry.get("as"):
        lookup = entry["as"]
    elif entry.get("path_values"):
        for name, value in entry["path_values"].items():
            lookup = lookup.replace(f"/{value}", "/1")
    try:
        found = APICallPathFinder(api.spec).find(method.lower(), HOST + lookup)
    except PathError:
        report.findings.append(Finding(f"{method} {path}", "request", "path",
                                       "no operation in Zendesk's description, and no documented "
                                       "exception in tests/zendesk_exceptions.py", sample))
        return
    operation = found.operation["operationId"]
    report.operations.add(operation)
    query = parse_qsl(record.get("query") or "", keep_blank_values=True)
    given = {name for name, _ in query}
    if entry.get("cursor_pages") and "cursor" in given and entry["cursor_pages"] not in given:
        query.append((entry["cursor_pages"], "0"))  # the first page's, which the next pages leave out
    request = MockRequest(HOST, method.lower(), lookup, args=query, headers=_AUTH,
                          data=(record.get("body") or "").encode() or None,
                          content_type=record.get("content_type") or "application/json")
    if record.get("client") == "product":
        report.requests += 1
        _check_request(api, found, request, query, entry, operation, report, sample)
    if record.get("forged"):
        report.forged += 1
    elif record.get("status", 500) < 500:
        _check_answer(api, request, record, entry, operation, report, sample)


def _check_request(api, found, request, query, entry, operation, report, sample) -> None:
    declared = {p["name"] for p in [*found.path.get("parameters", []), *found.operation.get("parameters", [])]}
    for name, _ in query:
        if name not in declared and name not in PAGINATION:
            report.findings.append(Finding(operation, "request", f"query {name}",
                                           "a parameter the operation does not declare", sample))
    if entry.get("request_schema"):
        _schema(entry["request_schema"], request.body, operation, "request", report, sample)
        return
    if entry.get("user_body"):
        _schema(_user_body(api, entry), request.body, operation, "request", report, sample, oas=True)
    try:
        api.validate_request(request)
    except Exception as exc:  # openapi-core's errors: one finding each, named by field
        report.findings.extend(_findings(exc, operation, "request", sample))


def _check_answer(api, request, record, entry, operation, report, sample) -> None:
    status, body = record["status"], record.get("response_body")
    if entry.get("response_schema"):
        if status in entry.get("statuses", (200,)):
            report.answers += 1
            _schema(entry["response_schema"], (body or "").encode(), operation, f"answer {status}",
                    report, sample)
        else:
            report.uncovered_statuses += 1
        return
    response = MockResponse((body or "").encode(), status_code=status,
                            content_type=record.get("response_content_type") or "application/json")
    try:
        api.validate_response(request, response)
        report.answers += 1
    except ResponseNotFound:
        report.uncovered_statuses += 1
    except Exception as exc:
        if isinstance(exc.__cause__, ResponseNotFound):
            report.uncovered_statuses += 1
            return
        report.answers += 1
        report.findings.extend(_findings(exc, operation, f"answer {status}", sample))


def _user_body(api: OpenAPI, entry: dict) -> dict:
    """`{"user": ...}` (or `{"users": [...]}`) held against one of the description's user schemas,
    its attributes' own types (those given by reference, such as a photo, left out)."""
    found = (api.spec / "components" / "schemas" / entry["user_body"]).read_value()
    properties = {k: v for k, v in found.get("properties", {}).items() if "$ref" not in json.dumps(v)}
    required = list(entry.get("require") or ([] if entry.get("optional_name") or entry.get("many") else ["name"]))
    user = {"type": "object", "properties": properties, "required": required}
    if entry.get("many"):
        return {"type": "object", "required": ["users"],
                "properties": {"users": {"type": "array", "maxItems": 100, "items": user}}}
    return {"type": "object", "required": ["user"], "properties": {"user": user}}


def _schema(schema: dict, raw: bytes | None, operation, where, report, sample, oas: bool = False) -> None:
    from jsonschema import Draft202012Validator
    from openapi_schema_validator import OAS30Validator
    try:
        value = json.loads(raw or b"null")
    except ValueError:
        report.findings.append(Finding(operation, where, "body", "not JSON", sample))
        return
    validator = OAS30Validator(schema) if oas else Draft202012Validator(schema)
    for error in validator.iter_errors(value):
        report.findings.append(Finding(operation, where, _dotted(error.absolute_path) or "body",
                                       error.message, sample))


def _findings(exc: Exception, operation: str, where: str, sample: str) -> list[Finding]:
    cause = exc.__cause__
    errors = [leaf for error in getattr(cause, "schema_errors", None) or [] for leaf in _leaves(error)]
    if errors:
        return list(dict.fromkeys(Finding(operation, where, _dotted(e.absolute_path) or "body",
                                          e.message[:200], sample) for e in errors))
    name = getattr(exc, "name", None)
    location = getattr(exc, "location", None)
    label = f"{location} {name}" if name else type(exc).__name__
    detail = str(cause) if cause is not None else str(exc)
    return [Finding(operation, where, label, detail[:300], sample)]


def _leaves(error):
    """The innermost errors under an anyOf/oneOf (which name the field), else the error."""
    if not error.context:
        return [error]
    return [leaf for sub in error.context for leaf in _leaves(sub)]


def _dotted(path) -> str:
    """`users.3.email` as `users[].email`: one finding per field, whichever item showed it."""
    return ".".join("[]" if isinstance(p, int) else str(p) for p in path).replace(".[]", "[]")


def check_directory(directory: str | Path) -> Report:
    """Every call the Zendesk sandboxes recorded under `directory`, identical calls once."""
    report, seen = Report(), set()
    for recording in sorted(Path(directory).glob("zendesk-*.jsonl")):
        with open(recording, encoding="utf-8") as lines:
            for line in lines:
                if line in seen:
                    continue
                seen.add(line)
                check_record(json.loads(line), report)
    return report
