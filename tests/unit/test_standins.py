"""Production never imports the local stand-ins: the sandbox package (integration/sandbox/: both API
stand-ins, sample customers, DevStack, the embedded fakeredis server, the Redis topologies) and the
sidebar preview (web/sidebar_preview/). Each entry point is imported in a fresh interpreter, which
then lists the stand-in modules it loaded."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from .test_settings import GOOD

ROOT = Path(__file__).resolve().parents[2]
STANDINS = ("integration.sandbox", "web.sidebar_preview")

REPORT = """
import json, sys
print(json.dumps(sorted(m for m in sys.modules if m in {standins} or m.startswith({prefixes}))))
"""

ENTRY_POINTS = {
    "the receiver (gunicorn's web.wsgi:application)": "import web.wsgi",
    "the Flask app factory": (
        "import os; from integration.settings.declared import load_settings; from web.app import create_app\n"
        "create_app(load_settings(os.environ))"),
    "the Celery app and its tasks": (
        "import os; from integration.settings.declared import load_settings; from workers.celery_app import create_celery\n"
        "import workers.tasks\ncreate_celery(load_settings(os.environ))"),
    "every command but dev, down to each subcommand's --help": """
import click
from click.testing import CliRunner
from web.cli import main

def walk(command, path):
    yield path
    if isinstance(command, click.Group):
        for name, sub in command.commands.items():
            yield from walk(sub, path + [name])

for name, command in main.commands.items():
    if name != "dev":
        for path in walk(command, [name]):
            result = CliRunner().invoke(main, path + ["--help"])
            assert result.exit_code == 0, (path, result.output)
""",
}


def standins_loaded(code: str) -> list[str]:
    report = REPORT.format(standins=set(STANDINS), prefixes=tuple(m + "." for m in STANDINS))
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("OMNEO_", "ZENDESK_", "REDIS_", "PROMETHEUS_"))}
    env.update(GOOD, PYTHONPATH=str(ROOT))
    run = subprocess.run([sys.executable, "-c", code + "\n" + report], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-3000:]
    return json.loads(run.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("code", ENTRY_POINTS.values(), ids=ENTRY_POINTS.keys())
def test_production_entry_points_import_no_stand_in(code):
    assert standins_loaded(code) == []


def test_the_check_sees_a_stand_in_when_one_is_imported():
    loaded = standins_loaded("import integration.sandbox.devstack, web.sidebar_preview")
    assert loaded == ["integration.sandbox", "integration.sandbox.devstack", "web.sidebar_preview"]
