"""The intelligence tests (issue 14, items 7-9) reuse the workflow stack and the API with
workflows unchanged."""

from tests.api.conftest import app, client  # noqa: F401 (fixtures)
from tests.api_workflows.conftest import api  # noqa: F401 (fixture)
from tests.console.conftest import browser, console_app  # noqa: F401 (fixtures)
from tests.workflows.conftest import smtp, stack, time_env  # noqa: F401 (fixtures)
