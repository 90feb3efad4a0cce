"""The command line as a package: one group that reads the settings once per run into click's
context object, commands that import nothing of the group, and the commands that need no settings
run without them."""
from __future__ import annotations

import ast
from pathlib import Path

import fakeredis
from click.testing import CliRunner

from integration.store.dead_letters import DeadLetters
from web.cli import context, dead_letters, main
from tests.helpers import GOOD

CLI = Path(__file__).resolve().parents[2] / "web" / "cli"
NO_SETTINGS = {name: None for name in GOOD}


def test_settings_are_read_once_however_often_a_command_asks(monkeypatch):
    calls = []
    real = context.load_settings
    monkeypatch.setattr(context, "load_settings", lambda environ: calls.append(1) or real(environ))
    r = fakeredis.FakeRedis()
    monkeypatch.setattr(dead_letters, "connect_redis", lambda settings: r)
    sent = []
    monkeypatch.setattr("workers.enqueue.replay", lambda app, entry: sent.append(entry["id"]) or "job-1")
    entry_id = DeadLetters(r).add(task="omneo_zendesk.sync_profile", args=["p1"], kwargs={},
                                  error={}, attempts=1, profile_id="p1")
    result = CliRunner().invoke(main, ["dlq", "replay", "--all"], env=GOOD)
    assert result.exit_code == 0, result.output
    assert sent == [entry_id] and len(calls) == 1


def test_commands_that_need_no_settings_run_without_them(tmp_path):
    runner = CliRunner()
    for args in (["--help"], ["worker", "--help"], ["dev", "--help"], ["dlq", "list", "--help"]):
        result = runner.invoke(main, args, env=NO_SETTINGS)
        assert result.exit_code == 0 and "Usage:" in result.output, (args, result.output)
    packaged = runner.invoke(main, ["app", "package", "--service-url", "https://oz.example.com",
                                    "-o", str(tmp_path / "app.zip")], env=NO_SETTINGS)
    assert packaged.exit_code == 0 and (tmp_path / "app.zip").exists(), packaged.output


def test_a_bad_setting_is_one_line_and_exit_2():
    result = CliRunner().invoke(main, ["reconcile", "status"], env=dict(GOOD, REDIS_URL="nope"))
    assert result.exit_code == 2
    assert result.output.count("\n") == 1 and result.output.startswith("omneo-zendesk: setting REDIS_URL")


def test_no_command_module_imports_the_group():
    for path in sorted(CLI.glob("*.py")):
        if path.name in ("__init__.py", "__main__.py"):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                assert node.module != "web.cli", f"{path.name} imports web.cli (the group imports it)"
            if isinstance(node, ast.Import):
                assert all(a.name != "web.cli" for a in node.names), path.name
