"""Bad input is a 4xx, always: a bounded, seeded schemathesis run over every operation of
the OpenAPI schema, in process against the app on a seeded SQLite database (no Temporal, so
workflow endpoints answer 503 `temporal_unavailable`, which is expected). Any other 5xx
fails the test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import APIOperation, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.schemas import OpenApiSchema
from sqlalchemy import Engine
from sqlmodel import Session, select

from api import create_app
from dealpilot.core.settings import Settings
from dealpilot.setup.seed import seed
from models import Brand, Pipeline
from models.db import make_engine, migrate
from tests.api.conftest import API_KEY, AUTH
from tests.factories import make_contact, make_deal, stages_of

# Bounded: this many generated cases per operation and phase (about 90 operations).
EXAMPLES_PER_OPERATION = 15
SEED = 20_100_010
# Configured, so the fuzzer reaches the webhooks' signature checks (an unconfigured webhook
# answers 503 `webhook_not_configured` by design).
WEBHOOK_SECRETS = {
    name: f"fuzz-{name.lower()}"
    for name in (
        "ZEPTOMAIL_WEBHOOK_KEY",
        "MAILGUN_SIGNING_KEY",
        "POSTMARK_INBOUND_USER",
        "POSTMARK_INBOUND_PASSWORD",
        "SENDGRID_INBOUND_KEY",
        "DEALPILOT_WEBHOOK_SECRET",
    )
}


@pytest.fixture(scope="module")
def fuzz_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """A database of its own (the fuzzer creates and deletes freely), seeded with the
    default brands, pipelines, sequences and prompts, and a contact with a deal, so ids
    generated from the schema's examples reach real rows."""
    path: Path = tmp_path_factory.mktemp("fuzz") / "dealpilot.db"
    url = f"sqlite:///{path}"
    migrate(url)
    engine = make_engine(url)
    with Session(engine, expire_on_commit=False) as session:
        seed(session)
        session.commit()
        brand = session.exec(select(Brand)).first()
        assert brand is not None
        pipeline = session.exec(select(Pipeline).where(Pipeline.brand_id == brand.id)).first()
        assert pipeline is not None
        contact = make_contact(session, brand=brand, email="fuzz@example.com")
        make_deal(
            session,
            contact=contact,
            pipeline=pipeline,
            stage=next(iter(stages_of(session, pipeline).values())),
        )
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def api_schema(fuzz_engine: Engine) -> OpenApiSchema:
    app = create_app(
        engine=fuzz_engine,
        api_keys={API_KEY},
        settings=Settings(DEALPILOT_ENV="test", **WEBHOOK_SECRETS),
    )
    config = schemathesis.Config.from_dict(
        {
            "seed": SEED,
            "headers": AUTH,
            "generation": {
                "mode": "all",
                "max-examples": EXAMPLES_PER_OPERATION,
                "deterministic": True,
                "database": "none",
            },
        }
    )
    return schemathesis.openapi.from_asgi("/openapi.json", app, config=config)


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_no_server_error(api_schema: OpenApiSchema, mode: GenerationMode) -> None:
    """Every operation, EXAMPLES_PER_OPERATION cases each, derandomized: the same cases on
    every run. Collects every server error rather than stopping at the first."""
    errors: list[str] = []
    operations = 0
    for result in api_schema.get_all_operations():
        operation = result.ok()
        operations += 1
        _fuzz(operation, mode, errors)
    assert operations > 50
    assert not errors, "server errors:\n" + "\n".join(errors)


def _fuzz(operation: APIOperation, mode: GenerationMode, errors: list[str]) -> None:
    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        derandomize=True,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def run(case: schemathesis.Case) -> None:
        try:
            response = case.call(headers=AUTH)
        except Exception as exc:  # the app's unhandled error, re-raised after its 500
            errors.append(f"{operation.label} raised {exc!r}: {case.as_curl_command()}")
            return
        if response.status_code == 503 and _code(response) == "temporal_unavailable":
            return
        try:
            case.validate_response(response, checks=[not_a_server_error])
        except Exception:  # schemathesis' failure (group) for a 5xx
            errors.append(f"{operation.label} -> {response.status_code}: {case.as_curl_command()}")

    try:
        run()
    except Unsatisfiable:
        pass  # nothing in this operation's schema can be made invalid


def _code(response: schemathesis.Response) -> str | None:
    try:
        body = response.json()
    except ValueError:
        return None
    error = body.get("error") if isinstance(body, dict) else None
    return error.get("code") if isinstance(error, dict) else None
