"""Every task's name, queue and route come from one declaration (integration/jobs.py): the Celery
app, the worker's default queues, beat and the deployment files all follow it, and no production
module spells a task name by hand."""
from __future__ import annotations

import ast
import re
import shlex
from pathlib import Path

import pytest
import yaml

import workers.tasks  # noqa: F401  (registers the shared tasks)
from integration import jobs
from integration.settings.declared import load_settings
from web.cli import main
from workers.celery_app import create_celery
from tests.helpers import GOOD

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION = ("integration", "workers", "web")
DECLARATION = ROOT / "integration" / "jobs.py"


@pytest.fixture(scope="module")
def app():
    return create_celery(load_settings(GOOD))


def test_declarations_are_unique_and_prefixed():
    names = [spec.name for spec in jobs.ALL]
    assert len(names) == len(set(names)) and set(names) == set(jobs.BY_NAME)
    assert all(name.startswith(jobs.PREFIX) for name in names)


def test_the_apps_tasks_are_exactly_the_declared_ones(app):
    ours = {name for name in app.tasks if not name.startswith("celery.")}
    assert ours == set(jobs.BY_NAME)
    assert {app.tasks[name].run.__module__ for name in ours} == {"workers.tasks"}


def test_each_task_is_routed_to_its_declared_queue(app):
    assert app.conf.task_routes == {spec.name: {"queue": spec.queue} for spec in jobs.ALL}
    for spec in jobs.ALL:  # as Celery's own router resolves a send_task without a queue
        assert app.amqp.router.route({}, spec.name, (), {})["queue"].name == spec.queue


def test_the_queue_list_is_the_set_of_declared_queues(app):
    assert set(jobs.QUEUES) == {spec.queue for spec in jobs.ALL}
    assert len(jobs.QUEUES) == len(set(jobs.QUEUES))
    assert [queue.name for queue in app.conf.task_queues] == list(jobs.QUEUES)
    assert app.conf.task_default_queue in jobs.QUEUES


def test_the_workers_default_queues_are_every_declared_queue():
    [option] = [p for p in main.commands["worker"].params if p.name == "queues"]
    assert option.default == ",".join(jobs.QUEUES)
    procfile = dict(line.split(": ", 1) for line in (ROOT / "Procfile").read_text().splitlines() if line)
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    for argv in (shlex.split(procfile["worker"]), compose["services"]["worker"]["command"]):
        assert argv[:2] == ["omneo-zendesk", "worker"]
        assert not {"-Q", "--queues"} & set(argv), "the deployed worker takes the default queues"


def test_beat_sends_declared_tasks_to_their_queues(app):
    assert app.conf.beat_schedule
    for entry in app.conf.beat_schedule.values():
        spec = jobs.BY_NAME[entry["task"]]
        assert entry["options"]["queue"] == spec.queue


def _production_modules():
    for package in PRODUCTION:
        for path in sorted((ROOT / package).rglob("*.py")):
            if path != DECLARATION:
                yield path


def _logger_names(tree: ast.AST) -> set[int]:
    """ids of the string constants that name a logger (logging.getLogger("omneo_zendesk.web"))."""
    found = set()
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr == "getLogger" and node.args):
            found.add(id(node.args[0]))
    return found


def spelled_task_names(source: str) -> list[tuple[int, str]]:
    """(line, text) of each string in `source` that names a task: a declared name, or any
    `omneo_zendesk.<word>` that is not a logger's name."""
    dotted = re.compile(re.escape(jobs.PREFIX) + r"\w+")
    tree = ast.parse(source)
    loggers = _logger_names(tree)
    return [(node.lineno, node.value) for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str)
            and (any(spec.name in node.value for spec in jobs.ALL)
                 or (dotted.search(node.value) and id(node) not in loggers))]


def test_no_production_module_spells_a_task_name():
    spelled = [f"{path.relative_to(ROOT)}:{line}: {text!r}" for path in _production_modules()
               for line, text in spelled_task_names(path.read_text())]
    assert not spelled, "task names belong in integration/jobs.py only:\n" + "\n".join(spelled)


def test_the_check_finds_a_name_spelled_by_hand_and_spares_loggers():
    source = ('log = logging.getLogger("omneo_zendesk.web")\n'
              'enqueue.send(app, "omneo_zendesk.sync_profile")\n'
              'app.send_task("omneo_zendesk.new_job")\n')
    assert spelled_task_names(source) == [(2, "omneo_zendesk.sync_profile"), (3, "omneo_zendesk.new_job")]
