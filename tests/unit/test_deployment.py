"""The deployment files hold together: docker-compose.yml (parsed, since Docker cannot run here),
the Procfile and the Dockerfile name real CLI commands and real settings."""
from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import yaml

from integration.settings.declared import SettingsSchema
from web.cli import main

ROOT = Path(__file__).resolve().parents[2]
SETTINGS = set(SettingsSchema._declared_fields)
APP_SERVICES = ("web", "worker", "beat", "flower")


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_services_and_health_checks(compose):
    services = compose["services"]
    assert {n for n, s in services.items() if not s.get("profiles")} == {"redis", *APP_SERVICES}
    replicas = {n for n, s in services.items() if "replicas" in s.get("profiles", [])}
    assert replicas == {"redis-replica", "sentinel-1", "sentinel-2", "sentinel-3"}
    for name, service in services.items():
        assert service.get("healthcheck", {}).get("test"), f"{name} has no health check"
        assert service.get("restart") == "unless-stopped", name
    for name in APP_SERVICES:
        assert services[name]["depends_on"]["redis"]["condition"] == "service_healthy"


def test_redis_persists_every_write_before_answering(compose):
    redis = compose["services"]["redis"]
    command = redis["command"]
    assert command[command.index("--appendonly") + 1] == "yes"
    assert command[command.index("--appendfsync") + 1] == "always", "a 202'd job must survive a crash"
    assert any(v.endswith(":/data") for v in redis["volumes"])
    assert "redis-data" in compose["volumes"]


def test_every_variable_passed_is_a_setting_and_every_setting_can_be_passed(compose):
    for name in APP_SERVICES:
        env = compose["services"][name]["environment"]
        unknown = set(env) - SETTINGS
        assert not unknown, f"{name} passes variables that integration/settings/declared.py does not read: {unknown}"
        assert env["REDIS_URL"] == "redis://redis:6379/0"
        missing = SETTINGS - set(env) - {"FLOWER_BASIC_AUTH"}
        assert not missing, (f"setting(s) {sorted(missing)} not passed by docker-compose.yml: add "
                             "`NAME: ${NAME:-}` to x-settings")
    assert "FLOWER_BASIC_AUTH" in compose["services"]["flower"]["environment"]
    assert "FLOWER_BASIC_AUTH" not in compose["services"]["web"]["environment"]


def test_secrets_have_no_silent_default(compose):
    env = compose["services"]["web"]["environment"]
    for name in ("OMNEO_API_TOKEN", "OMNEO_WEBHOOK_SECRET", "ZENDESK_WEBHOOK_SECRET", "ZENDESK_APP_SECRET"):
        assert re.fullmatch(r"\$\{%s:\?[^}]+\}" % name, env[name]), name


def test_workers_and_receiver_share_the_metrics_directory(compose):
    mounts = {name: compose["services"][name]["volumes"] for name in ("web", "worker")}
    target = compose["services"]["web"]["environment"]["PROMETHEUS_MULTIPROC_DIR"]
    for name, volumes in mounts.items():
        assert f"metrics:{target}" in volumes, name
    assert f"PROMETHEUS_MULTIPROC_DIR={target}" in (ROOT / "Dockerfile").read_text()


def test_compose_and_procfile_run_real_cli_commands(compose):
    for name in APP_SERVICES:
        command = compose["services"][name]["command"]
        assert command[0] == "omneo-zendesk" and command[1] in main.commands, command
    procfile = dict(line.split(": ", 1) for line in (ROOT / "Procfile").read_text().splitlines() if line)
    assert set(procfile) == set(APP_SERVICES)
    for kind, command in procfile.items():
        argv = shlex.split(command)
        assert argv[0] == "omneo-zendesk" and argv[1] == kind and kind in main.commands
    assert "$PORT" in procfile["web"]


def test_dockerfile_installs_the_package_and_runs_unprivileged():
    text = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^RUN pip install \.", text, re.M)
    assert re.search(r"^USER app$", text, re.M)
    assert re.search(r'^CMD \["omneo-zendesk", "web"', text, re.M)


def test_readme_settings_table_names_every_setting():
    readme = (ROOT / "README.md").read_text()
    missing = sorted(n for n in SETTINGS if f"| `{n}` |" not in readme)
    assert not missing, f"README.md's settings table lacks {missing}"


def test_readme_gives_the_acl_user_the_e2e_tests_run_as():
    from integration.sandbox.redis_topology import acl_setuser

    lines = [line.strip() for line in (ROOT / "README.md").read_text().splitlines()]
    assert acl_setuser("PASSWORD") in lines
