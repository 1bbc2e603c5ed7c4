"""One error family, mapped once per entry point: each domain error below is a DealpilotError,
and the API (envelope), the CLI (exit code) and activities (ApplicationError) map it by its
class, without a shim of their own."""

from __future__ import annotations

import pytest
import typer
from fastapi import FastAPI
from fastapi.testclient import TestClient

from activities._errors import to_application_error
from api.errors import install_error_handlers
from dealpilot.ai.errors import AINonRetryableError, AIRetryableError
from dealpilot.backlinks.pitch import PitchFailed
from dealpilot.cli.support import EXIT_ERROR, EXIT_USAGE, domain_errors
from dealpilot.composer.rules import ComposerError
from dealpilot.core.errors import DealpilotError
from dealpilot.imports.csvfile import CSVFormatError
from dealpilot.inbox.source import InboxError
from dealpilot.intake.providers import MalformedEvent
from dealpilot.intake.signatures import SignatureError
from dealpilot.mail.base import PermanentMailError, TransientMailError
from dealpilot.rendering.renderer import TemplateRenderError

# error, HTTP status, envelope code, CLI exit code, retried by Temporal
CASES = [
    (AIRetryableError("rate limited", upstream_status=429), 502, "ai_unavailable", 1, True),
    (AINonRetryableError("bad key", upstream_status=401), 502, "ai_unavailable", 1, False),
    (PitchFailed(AIRetryableError("slow")), 502, "ai_unavailable", 1, False),
    (PermanentMailError("no", code="bad_address", provider="smtp"), 502, "bad_address", 1, False),
    (TransientMailError("later", code="timeout", provider="smtp"), 502, "timeout", 1, True),
    (InboxError("login refused"), 502, "inbox_unavailable", 1, True),
    (TemplateRenderError("no such variable"), 422, "template_error", 1, True),
    (SignatureError("timestamp outside the replay window"), 401, "invalid_signature", 1, False),
    (MalformedEvent("envelope is not JSON"), 422, "invalid_event", 1, False),
    (CSVFormatError("the file is empty"), 422, "invalid_file", 2, False),
    (ComposerError("unknown tone"), 422, "invalid_request", 1, False),
]
IDS = [type(case[0]).__name__ for case in CASES]


@pytest.fixture(scope="module")
def api() -> TestClient:
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/raise/{index}")
    def _raise(index: int) -> None:
        raise CASES[index][0]

    return TestClient(app, raise_server_exceptions=False)


@pytest.mark.parametrize(("index", "case"), list(enumerate(CASES)), ids=IDS)
def test_every_entry_point_maps_the_error_by_its_class(
    api: TestClient, index: int, case: tuple[DealpilotError, int, str, int, bool]
) -> None:
    error, status, code, exit_code, retried = case
    assert isinstance(error, DealpilotError)

    response = api.get(f"/raise/{index}")
    assert (response.status_code, response.json()["error"]["code"]) == (status, code)

    with pytest.raises(typer.Exit) as exited, domain_errors():
        raise error
    assert exited.value.exit_code == exit_code
    assert exit_code in (EXIT_ERROR, EXIT_USAGE)

    mapped = to_application_error(error)
    assert mapped is not None
    assert (mapped.type, mapped.non_retryable) == (type(error).__name__, not retried)
