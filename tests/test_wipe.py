"""The fixtures' guard against a transaction one test leaves open: emptying the tables for the
next test fails that test with what the open transaction was doing, and ends it, instead of
waiting for ever (and with it every test after it) on TRUNCATE's lock."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine

from tests import conftest


def test_a_transaction_left_open_fails_the_wipe_and_is_ended(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(conftest, "WIPE_LOCK_TIMEOUT", "200ms")
    leaked = engine.connect()
    leaked.execute(sa.text("SELECT count(*) FROM brand"))  # holds the table's share lock
    try:
        with pytest.raises(pytest.fail.Exception, match="left a transaction open") as failed:
            conftest._wipe(engine)
        assert "SELECT count(*) FROM brand" in str(failed.value)
        with pytest.raises(sa.exc.OperationalError):
            leaked.execute(sa.text("SELECT 1"))  # its session was terminated
    finally:
        leaked.invalidate()
        leaked.close()
    conftest._wipe(engine)  # nothing holds a lock any more
