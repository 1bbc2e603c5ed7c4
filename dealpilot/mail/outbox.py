"""Development provider: every message lands as a .eml file in the outbox directory."""

from __future__ import annotations

import asyncio
import os
import re
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import structlog

from dealpilot.core import metrics
from dealpilot.mail.base import (
    OutgoingEmail,
    PermanentMailError,
    SendResult,
    TransientMailError,
)
from dealpilot.mail.mime import build_message, message_bytes

log = structlog.get_logger(__name__)

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def eml_filename(message_id: str, now: datetime) -> str:
    safe = _UNSAFE.sub("_", message_id.strip("<>")).strip("._") or "message"
    return f"{now.strftime('%Y%m%dT%H%M%S%fZ')}-{safe[:150]}.eml"


def _write_atomically(directory: Path, name: str, data: bytes) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=".eml")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        target = directory / name
        # A reader never sees a half-written .eml: the name appears only when complete.
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


class OutboxProvider:
    name = "outbox"
    supports_custom_headers = True

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def __repr__(self) -> str:
        return f"OutboxProvider(directory={str(self.directory)!r})"

    async def send(self, email: OutgoingEmail) -> SendResult:
        now = datetime.now(UTC)
        msg = build_message(email, provider=self.name, now=now)
        try:
            path = await asyncio.to_thread(
                _write_atomically,
                self.directory,
                eml_filename(email.message_id, now),
                message_bytes(msg),
            )
        except PermissionError as exc:
            raise PermanentMailError(
                "outbox directory is not writable", code="outbox_io", provider=self.name
            ) from exc
        except OSError as exc:  # disk full and friends: may clear up
            raise TransientMailError(
                f"cannot write to the outbox: {exc.strerror}", code="outbox_io", provider=self.name
            ) from exc
        metrics.record_email_sent(self.name)
        log.info(
            "mail.sent",
            provider=self.name,
            message_id=email.message_id,
            client_reference=email.client_reference,
            path=str(path),
        )
        return SendResult(provider=self.name, message_id=email.message_id)

    async def aclose(self) -> None:
        return None
