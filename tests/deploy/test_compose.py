"""What can be checked of the production files without Docker: docker-compose.yml, the
Dockerfile and .env.example agree with Settings, the CLI and the repository."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError
from typer.main import get_command

from dealpilot.cli.main import app as cli_app
from dealpilot.core.brand_settings import mail_fields, split_key
from dealpilot.core.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
ENV_EXAMPLE = ROOT / ".env.example"

ALIASES = {field.alias for field in Settings.model_fields.values() if field.alias}
# Read by docker-compose.yml only (interpolation and Compose's own COMPOSE_* variables).
COMPOSE_KEYS = {"POSTGRES_PASSWORD", "COMPOSE_PROFILES", "API_PORT", "TEMPORAL_UI_PORT"}
COMPOSE_OPTIONAL = {"DEALPILOT_IMAGE"}
# What a production deployment cannot run without: set (uncommented) in .env.example.
REQUIRED_IN_PRODUCTION = {
    "DEALPILOT_API_KEYS",
    "TRACKING_SECRET",
    "DEALPILOT_SESSION_SECRET",
    "PUBLIC_BASE_URL",
    "TEMPORAL_ADDRESS",
    "TEMPORAL_NAMESPACE",
    "TEMPORAL_TASK_QUEUE",
    "POSTGRES_PASSWORD",
}
APP_SERVICES = ("migrate", "api", "worker")
IMAGES = {
    "postgres": re.compile(r"^postgres:16(\.\d+)*$"),
    "temporal": re.compile(r"^temporalio/auto-setup:\d+\.\d+\.\d+$"),
    "temporal-ui": re.compile(r"^temporalio/ui:\d+\.\d+\.\d+$"),
}
INTERPOLATION = re.compile(r"\$\{([A-Z0-9_]+)(?::?[-?][^}]*)?\}")
EXAMPLE_LINE = re.compile(r"^#?\s?([A-Z][A-Z0-9_]*)=(.*)$")


def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return data


def services() -> dict[str, dict[str, Any]]:
    result: dict[str, dict[str, Any]] = compose()["services"]
    return result


def example_entries() -> tuple[dict[str, str], set[str]]:
    """(active KEY=value lines, keys only shown commented out as `# KEY=value`)."""
    active: dict[str, str] = {}
    commented: set[str] = set()
    for line in ENV_EXAMPLE.read_text().splitlines():
        match = EXAMPLE_LINE.match(line)
        if not match:
            continue
        if line.startswith("#"):
            commented.add(match[1])
        else:
            assert match[1] not in active, f"{match[1]} twice in .env.example"
            active[match[1]] = match[2]
    return active, commented


def env_of(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment", {})
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {str(k): str(v) for k, v in env.items()}


def healthcheck_port(service: dict[str, Any]) -> int:
    test = " ".join(service["healthcheck"]["test"])
    match = re.search(r"http://127\.0\.0\.1:(\d+)/", test)
    assert match, test
    return int(match[1])


def test_compose_parses_with_every_service() -> None:
    assert set(services()) == {"postgres", "temporal", "temporal-ui", "migrate", "api", "worker"}
    assert "postgres-data" in compose()["volumes"]


@pytest.mark.parametrize("name", sorted(IMAGES))
def test_infrastructure_images_are_pinned(name: str) -> None:
    assert IMAGES[name].match(services()[name]["image"]), services()[name]["image"]


def test_app_services_build_this_repository_into_one_image() -> None:
    images = {services()[name]["image"] for name in APP_SERVICES}
    assert images == {"${DEALPILOT_IMAGE:-dealpilot:latest}"}
    for name in APP_SERVICES:
        assert services()[name]["build"] == "."
        assert services()[name]["env_file"] == ".env"


def test_temporal_uses_the_compose_postgres_and_our_dynamic_config() -> None:
    temporal = services()["temporal"]
    env = env_of(temporal)
    assert env["DB"] == "postgres12"
    assert env["POSTGRES_SEEDS"] == "postgres"
    assert env["POSTGRES_USER"] == env_of(services()["postgres"])["POSTGRES_USER"]
    assert temporal["depends_on"]["postgres"]["condition"] == "service_healthy"
    mount = next(v for v in temporal["volumes"] if "dynamicconfig" in v)
    source, target = mount.split(":")[:2]
    config = ROOT / source / Path(env["DYNAMIC_CONFIG_FILE_PATH"]).name
    assert config.is_file(), config
    assert yaml.safe_load(config.read_text())["limit.maxIDLength"][0]["value"] >= 255
    assert target == "/etc/temporal/config/dynamicconfig"
    assert env["DYNAMIC_CONFIG_FILE_PATH"].startswith("config/dynamicconfig/")
    ui = env_of(services()["temporal-ui"])
    assert ui["TEMPORAL_ADDRESS"] == "temporal:7233"


def test_app_environment_keys_are_settings() -> None:
    for name in APP_SERVICES:
        env = env_of(services()[name])
        assert set(env) <= ALIASES, set(env) - ALIASES
        assert env["DEALPILOT_ENV"] == "production"
        assert env["DATABASE_URL"] == (
            "${DATABASE_URL:-postgresql+psycopg2://dealpilot:${POSTGRES_PASSWORD}"
            "@postgres:5432/dealpilot}"
        )
        assert env["TEMPORAL_ADDRESS"] == "${TEMPORAL_ADDRESS:-temporal:7233}"
        assert env["METRICS_HOST"] == "0.0.0.0"


def test_every_interpolated_variable_is_documented_in_env_example() -> None:
    active, commented = example_entries()
    used = set(INTERPOLATION.findall(COMPOSE.read_text()))
    assert used <= set(active) | commented, used - set(active) - commented
    assert used - ALIASES <= COMPOSE_KEYS | COMPOSE_OPTIONAL


def test_env_example_keys_are_settings_or_compose_variables() -> None:
    active, commented = example_entries()
    per_brand = {
        k for k in active.keys() | commented if split_key(k, mail_fields(Settings).values())
    }
    assert {"BRAND_CODETEKI_ZOHO_SMTP_PASSWORD", "BRAND_DESIFIRMS_IMAP_HOST"} <= per_brand
    unknown = (set(active) | commented) - ALIASES - COMPOSE_KEYS - COMPOSE_OPTIONAL - per_brand
    assert not unknown, f"not Settings aliases: {unknown}"
    # Every setting is documented, set or shown commented out with its default.
    undocumented = ALIASES - set(active) - commented
    assert not undocumented, f"document these settings in .env.example: {sorted(undocumented)}"
    assert REQUIRED_IN_PRODUCTION <= set(active)
    assert COMPOSE_KEYS <= set(active)


def test_env_example_placeholders_are_refused_in_production() -> None:
    active, _ = example_entries()
    # As from the environment: an empty value means unset (env_ignore_empty).
    settings_env = {k: v for k, v in active.items() if k in ALIASES and v}
    assert settings_env["DEALPILOT_ENV"] == "production"
    with pytest.raises(ValidationError, match="TRACKING_SECRET"):
        Settings.model_validate(settings_env)
    with pytest.raises(ValidationError, match="DEALPILOT_API_KEYS"):
        Settings.model_validate(settings_env | {"TRACKING_SECRET": "a-real-secret-4f9c2"})
    secret = {"TRACKING_SECRET": "a-real-secret-4f9c2", "DEALPILOT_API_KEYS": "k-81d"}
    with pytest.raises(ValidationError, match="PUBLIC_BASE_URL"):  # crm.example.com
        Settings.model_validate(settings_env | secret)
    real = settings_env | secret | {"PUBLIC_BASE_URL": "https://crm.codeteki.au"}
    with pytest.raises(ValidationError, match="METRICS_TOKEN"):
        Settings.model_validate(real | {"METRICS_TOKEN": "changeme"})
    with pytest.raises(ValidationError, match="DEALPILOT_SESSION_SECRET"):
        Settings.model_validate(real)
    real["DEALPILOT_SESSION_SECRET"] = "a-session-secret-77d1"
    settings = Settings.model_validate(real)
    assert settings.environment == "production"
    assert settings.api_key_list == ["k-81d"]


def test_env_example_empty_values_mean_unset(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`KEY=` must never configure a webhook with an empty secret."""
    (tmp_path / ".env").write_text(ENV_EXAMPLE.read_text())
    monkeypatch.chdir(tmp_path)
    for key in ALIASES:
        monkeypatch.delenv(key, raising=False)
    settings = Settings(DEALPILOT_ENV="development")
    assert settings.zeptomail_webhook_key is None
    assert settings.dealpilot_webhook_secret is None
    assert settings.mailgun_signing_key is None
    assert settings.openai_api_key is None
    assert settings.metrics_token is None
    assert settings.temporal_address == "temporal:7233"


def test_ports_agree_with_settings_and_the_cli() -> None:
    defaults = Settings(DEALPILOT_ENV="test")
    active, _ = example_entries()
    api, worker = services()["api"], services()["worker"]
    cli_api = next(p for p in get_command(cli_app).commands["api"].params if p.name == "port")  # type: ignore[attr-defined]
    assert cli_api.default == 8000
    assert api["command"][-2:] == ["--port", str(cli_api.default)]
    assert api["ports"] == ["${API_PORT:-8000}:8000"]
    assert healthcheck_port(api) == 8000
    assert int(active["WORKER_METRICS_PORT"]) == defaults.worker_metrics_port
    assert int(active["TEMPORAL_METRICS_PORT"]) == defaults.temporal_metrics_port
    assert healthcheck_port(worker) == defaults.worker_metrics_port
    assert set(worker["expose"]) == {
        str(defaults.worker_metrics_port),
        str(defaults.temporal_metrics_port),
    }
    exposed = re.search(r"^EXPOSE (.*)$", DOCKERFILE.read_text(), re.MULTILINE)
    assert exposed is not None
    assert set(exposed[1].split()) == {
        "8000",
        str(defaults.worker_metrics_port),
        str(defaults.temporal_metrics_port),
    }
    assert defaults.temporal_address.endswith(":7233")


def test_worker_scales() -> None:
    worker = services()["worker"]
    assert "container_name" not in worker
    assert "ports" not in worker  # host ports would collide between replicas
    assert worker["command"] == ["worker"]
    assert worker["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    for name in ("api", "migrate"):
        assert "container_name" not in services()[name]


def test_every_long_running_service_has_a_healthcheck() -> None:
    for name, service in services().items():
        if name in ("migrate", "temporal-ui"):
            continue
        check = service.get("healthcheck")
        assert check, f"{name} has no healthcheck"
        assert check["test"], f"{name} has an empty healthcheck"
        # The slim image has no curl: checks use the interpreter.
        assert "curl" not in " ".join(check["test"])
    assert "pg_isready" in " ".join(services()["postgres"]["healthcheck"]["test"])
    assert "cluster health" in " ".join(services()["temporal"]["healthcheck"]["test"])


def test_migrate_runs_existing_cli_commands_before_the_app_starts() -> None:
    migrate = services()["migrate"]
    assert migrate["restart"] == "no"
    script = " ".join(migrate["command"])
    commands = get_command(cli_app).commands  # type: ignore[attr-defined]
    for step in re.findall(r"dealpilot ([a-z-]+)", script):
        assert step in commands, step
    assert "migrate" in script
    assert "setup-temporal" in script
    assert migrate["depends_on"]["temporal"]["required"] is False  # Temporal Cloud
    for name in ("api", "worker"):
        command = services()[name]["command"][0]
        assert command in commands


def test_dockerfile_copies_existing_paths_and_runs_as_non_root() -> None:
    text = DOCKERFILE.read_text()
    assert re.search(r"^FROM python:3\.11-slim|^ARG PYTHON_IMAGE=python:3\.11-slim", text, re.M)
    assert "uv sync --frozen --no-dev" in text
    for line in text.splitlines():
        if line.startswith("COPY") and "--from=" not in line:
            *sources, _target = line.split()[1:]
            for source in sources:
                assert (ROOT / source).exists(), f"Dockerfile copies a missing {source}"
    copied = {s for line in text.splitlines() if line.startswith("COPY") for s in line.split()[1:]}
    for needed in ("templates", "migrations", "alembic.ini", "uv.lock", "worker.py"):
        assert needed in copied or f"./{needed}" in copied, needed
    users = re.findall(r"^USER (\S+)", text, re.M)
    assert users, "no USER: the container would run as root"
    assert users[-1].split(":")[0] not in {"root", "0"}
    assert re.search(r'^ENTRYPOINT \["dealpilot"\]$', text, re.M)
    ignored = (ROOT / ".dockerignore").read_text().splitlines()
    assert ".env" in ignored
    assert ".git" in ignored
