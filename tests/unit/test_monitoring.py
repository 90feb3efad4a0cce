"""The monitoring files hold together: Debian's promtool checks the alert rules and runs their unit
tests (deploy/prometheus/alerts_test.yml), every metric the rules and the dashboard query is one
the service exports, every alert has its runbook in README, and Debian's docker-compose accepts
the compose file with its `monitoring` profile."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from prometheus_client import REGISTRY, CollectorRegistry

ROOT = Path(__file__).resolve().parents[2]
PROMETHEUS_DIR = ROOT / "deploy" / "prometheus"
ALERTS = PROMETHEUS_DIR / "alerts.yml"
DASHBOARD = ROOT / "deploy" / "grafana" / "dashboards" / "omneo-zendesk.json"

# Metrics other issues add, built in parallel and not in this tree yet. The lead removes each
# line when its issue is merged (the test below fails as soon as the metric is exported).
def promtool(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    binary = shutil.which("promtool")
    if not binary:
        pytest.fail("promtool is missing: .ci/run installs Debian's prometheus package")
    return subprocess.run([binary, *args], cwd=cwd, capture_output=True, text=True, timeout=60)


def alert_rules() -> list[dict]:
    return [rule for group in yaml.safe_load(ALERTS.read_text())["groups"] for rule in group["rules"]]


def dashboard_exprs() -> list[str]:
    panels = json.loads(DASHBOARD.read_text())["panels"]
    return [t["expr"] for p in panels for t in p.get("targets", [])]


def exported() -> dict[str, set[str]]:
    """Every sample name the service can export, with the labels it carries: the metrics declared
    in code (imported the way the receiver and the workers import them) and the gauges read at
    scrape time, here with every key they read present."""
    import fakeredis

    from integration.store import keys
    from integration.settings.declared import load_settings
    import web.app, web.sidebar  # noqa: F401,E401 - their declarations register the metrics
    from workers import metrics

    metrics.interactions_recovered()  # made on first use, as render() does
    r = fakeredis.FakeRedis()
    # fakeredis has no INFO: answer it as a Redis with a memory limit would
    r.info = lambda section=None: {"maxmemory_policy": "noeviction", "used_memory": 1, "maxmemory": 2}
    r.set(keys.ratelimit_observed("zendesk"), "0.5")
    r.hset(keys.RECONCILE_STATE, mapping={"last_finished_at": "1", keys.TICKET_EVENTS_WATERMARK: "1"})
    secret = "s" * 32
    settings = load_settings({"REDIS_URL": "redis://x", "OMNEO_TENANT": "t", "OMNEO_API_TOKEN": secret,
                              "OMNEO_WEBHOOK_SECRET": secret, "ZENDESK_SUBDOMAIN": "x",
                              "ZENDESK_CLIENT_ID": "x", "ZENDESK_CLIENT_SECRET": secret,
                              "ZENDESK_WEBHOOK_SECRET": secret, "ZENDESK_APP_SECRET": secret})
    scraped = CollectorRegistry()
    scraped.register(metrics.RedisGauges(r, ("sync",), settings))
    names: dict[str, set[str]] = {}
    for family in [*REGISTRY.collect(), *scraped.collect()]:
        if not family.name.startswith("oz_"):
            continue
        labels = set(getattr(_declared(family.name), "_labelnames", ()))
        labels |= {k for s in family.samples for k in s.labels if k != "le"}
        suffixes = {"counter": ("_total",), "histogram": ("_bucket", "_count", "_sum")}.get(family.type, ("",))
        for suffix in suffixes:
            names[family.name + suffix] = labels
    return names


def _declared(family: str):
    from web import app, sidebar
    from workers import metrics

    from prometheus_client.metrics import MetricWrapperBase

    for module in (app, sidebar, metrics):
        for value in list(vars(module).values()):
            if isinstance(value, MetricWrapperBase) and value._name == family:
                return value
    return None


def selectors(expr: str) -> list[tuple[str, set[str]]]:
    """(metric, label names matched) of every oz_ metric an expression reads."""
    found = []
    for m in re.finditer(r"\b(oz_[a-z0-9_]+)(\{([^}]*)\})?", expr):
        found.append((m.group(1), set(re.findall(r"(\w+)\s*(?:=~|!~|!=|=)", m.group(3) or ""))))
    return found


@pytest.fixture(scope="module")
def names():
    return exported()


def test_promtool_checks_the_rules_and_runs_their_unit_tests():
    check = promtool("check", "rules", str(ALERTS))
    assert check.returncode == 0, check.stdout + check.stderr
    run = promtool("test", "rules", "alerts_test.yml", cwd=PROMETHEUS_DIR)
    assert run.returncode == 0 and "SUCCESS" in run.stdout, run.stdout + run.stderr


def test_every_alert_is_tested_both_ways():
    tests = yaml.safe_load((PROMETHEUS_DIR / "alerts_test.yml").read_text())["tests"]
    cases = [c for t in tests for c in t["alert_rule_test"]]
    for rule in alert_rules():
        mine = [c for c in cases if c["alertname"] == rule["alert"]]
        assert any(c.get("exp_alerts") for c in mine), f"{rule['alert']}: no test sees it fire"
        assert any(not c.get("exp_alerts") for c in mine), f"{rule['alert']}: no test sees it quiet"


def test_the_compose_prometheus_config_is_valid(tmp_path):
    # the compose service writes the scrape token file at start; here an empty one stands in
    config = yaml.safe_load((PROMETHEUS_DIR / "prometheus.yml").read_text())
    token = tmp_path / "metrics-token"
    token.write_text("")
    config["scrape_configs"][0]["authorization"]["credentials_file"] = str(token)
    shutil.copy(ALERTS, tmp_path / "alerts.yml")
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
    check = promtool("check", "config", str(tmp_path / "prometheus.yml"))
    assert check.returncode == 0, check.stdout + check.stderr
    assert f"SUCCESS: {len(alert_rules())} rules found" in check.stdout, check.stdout
    assert config["scrape_configs"][0]["job_name"] == "omneo-zendesk"  # OzMetricsDown's `up{job=...}`


def test_each_alert_pages_with_a_severity_a_summary_and_a_runbook_in_readme():
    readme = (ROOT / "README.md").read_text()
    anchors = {re.sub(r"[^a-z0-9 -]", "", h.strip().lower()).replace(" ", "-")
               for h in re.findall(r"^#+ (.+)$", readme, re.M)}
    for rule in alert_rules():
        name = rule["alert"]
        assert rule["labels"]["severity"] in ("critical", "warning"), name
        notes = rule["annotations"]
        assert notes["summary"] and notes["description"], name
        page, _, anchor = notes["runbook_url"].partition("#")
        assert page == "README.md" and anchor in anchors, f"{name}: no README section #{anchor}"


def test_every_metric_the_alerts_and_the_dashboard_read_is_exported(names):
    exprs = [r["expr"] for r in alert_rules()] + dashboard_exprs()
    for expr in exprs:
        for metric, labels in selectors(expr):
            assert metric in names, f"{metric} (in {expr!r}) is not a metric the service exports"
            assert labels <= names[metric], f"{metric} has no label(s) {labels - names[metric]}: {expr!r}"


def test_the_dashboard_charts_every_metric_the_service_exports(names):
    charted = {m for e in dashboard_exprs() for m, _ in selectors(e)}
    for name in names:
        base = re.sub(r"_(bucket|count|sum)$", "", name)
        assert name in charted or any(c.startswith(base) for c in charted), f"{name} is on no panel"


def test_the_dashboard_imports_as_is():
    dashboard = json.loads(DASHBOARD.read_text())
    assert "__inputs" not in dashboard and dashboard["uid"] == "omneo-zendesk"
    [variable] = dashboard["templating"]["list"]
    assert (variable["name"], variable["type"], variable["query"]) == ("datasource", "datasource", "prometheus")
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    taken: dict[tuple[int, int], str] = {}
    for panel in dashboard["panels"]:  # on Grafana's 24-column grid, no panel hides another
        g = panel["gridPos"]
        assert g["x"] + g["w"] <= 24, panel["title"]
        for cell in [(x, y) for x in range(g["x"], g["x"] + g["w"]) for y in range(g["y"], g["y"] + g["h"])]:
            assert cell not in taken, f"{panel['title']} overlaps {taken[cell]}"
            taken[cell] = panel["title"]
    for panel in dashboard["panels"]:
        if panel["type"] != "row":
            assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, panel["title"]
            assert panel["targets"], panel["title"]


def test_docker_compose_accepts_the_file_with_the_monitoring_profile(tmp_path):
    binary = shutil.which("docker-compose")
    if not binary:
        pytest.fail("docker-compose is missing: .ci/run installs Debian's docker-compose package")
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "OMNEO_API_TOKEN": "x",
           "OMNEO_WEBHOOK_SECRET": "x", "ZENDESK_WEBHOOK_SECRET": "x", "ZENDESK_APP_SECRET": "x",
           "FLOWER_BASIC_AUTH": "a:b"}
    result = subprocess.run([binary, "--profile", "monitoring", "config"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    services = yaml.safe_load(result.stdout)["services"]
    assert {"prometheus", "grafana"} <= set(services)
    mounts = [v for name in ("prometheus", "grafana") for v in services[name]["volumes"]]
    for source in [m.split(":")[0] for m in mounts if m.startswith("/")]:
        assert Path(source).exists(), source
    assert any(m.startswith(str(PROMETHEUS_DIR) + ":") for m in mounts)
    provider = yaml.safe_load((ROOT / "deploy/grafana/provisioning/dashboards/omneo-zendesk.yml").read_text())
    assert f"{DASHBOARD.parent}:{provider['providers'][0]['options']['path']}:ro" in mounts
    missing = subprocess.run([binary, "config", "-q"], cwd=ROOT, env=dict(env, OMNEO_API_TOKEN=""),
                             capture_output=True, text=True, timeout=120)
    assert missing.returncode != 0 and "OMNEO_API_TOKEN" in missing.stderr  # it does check
