"""Workflow code reads no clock, draws no randomness and does no I/O of its own.

The worker passes the `workflows` package through Temporal's sandbox (`worker.PASSED_THROUGH`:
re-importing it for every cached deal cost about 0.4 MB each), so the sandbox's runtime checks
no longer see calls made from it. This test is that check, done on the source: every module
under workflows/ is parsed, and what replay could not reproduce is refused with its line."""

from __future__ import annotations

import ast
from pathlib import Path

from worker import PASSED_THROUGH

ROOT = Path(__file__).resolve().parents[2]
# Modules whose use is nondeterministic or I/O wherever it happens.
BANNED_MODULES = {
    "os", "time", "random", "secrets", "uuid", "socket", "threading", "subprocess", "requests",
    "httpx", "sqlalchemy", "sqlmodel", "urllib", "http", "io", "shutil", "tempfile", "logging",
    "multiprocessing", "concurrent", "pathlib", "models", "activities", "api",
}  # fmt: skip
# Clock reads on datetime / date: workflow.now() is the workflow's clock.
CLOCK_CALLS = {"now", "utcnow", "today", "fromtimestamp"}
BUILTINS = {"open", "input", "print", "exec", "eval"}


def _problems(source: str, where: str) -> list[str]:
    tree = ast.parse(source, filename=where)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module]
            for name in names:
                if name and name.split(".")[0] in BANNED_MODULES:
                    found.append(f"{where}:{node.lineno} imports {name}")
        elif isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Name) and func.id in BUILTINS:
                found.append(f"{where}:{node.lineno} calls {func.id}()")
            if isinstance(func, ast.Attribute) and func.attr in CLOCK_CALLS:
                base = func.value
                name = base.attr if isinstance(base, ast.Attribute) else getattr(base, "id", "")
                if name in ("datetime", "date"):
                    found.append(f"{where}:{node.lineno} reads the clock: {name}.{func.attr}()")
    return found


def _passed_through() -> list[Path]:
    """Every source file of the modules and packages the worker passes through the sandbox."""
    files: list[Path] = []
    for name in PASSED_THROUGH:
        path = ROOT.joinpath(*name.split("."))
        files += sorted(path.rglob("*.py")) if path.is_dir() else [path.with_suffix(".py")]
    return files


def test_passed_through_code_is_deterministic_by_its_source() -> None:
    files = _passed_through()
    assert ROOT / "workflows" / "deal.py" in files
    assert ROOT / "dealpilot/core/enums.py" in files
    problems = [p for f in files for p in _problems(f.read_text(), str(f.relative_to(ROOT)))]
    assert problems == []


def test_the_check_finds_what_the_sandbox_would_have() -> None:
    source = (
        "import random\nfrom datetime import datetime, date\nimport datetime as dt\n"
        "a = datetime.now()\nb = dt.datetime.utcnow()\nc = date.today()\nopen('x')\n"
        "d = workflow.now()\n"
    )
    assert _problems(source, "probe.py") == [
        "probe.py:1 imports random",
        "probe.py:4 reads the clock: datetime.now()",
        "probe.py:5 reads the clock: datetime.utcnow()",
        "probe.py:6 reads the clock: date.today()",
        "probe.py:7 calls open()",
    ]
