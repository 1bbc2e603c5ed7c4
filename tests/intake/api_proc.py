"""The API in its own process (uvicorn, as `dealpilot api` serves it), so a test can kill it with
SIGKILL in the middle of a load. No Temporal: its relay settles what it receives, and the test
delivers afterwards."""

from __future__ import annotations

import sys

import uvicorn

from api import create_app
from dealpilot.core.settings import Settings
from models import make_engine

WEBHOOK_SECRET = "generic-secret"  # as tests.intake.conftest.SECRETS


def main(db_url: str, port: int) -> None:
    settings = Settings(
        DEALPILOT_ENV="test",
        DEALPILOT_LOG_LEVEL="WARNING",
        TRACKING_SECRET="test-tracking-secret",
        DEALPILOT_WEBHOOK_SECRET=WEBHOOK_SECRET,
    )
    app = create_app(engine=make_engine(db_url), api_keys={"k"}, settings=settings)
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    uvicorn.Server(config).run()


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
