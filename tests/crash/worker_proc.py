"""A worker in its own process, so a test can kill it with SIGKILL in the middle of a send.

Its settings are the SMTP server on `smtp_port` plus whatever the environment adds (a test
passes IMAP_* there so unknown sends are looked up in a Sent folder)."""

from __future__ import annotations

import asyncio
import sys

from temporalio.client import Client

from dealpilot.ai import HeuristicEngine
from dealpilot.core.settings import Settings
from dealpilot.temporal.converter import data_converter
from models import make_engine
from worker import build_worker


async def main(target: str, queue: str, db_url: str, smtp_port: int) -> None:
    client = await Client.connect(target, data_converter=data_converter)
    settings = Settings(
        DEALPILOT_ENV="test",
        SMTP_HOST="127.0.0.1",
        SMTP_PORT=smtp_port,
        SMTP_SECURITY="none",
        TRACKING_SECRET="test-tracking-secret",
    )
    engine = make_engine(db_url)
    worker = build_worker(
        client, settings=settings, engine=engine, ai=HeuristicEngine(), task_queue=queue
    )
    async with worker:
        print("worker ready", flush=True)  # noqa: T201
        await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])))
