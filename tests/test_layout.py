"""The layout rules of issue 9 that hold for the code as a whole: modules stay small, the
worker does not load the web stack, and the layer contracts (pyproject.toml's
[tool.importlinter]) pass. `make lint` runs this file; `make test` runs it with the rest."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MAX_LINES = 400
# Generated or data-only code, and code that is not the product.
SIZE_EXEMPT_DIRS = {"migrations", "tests", "bench"}
SIZE_EXEMPT_FILES = {Path("dealpilot/setup/seed_data.py")}
# Not ours: tools, virtualenvs, caches and the data directory of `make dev`.
SKIP_DIRS = {".venv", ".tools", ".git", ".dealpilot", ".mypy_cache", ".ruff_cache", "node_modules"}


def _product_modules() -> list[Path]:
    found = []
    for path in ROOT.rglob("*.py"):
        rel = path.relative_to(ROOT)
        if rel.parts[0] in SKIP_DIRS or rel.parts[0] in SIZE_EXEMPT_DIRS:
            continue
        if any(part.startswith(".") or part == "__pycache__" for part in rel.parts):
            continue
        found.append(rel)
    return sorted(found)


def test_every_module_fits_in_400_lines() -> None:
    modules = _product_modules()
    assert Path("worker.py") in modules  # the walk sees the code at all
    too_long = {
        str(rel): lines
        for rel in modules
        if rel not in SIZE_EXEMPT_FILES
        and (lines := len((ROOT / rel).read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert too_long == {}, f"modules over {MAX_LINES} lines (split along a seam): {too_long}"


def _fresh_python(code: str) -> subprocess.CompletedProcess[str]:
    # The venv's interpreter, cwd = repo root, as `dealpilot worker` and a fresh clone run it.
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_importing_the_worker_leaves_the_web_stack_out() -> None:
    result = _fresh_python(
        "import sys, worker\n"
        "loaded = [m for m in ('fastapi', 'starlette', 'api', 'dealpilot.cli')"
        " if m in sys.modules]\n"
        "print(','.join(loaded))\n"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "", f"import worker loaded: {result.stdout.strip()}"


def test_nothing_imports_the_worker() -> None:
    # import-linter scans packages only and worker.py is a module: check its importers here.
    importers = []
    for rel in _product_modules():
        if rel == Path("worker.py"):
            continue
        tree = ast.parse((ROOT / rel).read_text(encoding="utf-8"), filename=str(rel))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            if any(name == "worker" or name.startswith("worker.") for name in names):
                importers.append(f"{rel}:{node.lineno}")
    assert importers == [], f"entry points never import one another: {importers}"


@pytest.mark.timeout(120)
def test_layer_contracts_pass() -> None:
    lint_imports = Path(sys.executable).parent / "lint-imports"
    result = subprocess.run(
        [str(lint_imports), "--no-cache"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
