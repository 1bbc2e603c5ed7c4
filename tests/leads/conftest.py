"""Leads and product events through the REST API, with real deal workflows: the fixtures of
tests/api_workflows (time-skipping Temporal server, worker on a uuid task queue, seeded
PostgreSQL, aiosmtpd inbox), reused unchanged."""

from __future__ import annotations

from tests.api_workflows.conftest import api  # noqa: F401 (fixtures)
from tests.workflows.conftest import smtp, stack, time_env  # noqa: F401 (fixtures)
