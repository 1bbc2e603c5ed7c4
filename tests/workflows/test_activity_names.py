"""Every activity a workflow calls by name is one the worker registers.

Workflows call activities by their string names (workflows/deal_activities.py, jobs.py,
link_checks.py); a typo or a renamed activity would only show when a deal reaches that step.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from sqlalchemy import create_engine
from temporalio import activity

import workflows
from dealpilot.ai import HeuristicEngine
from dealpilot.core.settings import Settings
from worker import build_activities

CALLERS = ("deal_activities.py", "jobs.py", "link_checks.py")
EXECUTE = {"execute_activity", "execute_local_activity", "start_activity", "start_local_activity"}
# deal_activities' `_db(name, ...)` runs a database activity, local or not (the patch decides):
# its callers name the activity; its own two calls pass the name on.
DISPATCHERS = {"_db"}


def called_names(path: Path) -> set[str]:
    """The first argument of every workflow.execute_activity(...)-like call: a string name."""
    names = set()
    tree = ast.parse(path.read_text(), filename=str(path))
    inside_dispatcher = {
        id(node)
        for fn in ast.walk(tree)
        if isinstance(fn, ast.AsyncFunctionDef) and fn.name in DISPATCHERS
        for node in ast.walk(fn)
    }
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or id(node) in inside_dispatcher:
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
        if name not in EXECUTE | DISPATCHERS:
            continue
        first = node.args[0] if node.args else None
        if not (isinstance(first, ast.Constant) and isinstance(first.value, str)):
            pytest.fail(f"{path.name}:{node.lineno}: call activities by their string name")
        names.add(first.value)
    return names


def test_every_called_activity_is_registered(tmp_path: Path) -> None:
    folder = Path(workflows.__file__).parent
    called = {name: file for file in CALLERS for name in called_names(folder / file)}
    assert len(called) >= 15, called  # the parser found the calls
    settings = Settings(
        DEALPILOT_ENV="test",
        DEALPILOT_DATA_DIR=tmp_path,
        TRACKING_SECRET="test-tracking-secret",
        PUBLIC_BASE_URL="https://crm.example.test",
    )
    engine = create_engine("sqlite://")
    try:
        functions = build_activities(settings=settings, engine=engine, ai=HeuristicEngine())
    finally:
        engine.dispose()
    registered = {activity._Definition.must_from_callable(fn).name for fn in functions}
    missing = {name: file for name, file in called.items() if name not in registered}
    assert not missing, f"called but not registered by the worker: {missing}"
