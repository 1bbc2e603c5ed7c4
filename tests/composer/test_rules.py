"""The composer's rules without a database: pasted lists, the saved filter, time zones."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from pydantic import ValidationError

from dealpilot.composer.rules import (
    ComposerError,
    RecipientFilter,
    check_email_type,
    check_tone,
    format_recipient,
    parse_pasted,
    to_utc,
    zone_name,
)


def test_a_messy_pasted_list_keeps_names_and_reports_bad_entries() -> None:
    pasted = (
        "Priya Sharma <Priya@Sharma-Realty.com.au>, raj@kumar.com.au;\n"
        '"Nguyen, Mai" <mai@pho.example.com>\r\n'
        "  \n"
        "not-an-address; mailto:Ops@Example.org ,, <bare@example.net>\n"
        "two@@example.com"
    )
    parsed = parse_pasted(pasted)
    assert [(p.email, p.name) for p in parsed] == [
        ("priya@sharma-realty.com.au", "Priya Sharma"),
        ("raj@kumar.com.au", ""),
        ("mai@pho.example.com", "Nguyen, Mai"),
        (None, ""),
        ("ops@example.org", ""),
        ("bare@example.net", ""),
        (None, ""),
    ]
    assert parsed[3].raw == "not-an-address"
    assert parsed[3].error  # the validator's reason, for the person fixing the list
    assert (
        format_recipient("mai@pho.example.com", "Nguyen, Mai")
        == "Nguyen, Mai <mai@pho.example.com>"
    )
    assert format_recipient("raj@kumar.com.au") == "raj@kumar.com.au"
    # What the draft stores parses back to the same address and name.
    (again,) = parse_pasted('"Nguyen, Mai" <mai@pho.example.com>')
    assert (again.email, again.name) == ("mai@pho.example.com", "Nguyen, Mai")


def test_types_and_tones_are_a_small_documented_set() -> None:
    assert check_email_type("Follow-Up") == "follow_up"
    assert check_tone(" Direct ") == "direct"
    with pytest.raises(ValueError, match="one of intro"):
        check_email_type("spam_blast")
    with pytest.raises(ValueError, match="unknown tone"):
        check_tone("angry")


def test_a_filter_needs_a_criterion() -> None:
    assert RecipientFilter(tags=[" agents ", "agents", ""]).tags == ["agents"]
    with pytest.raises(ValidationError, match="at least one"):
        RecipientFilter(q="  ")


@pytest.mark.parametrize(
    ("local", "utc"),
    [
        # Summer (AEDT, UTC+11) and winter (AEST, UTC+10).
        (datetime(2026, 11, 24, 9, 30), datetime(2026, 11, 23, 22, 30, tzinfo=UTC)),
        (datetime(2026, 6, 24, 9, 30), datetime(2026, 6, 23, 23, 30, tzinfo=UTC)),
        # Either side of the October 2026 change (clocks go forward at 02:00 on the 4th).
        (datetime(2026, 10, 3, 9, 0), datetime(2026, 10, 2, 23, 0, tzinfo=UTC)),
        (datetime(2026, 10, 4, 9, 0), datetime(2026, 10, 3, 22, 0, tzinfo=UTC)),
        (datetime(2026, 10, 4, 1, 59), datetime(2026, 10, 3, 15, 59, tzinfo=UTC)),
        (datetime(2026, 10, 4, 3, 0), datetime(2026, 10, 3, 16, 0, tzinfo=UTC)),
        # April 2026: 02:30 happens twice; the first (still daylight time) is meant.
        (datetime(2026, 4, 5, 2, 30), datetime(2026, 4, 4, 15, 30, tzinfo=UTC)),
        (datetime(2026, 4, 5, 3, 30), datetime(2026, 4, 4, 17, 30, tzinfo=UTC)),
    ],
)
def test_naive_times_are_sydney_wall_clock(local: datetime, utc: datetime) -> None:
    assert to_utc(local, "Australia/Sydney") == utc


def test_a_time_the_clocks_skip_is_refused() -> None:
    with pytest.raises(ComposerError, match="does not exist") as caught:
        to_utc(datetime(2026, 10, 4, 2, 30), "Australia/Sydney")
    assert caught.value.code == "nonexistent_local_time"


def test_an_aware_time_keeps_its_offset_and_other_zones_work() -> None:
    perth = timezone(timedelta(hours=8))
    assert to_utc(datetime(2026, 11, 24, 9, 30, tzinfo=perth), "Australia/Sydney") == datetime(
        2026, 11, 24, 1, 30, tzinfo=UTC
    )
    assert to_utc(datetime(2026, 11, 24, 9, 30), "Europe/London") == datetime(
        2026, 11, 24, 9, 30, tzinfo=UTC
    )
    assert zone_name(None) == "Australia/Sydney"
    with pytest.raises(ComposerError) as caught:
        zone_name("Australia/Atlantis")
    assert caught.value.code == "invalid_timezone"
