"""Scheduling a draft in a time zone (default Australia/Sydney) through the API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from tests.composer.conftest import Setup

DRAFTS = "/api/crm/composer/drafts/"


def _draft(client: TestClient, **fields: object) -> int:
    body = {
        "brand": "acme",
        "pipeline": "sales",
        "email_type": "intro",
        "ai": False,
        "subject": "Hello",
        "body": "Hi there",
        "addresses": "a@example.com",
        **fields,
    }
    r = client.post(DRAFTS, json=body)
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def _next_year(month: int, day: int, hour: int, minute: int) -> datetime:
    return datetime(datetime.now(UTC).year + 1, month, day, hour, minute)


def test_a_naive_time_is_sydney_time_across_the_dst_change(
    client: TestClient, setup: Setup
) -> None:
    draft_id = _draft(client)
    year = datetime.now(UTC).year + 1
    # Daylight time starts at 02:00 on the first Sunday of October (UTC+10 -> UTC+11).
    sunday = next(d for d in range(1, 8) if datetime(year, 10, d).weekday() == 6)
    for local, offset in [
        (datetime(year, 11, 24, 9, 30), 11),
        (datetime(year, 6, 24, 9, 30), 10),
        (datetime(year, 10, sunday, 9, 0) - timedelta(days=1), 10),
        (datetime(year, 10, sunday, 9, 0), 11),
        (datetime(year, 10, sunday, 1, 59), 10),
        (datetime(year, 10, sunday, 3, 0), 11),
    ]:
        r = client.post(f"{DRAFTS}{draft_id}/schedule", json={"at": local.isoformat()})
        assert r.status_code == 200, r.text
        got = r.json()
        assert got["status"] == "scheduled"
        assert got["timezone"] == "Australia/Sydney"
        at = datetime.fromisoformat(got["scheduled_at"])
        assert at.utcoffset() == timedelta(0)
        assert at + timedelta(hours=offset) == local.replace(tzinfo=UTC), local
        zone = "AEDT" if offset == 11 else "AEST"
        assert got["scheduled_local"] == f"{local:%Y-%m-%d %H:%M} {zone}"
    # Another zone, and an explicit offset.
    r = client.post(
        f"{DRAFTS}{draft_id}/schedule",
        json={"at": _next_year(3, 2, 9, 0).isoformat(), "timezone": "Australia/Perth"},
    )
    assert datetime.fromisoformat(r.json()["scheduled_at"]).hour == 1
    assert r.json()["timezone"] == "Australia/Perth"
    r = client.post(
        f"{DRAFTS}{draft_id}/schedule",
        json={"at": f"{datetime.now(UTC).year + 1}-03-02T09:00:00+05:30"},
    )
    assert datetime.fromisoformat(r.json()["scheduled_at"]).strftime("%H:%M") == "03:30"

    r = client.post(f"{DRAFTS}{draft_id}/unschedule")
    assert (r.json()["status"], r.json()["scheduled_at"]) == ("draft", None)
    r = client.post(f"{DRAFTS}{draft_id}/unschedule")
    assert (r.status_code, r.json()["error"]["code"]) == (409, "not_scheduled")


def test_past_unknown_and_skipped_times_are_refused(client: TestClient, setup: Setup) -> None:
    draft_id = _draft(client)
    year = datetime.now(UTC).year + 1
    # DST starts on the first Sunday of October: 02:30 that morning does not exist.
    first_sunday = next(d for d in range(1, 8) if datetime(year, 10, d).weekday() == 6)
    cases = [
        ({"at": "2020-01-01T09:00:00"}, "time_in_past"),
        ({"at": (datetime.now(UTC) - timedelta(minutes=5)).isoformat()}, "time_in_past"),
        ({"at": f"{year}-01-01T09:00:00", "timezone": "Mars/Olympus"}, "invalid_timezone"),
        ({"at": f"{year}-10-{first_sunday:02d}T02:30:00"}, "nonexistent_local_time"),
        ({"at": "next tuesday"}, "validation_error"),
    ]
    for body, code in cases:
        r = client.post(f"{DRAFTS}{draft_id}/schedule", json=body)
        assert (r.status_code, r.json()["error"]["code"]) == (422, code), body
    assert client.get(f"{DRAFTS}{draft_id}").json()["status"] == "draft"


def test_an_incomplete_draft_cannot_be_scheduled(client: TestClient, setup: Setup) -> None:
    draft_id = _draft(client, body="", addresses="")
    r = client.post(f"{DRAFTS}{draft_id}/schedule", json={"at": _next_year(1, 5, 9, 0).isoformat()})
    assert (r.status_code, r.json()["error"]["code"]) == (422, "draft_incomplete")
    assert {d["field"] for d in r.json()["error"]["details"]} == {"body", "recipients"}


def test_sending_without_temporal_changes_nothing(client: TestClient, setup: Setup) -> None:
    draft_id = _draft(client)
    r = client.post(f"{DRAFTS}{draft_id}/send")
    assert (r.status_code, r.json()["error"]["code"]) == (503, "temporal_unavailable")
    got = client.get(f"{DRAFTS}{draft_id}").json()
    assert (got["status"], got["outcome"]) == ("draft", {})
    assert client.get("/api/crm/deals/").json()["total"] == 0
