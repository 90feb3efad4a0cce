"""The layout keeps its promises: every part of integration/ sits in a layer of pyproject's
import-linter contract, each package says its job in one docstring line, and no module imports
inside a function (an import that only works late hides a circle the layers would show)."""
from __future__ import annotations

import ast
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
INTEGRATION = ROOT / "integration"


def _contract(kind: str) -> dict:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    return next(c for c in config["contracts"] if c["type"] == kind)


def late_imports(source: str) -> list[int]:
    """Line numbers of imports inside a function or method."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            found += [sub.lineno for sub in ast.walk(node) if isinstance(sub, (ast.Import, ast.ImportFrom))]
    return sorted(set(found))


def test_no_module_in_integration_imports_inside_a_function():
    late = [f"{path.relative_to(ROOT)}:{line}" for path in sorted(INTEGRATION.rglob("*.py"))
            for line in late_imports(path.read_text())]
    assert not late, "imports belong at the top of the module:\n" + "\n".join(late)


def test_the_check_finds_an_import_in_a_function_or_method():
    source = ("import os\n\ndef f():\n    import json\n\n"
              "class C:\n    def m(self):\n        from integration import keys\n")
    assert late_imports(source) == [4, 8]


def test_every_part_of_integration_is_in_a_layer():
    layered = {name.strip().removeprefix("integration.")
               for layer in _contract("layers")["layers"] for name in layer.split("|")}
    parts = {p.stem if p.is_file() else p.name for p in INTEGRATION.iterdir()
             if (p.suffix == ".py" and p.stem != "__init__") or (p / "__init__.py").exists()}
    assert parts - {"sandbox"} == layered


def test_each_package_says_its_job_in_one_line_and_holds_nothing_else():
    for init in sorted(INTEGRATION.glob("*/__init__.py")):
        if init.parent.name == "sandbox":
            continue
        tree = ast.parse(init.read_text())
        doc = ast.get_docstring(tree)
        assert doc and "\n" not in doc, f"{init.parent.name}: one docstring line saying its job"
        assert len(tree.body) == 1, f"{init.parent.name}/__init__.py holds code; it belongs in a module"


def test_no_test_file_imports_another():
    """Shared helpers live in tests/helpers.py and tests/e2e/helpers.py, fixtures in conftest.py."""
    found = []
    for path in sorted((ROOT / "tests").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and \
                    (node.module.rpartition(".")[2].startswith("test_") or
                     (node.level and any(a.name.startswith("test_") for a in node.names))):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not found, "a test file imports another:\n" + "\n".join(found)
