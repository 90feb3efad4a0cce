"""The conformance check itself (tests/zendesk_conformance.py): it refuses what Zendesk's
description refuses, naming the operation and the field, and takes what it allows."""
from __future__ import annotations

import json

import pytest

from tests.zendesk_conformance import Report, check_directory, check_record
from tests.zendesk_exceptions import EXCEPTIONS


def call(method, path, body=None, query="", status=200, answer=None, client="product"):
    return {"method": method, "path": path, "query": query, "content_type": "application/json",
            "body": json.dumps(body) if body is not None else None, "client": client, "auth": "bearer",
            "status": status, "response_content_type": "application/json",
            "response_body": json.dumps(answer) if answer is not None else None}


def findings(record) -> list[str]:
    report = Report()
    check_record(record, report)
    return [str(f) for f in report.findings]


USER = {"id": 36000000001, "url": "https://example.zendesk.com/api/v2/users/36000000001.json",
        "name": "Ana", "email": None, "phone": "+61400000001", "external_id": "p1", "role": "end-user",
        "active": True, "created_at": "2026-12-01T10:00:00Z", "updated_at": "2026-12-01T10:00:00Z"}


def test_a_request_and_an_answer_the_description_allows_pass():
    assert findings(call("POST", "/api/v2/users/create_or_update",
                         {"user": {"name": "Ana", "external_id": "p1", "phone": "+61400000001"}},
                         status=201, answer={"user": USER})) == []


@pytest.mark.parametrize("record, expected", [
    (call("POST", "/api/v2/users/create_or_update_many", {"users": {"name": "Ana"}},
          answer={"job_status": {"id": "j1", "status": "queued"}}),
     "CreateOrUpdateManyUsers: request: users: {'name': 'Ana'} is not of type 'array'"),
    (call("GET", "/api/v2/users/ana", answer={"user": USER}),
     "ShowUser: request: path user_id: "),
    (call("GET", "/api/v2/users/search", query="externalid=p1", answer={"users": []}),
     "SearchUsers: request: query externalid: a parameter the operation does not declare"),
    (call("GET", "/api/v2/users/36000000001", answer={"user": dict(USER, id="36000000001")}),
     "ShowUser: answer 200: user.id: '36000000001' is not of type 'integer'"),
    (call("GET", "/api/v2/users/36000000001/tickets/ccd", answer={"tickets": []}),
     "GET /api/v2/users/36000000001/tickets/ccd: request: path: no operation in Zendesk's description"),
])
def test_what_the_description_refuses_fails_naming_operation_and_field(record, expected):
    assert any(f.startswith(expected) for f in findings(record)), findings(record)


def test_a_tests_own_call_has_only_its_answer_checked():
    assert findings(call("GET", "/api/v2/users/search", query="externalid=p1", answer={"users": []},
                         client="other")) == []


def test_documented_exceptions_are_taken_and_each_names_its_doc():
    assert all(entry["doc"] and entry["what"] for entry in EXCEPTIONS)
    grant = {"grant_type": "client_credentials", "client_id": "c", "client_secret": "masked",
             "scope": "users:read", "expires_in": 1800}
    token = {"access_token": "masked", "token_type": "bearer", "scope": "users:read", "expires_in": 1800}
    assert findings(call("POST", "/oauth/tokens", grant, answer=token)) == []
    assert findings(call("POST", "/oauth/tokens", dict(grant, expires_in=60), answer=token)) == [
        "CreateTokenForGrantType: request: expires_in: 60 is less than the minimum of 300 (POST /oauth/tokens)"]
    assert findings(call("GET", "/api/v2/users/36000000001/tickets/requested",
                         answer={"tickets": [], "next_page": None, "count": 0})) == []


def test_a_directory_of_recordings_is_read_once_per_distinct_call(tmp_path):
    bad = call("GET", "/api/v2/users/36000000001", answer={"user": dict(USER, id="x")})
    (tmp_path / "zendesk-1.jsonl").write_text((json.dumps(bad) + "\n") * 3)
    (tmp_path / "omneo-1.jsonl").write_text(json.dumps(bad) + "\n")
    report = check_directory(tmp_path)
    assert report.requests == 1 and report.answers == 1 and report.operations == {"ShowUser"}
    assert [f.field for f in report.findings] == ["user.id"]


@pytest.mark.parametrize("record, expected", [
    (call("POST", "/api/v2/users/create_or_update", {"user": {"name": "Ana", "tags": "omneo_tier_gold"}},
          status=201, answer={"user": USER}),
     "CreateOrUpdateUser: request: user.tags: 'omneo_tier_gold' is not of type 'array'"),
    (call("PUT", "/api/v2/users/36000000001/merge", {"user": {"id": "36000000002"}}, answer={"user": USER}),
     "MergeEndUsers: request: user.id: '36000000002' is not of type 'integer'"),
    (call("POST", "/api/v2/users/create_or_update_many", {"users": [{"name": "A"}] * 101},
          answer={"job_status": {"id": "j1", "status": "queued"}}),
     "CreateOrUpdateManyUsers: request: users: "),
])
def test_users_sent_are_held_against_the_user_attributes_types(record, expected):
    assert any(f.startswith(expected) for f in findings(record)), findings(record)
