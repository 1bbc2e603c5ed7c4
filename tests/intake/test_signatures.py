"""The signature checks' clocks: a genuine timestamp is never mistaken for something else."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime, timedelta

import pytest

from dealpilot.intake.signatures import (
    SignatureError,
    parse_timestamp,
    sign_dealpilot,
    verify_dealpilot,
    verify_zeptomail,
)

WINDOW = timedelta(minutes=5)
# ZeptoMail's `ts` in milliseconds at 2026-11-30 03:41:50 UTC: also an ISO 8601 basic-format
# date to datetime.fromisoformat (a day in 1796), which made about one genuine signature in
# thirty fail with "timestamp outside the replay window" (the flaky intake test).
MILLIS = "1796010110447"


def test_digits_are_a_unix_time_never_a_basic_format_date() -> None:
    assert datetime.fromisoformat(MILLIS).year == 1796  # the trap this guards against
    assert parse_timestamp(MILLIS) == pytest.approx(1796010110.447)
    assert parse_timestamp("1796010110") == 1796010110
    assert parse_timestamp(" 1796010110.5 ") == 1796010110.5
    assert parse_timestamp("2026-11-30T03:41:50+00:00") == 1796010110
    with pytest.raises(SignatureError, match="not a number"):
        parse_timestamp("yesterday")


def test_a_zeptomail_signature_stamped_in_milliseconds_is_fresh() -> None:
    body, key = b'{"event_name": ["hardbounce"]}', "zepto-key"
    mac = base64.b64encode(hmac.new(key.encode(), body, hashlib.sha256).digest()).decode()
    header = f"ts={MILLIS};s={mac};s-algorithm=HmacSHA256"
    verify_zeptomail(body, header, key, window=WINDOW, now=1796010111.0)
    with pytest.raises(SignatureError, match="replay window"):
        verify_zeptomail(body, header, key, window=WINDOW, now=1796010110.447 + 301)


def test_our_own_webhook_takes_seconds_and_iso_timestamps() -> None:
    body, secret = b"{}", "generic-secret"
    for stamp in ("1796010110", "2026-11-30T03:41:50Z"):
        signature = "sha256=" + sign_dealpilot(body, stamp, secret)
        verify_dealpilot(body, signature, stamp, secret, window=WINDOW, now=1796010120.0)
        with pytest.raises(SignatureError, match="replay window"):
            verify_dealpilot(body, signature, stamp, secret, window=WINDOW, now=1796010500.0)
