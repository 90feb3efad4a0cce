"""The alert rules watched through a real Prometheus (Debian's `prometheus` binary) scraping the
real stack's /metrics, with a token, every second: a wrong Zendesk client secret and a job that
dead-letters raise their alerts, seen firing in Prometheus's own /api/v1/alerts, and the alerts
clear once fixed (the right secret; `dlq purge`). The rules are deploy/prometheus/alerts.yml with
each `for:` cut to seconds, the scrape configuration deploy/prometheus/prometheus.yml with this
stack as its target; the dashboard's queries run on the same Prometheus."""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import requests
import yaml

from integration.sandbox.devstack import free_port, wait_until
from tests.e2e.conftest import Stack, start_stack

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
METRICS_TOKEN = "prometheus-scrape-token-5d1e"
WRONG_SECRET = "not-the-client-secret-77a0c4"
SHORT_FOR = "2s"


@pytest.fixture(scope="module")
def alert_dev(tmp_path_factory):
    dev = start_stack(tmp_path_factory.mktemp("alerts"), extra_env={"METRICS_TOKEN": METRICS_TOKEN})
    try:
        yield dev
    finally:
        dev.stop()


@pytest.fixture(scope="module")
def prometheus(alert_dev, tmp_path_factory):
    binary = shutil.which("prometheus")
    if not binary:
        pytest.fail("prometheus is missing: .ci/run installs Debian's prometheus package")
    tmp = tmp_path_factory.mktemp("prometheus")
    rules = yaml.safe_load((ROOT / "deploy/prometheus/alerts.yml").read_text())
    for group in rules["groups"]:
        group["interval"] = "1s"
        for rule in group["rules"]:
            if "for" in rule:
                rule["for"] = SHORT_FOR
    (tmp / "alerts.yml").write_text(yaml.safe_dump(rules))
    config = yaml.safe_load((ROOT / "deploy/prometheus/prometheus.yml").read_text())
    config["global"] = {"scrape_interval": "1s", "evaluation_interval": "1s"}
    [job] = config["scrape_configs"]
    (tmp / "token").write_text(METRICS_TOKEN)
    job["authorization"]["credentials_file"] = str(tmp / "token")
    job["static_configs"] = [{"targets": [alert_dev.urls["receiver"].removeprefix("http://")]}]
    (tmp / "prometheus.yml").write_text(yaml.safe_dump(config))
    port = free_port()
    log = open(tmp / "prometheus.log", "wb")
    proc = subprocess.Popen([binary, f"--config.file={tmp / 'prometheus.yml'}",
                             f"--storage.tsdb.path={tmp / 'data'}", f"--web.listen-address=127.0.0.1:{port}"],
                            stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: proc.poll() is None and requests.get(url + "/-/ready", timeout=1).ok, 30,
                   what="Prometheus ready")
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        log.close()


@pytest.fixture
def stack(alert_dev):
    s = Stack(alert_dev)
    s.reset()
    return s


def alerts(prom: str) -> dict[str, str]:
    """alertname -> state (pending or firing) of the alerts Prometheus holds now."""
    answer = requests.get(prom + "/api/v1/alerts", timeout=5).json()
    return {a["labels"]["alertname"]: a["state"] for a in answer["data"]["alerts"]}


def query(prom: str, expr: str) -> list[dict]:
    answer = requests.get(prom + "/api/v1/query", params={"query": expr}, timeout=5).json()
    assert answer["status"] == "success", answer
    return answer["data"]["result"]


def value(prom: str, expr: str) -> float | None:
    result = query(prom, expr)
    return float(result[0]["value"][1]) if result else None


def rules(prom: str) -> list[dict]:
    groups = requests.get(prom + "/api/v1/rules", timeout=5).json()["data"]["groups"]
    return [r for g in groups for r in g["rules"]]


def test_prometheus_scrapes_with_the_token_and_every_rule_evaluates(stack, prometheus):
    def target():
        [t] = requests.get(prometheus + "/api/v1/targets", timeout=5).json()["data"]["activeTargets"]
        return t["health"] == "up" and t
    wait_until(target, 20, what="the receiver scraped")
    wait_until(lambda: value(prometheus, "min(oz_zendesk_auth_ok)") == 1.0, 20, what="auth_ok 1 scraped")
    declared = yaml.safe_load((ROOT / "deploy/prometheus/alerts.yml").read_text())["groups"]
    assert len(rules(prometheus)) == sum(len(g["rules"]) for g in declared)
    # a rule not yet evaluated shows the zero time (year 1)
    wait_until(lambda: all(r["lastEvaluation"] > "1970" for r in rules(prometheus)), 10,
               what="every rule evaluated")
    assert all(r["health"] == "ok" for r in rules(prometheus)), json.dumps(rules(prometheus))[:2000]
    dashboard = json.loads((ROOT / "deploy/grafana/dashboards/omneo-zendesk.json").read_text())
    for panel in dashboard["panels"]:
        for t in panel.get("targets", []):
            query(prometheus, t["expr"].replace("$__rate_interval", "1m"))  # asserts it evaluates


def test_a_wrong_client_secret_fires_the_auth_alert_and_the_right_one_clears_it(stack, prometheus):
    wait_until(lambda: value(prometheus, "min(oz_zendesk_auth_ok)") == 1.0, 20, what="auth_ok 1 scraped")
    assert "OzZendeskAuthRefused" not in alerts(prometheus)
    # the client's secret is rotated in Admin Center and its tokens revoked: every process of the
    # deployment now holds a wrong secret
    stack.configure("zendesk", client_secret=WRONG_SECRET)
    requests.post(stack.zendesk + "/_sandbox/oauth/revoke", timeout=5).raise_for_status()
    try:
        profile = stack.put_profile(id="p-alert-auth", first_name="Alert", email="alert-auth@example.com")
        assert stack.post_omneo("profile.created", profile).status_code == 202
        wait_until(lambda: alerts(prometheus).get("OzZendeskAuthRefused") == "firing", 60,
                   what="OzZendeskAuthRefused firing")
        assert stack.zendesk_user("p-alert-auth") is None
    finally:  # the secret we hold is Zendesk's again
        stack.configure("zendesk", client_secret=stack.dev.env["ZENDESK_CLIENT_SECRET"])
    stack.wait(lambda: stack.zendesk_user("p-alert-auth"), 60, what="the waiting job, once fixed")
    wait_until(lambda: "OzZendeskAuthRefused" not in alerts(prometheus), 30, what="the auth alert cleared")
    # cleared because the gauge says 1 again, not because the series went missing
    assert value(prometheus, "min(oz_zendesk_auth_ok)") == 1.0


def test_a_dead_lettered_job_fires_the_dead_letter_alert_and_a_purge_clears_it(stack, prometheus):
    wait_until(lambda: value(prometheus, "max(oz_dead_letters)") == 0.0, 20, what="no dead letters scraped")
    assert "OzDeadLetters" not in alerts(prometheus)
    stack.configure("zendesk", fail=[{
        "path": "/users/create_or_update", "method": "POST", "status": 422, "count": 1,
        "body": {"error": "RecordInvalid", "description": "Record validation errors", "details": {
            "email": [{"description": "Email is already being used by another user"}]}}}])
    profile = stack.put_profile(id="p-alert-dlq", first_name="Alert", email="alert-dlq@example.com")
    assert stack.post_omneo("profile.created", profile).status_code == 202
    wait_until(lambda: alerts(prometheus).get("OzDeadLetters") == "firing", 60, what="OzDeadLetters firing")
    assert value(prometheus, "max(oz_dead_letters)") == 1.0

    purge = stack.cli("dlq", "purge", "--all")
    assert purge.returncode == 0, purge.stdout + purge.stderr
    wait_until(lambda: "OzDeadLetters" not in alerts(prometheus), 30, what="the dead-letter alert cleared")
    assert value(prometheus, "max(oz_dead_letters)") == 0.0
