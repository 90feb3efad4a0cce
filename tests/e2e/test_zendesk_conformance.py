"""Every call our product made to the Zendesk sandbox in this run, and every answer the sandbox
gave, held against Zendesk's OpenAPI description (tests/zendesk_conformance.py). Runs last, so
it sees the traffic of every end-to-end test before it; run alone, it checks its own sync's."""
from __future__ import annotations

import os

import pytest

from integration.sandbox import traffic
from tests.e2e.conftest import CONFORMANCE_SUMMARY
from tests.zendesk_conformance import check_directory

pytestmark = pytest.mark.e2e


def test_zendesk_traffic_matches_zendesk_description(stack, request):
    profile = stack.put_profile(id="p-conformance", first_name="Ana", last_name="Lima",
                                email="ana.lima@example.com", mobile_phone="+61400000999", tier="gold")
    assert stack.post_omneo("profile.created", profile).status_code == 202
    stack.wait(lambda: any(i["handle"] == "zendesk" for i in stack.profile("p-conformance")["identities"]),
               what="the profile's sync")

    report = check_directory(os.environ[traffic.ENV])
    request.config.stash[CONFORMANCE_SUMMARY] = report.summary()
    assert report.requests > 0 and report.answers > 0, "no Zendesk traffic was recorded"
    findings = sorted(set(map(str, report.findings)))
    assert not findings, f"{len(findings)} calls or answers Zendesk's description refuses:\n" + "\n".join(findings[:60])
