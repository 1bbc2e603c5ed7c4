"""The image's /app without Docker: the Dockerfile's COPY lines into a directory, its
`uv sync --frozen --no-dev` steps (offline, from the cache `make setup` filled), then the
commands the containers run. Catches a file the image forgets (templates, migrations, ...) and
a runtime import of a dev-only package."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from dealpilot.core.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
ALIASES = {f.alias for f in Settings.model_fields.values() if f.alias}


def uv() -> str:
    """The uv the Makefile uses: PATH's, else the one `make setup` installs into .tools/."""
    found = shutil.which("uv") or str(ROOT / ".tools" / "bin" / "uv")
    if not Path(found).exists():
        pytest.fail("uv is missing: run `make setup`")
    return found


def copy_build_context(app: Path) -> list[str]:
    """Does what the build stage's COPY lines do; returns the `uv sync` commands it runs."""
    text = (ROOT / "Dockerfile").read_text()
    build = text.split("FROM ${PYTHON_IMAGE} AS build", 1)[1].split("\nFROM ", 1)[0]
    for line in build.splitlines():
        if not line.startswith("COPY ") or "--from=" in line:
            continue
        *sources, target = line.split()[1:]
        for source in sources:
            destination = app / target if target.endswith("/") else app / target.lstrip("./")
            if (ROOT / source).is_dir():
                shutil.copytree(
                    ROOT / source,
                    destination,
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
                )
            else:
                destination.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy(ROOT / source, destination if not target.endswith("/") else app)
    joined = build.replace("\\\n", " ")
    return [" ".join(m.split()) for m in re.findall(r"(uv sync [^\n&]*)", joined)]


def test_image_app_installs_without_dev_dependencies_and_runs(tmp_path: Path) -> None:
    app = tmp_path / "app"
    app.mkdir()
    syncs = copy_build_context(app)
    assert syncs == ["uv sync --frozen --no-dev --no-install-project", "uv sync --frozen --no-dev"]
    env = {k: v for k, v in os.environ.items() if k not in ALIASES and not k.startswith("UV_")}
    env |= {"UV_PROJECT_ENVIRONMENT": str(app / ".venv"), "UV_PYTHON_DOWNLOADS": "never"}
    for command in syncs:
        args = [uv(), *command.split()[1:], "--offline", "--quiet"]
        done = subprocess.run(args, cwd=app, env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr

    # The containers' commands, from elsewhere (as WORKDIR /app with a data volume).
    bin_dir = app / ".venv" / "bin"
    run_env = env | {"DEALPILOT_DATA_DIR": str(tmp_path / "data"), "DEALPILOT_ENV": "test"}
    run_env.pop("VIRTUAL_ENV", None)
    work = tmp_path / "work"
    work.mkdir()

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            args, cwd=work, env=run_env, capture_output=True, text=True, timeout=120, check=False
        )

    help_text = run(str(bin_dir / "dealpilot"), "--help")
    assert help_text.returncode == 0, help_text.stderr
    for command in ("migrate", "setup-temporal", "api", "worker", "seed"):
        assert command in help_text.stdout
    seeded = run(str(bin_dir / "dealpilot"), "seed")  # migrates first, then seeds
    assert seeded.returncode == 0, seeded.stderr
    # The code, templates and migrations are the copied ones; no dev-only package is installed.
    probe = run(
        str(bin_dir / "python"),
        "-c",
        "import dealpilot.rendering.renderer as r, models.db as d, importlib.util as u;"
        "print(r.EMAIL_TEMPLATES_DIR, d.MIGRATIONS_DIR);"
        "print([m for m in ('pytest', 'mypy', 'ruff', 'yaml', 'prometheus_client')"
        " if u.find_spec(m)])",
    )
    assert probe.returncode == 0, probe.stderr
    templates, migrations = probe.stdout.splitlines()[0].split()
    assert Path(templates) == app / "templates" / "emails"
    assert Path(migrations) == app / "migrations"
    assert any(Path(templates).rglob("*.html"))
    assert probe.stdout.splitlines()[1] == "['prometheus_client']"
