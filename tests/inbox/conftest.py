"""The inbox tests: a real dovecot IMAP server, and the deal stack of tests/workflows."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.inbox.dovecot import Mailbox, dovecot_server
from tests.workflows.conftest import Stack, smtp, stack, time_env  # noqa: F401 (fixtures)


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    with dovecot_server() as (box, reason):
        if box is None:
            pytest.skip(reason)
        yield box
