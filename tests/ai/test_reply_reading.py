"""The offline engine on the kinds of replies the issue named: new intents, mail signals and
return dates in the formats out-of-office replies use."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from dealpilot.ai import ReplyInput
from dealpilot.ai.dates import find_return_date
from dealpilot.ai.replies import classify

THURSDAY = date(2026, 3, 5)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # A weekday with a date is that date, not the coming weekday.
        ("Back in the office on Monday 16 March 2026.", date(2026, 3, 16)),
        ("I'm away until 20/7 and will reply then.", date(2026, 7, 20)),  # numeric d/m
        ("Travelling, back in July.", date(2026, 7, 1)),  # a month alone
        ("We're away until mid-September.", date(2026, 9, 15)),
        ("Closed for the holidays; we reopen on Tuesday 5 January.", date(2027, 1, 5)),
        ("On leave 6-17 April.", date(2026, 4, 17)),  # a range: its end
        ("Away from 24/12, back Monday 4/1.", date(2027, 1, 4)),  # the cue word wins
        ("Out of office, returning tomorrow.", date(2026, 3, 6)),
        ("Back next Monday.", date(2026, 3, 9)),
        ("I'm on leave with no date yet.", None),
    ],
)
def test_return_dates(text: str, expected: date | None) -> None:
    assert find_return_date(text, THURSDAY) == expected


def _read(text: str, **kw: object) -> tuple[str, str | None]:
    reply = ReplyInput.model_validate(
        {"text": text, "received_at": datetime(2026, 3, 5, 1, tzinfo=UTC), **kw}
    )
    value = classify(reply)
    return value.intent, value.new_address


def test_rfc_3834_headers_make_an_acknowledgement_an_auto_reply() -> None:
    ack = "Thanks for your email."
    assert _read(ack, headers={"Auto-Submitted": "auto-generated"})[0] == "auto_reply"
    assert _read(ack, headers={"Precedence": "bulk"})[0] == "auto_reply"
    assert _read(ack, headers={"Auto-Submitted": "no"})[0] != "auto_reply"


def test_ticket_systems_and_unmonitored_mailboxes_are_auto_replies() -> None:
    assert _read("Your request has been received. Ticket #1234.")[0] == "auto_reply"
    assert _read("This mailbox is not monitored.")[0] == "auto_reply"


def test_a_dsn_is_a_bounce_by_its_content_type() -> None:
    dsn = {"Content-Type": "multipart/report; report-type=delivery-status"}
    assert _read("Action: failed\nStatus: 5.1.1", headers=dsn)[0] == "bounce"


def test_referral_carries_the_new_address() -> None:
    assert _read(
        "Not my area - please talk to Priya instead, priya@harbour.example.com.au",
        from_email="greg@harbour.example.com.au",
    ) == ("referral", "priya@harbour.example.com.au")
    assert _read("Wrong person, I've cc'd Raj who handles this.") == ("referral", None)


def test_left_company_wins_over_an_automatic_answer() -> None:
    intent, _ = _read(
        "Mark Davies has left Ridgeway. Please email info@ridgeway.example.com.au.",
        headers={"Auto-Submitted": "auto-replied"},
    )
    assert intent == "left_company"


def test_html_only_mail_is_read_as_text() -> None:
    assert _read("<html><body><p>No thanks,</p><p>we&#39;re sorted.</p></body></html>")[0] == (
        "not_interested"
    )


def test_the_word_model_learns_only_from_what_it_is_given() -> None:
    """Trained on the rows handed to it (the shipped model: the tuning part only)."""
    from dealpilot.ai.lexical import TRAINING, train

    assert TRAINING.name == "tuning.jsonl"
    rows: list[dict[str, object]] = [
        {"text": "give it a miss", "intent": "not_interested"},
        {"text": "ring me tomorrow", "intent": "interested"},
        {"text": "what is the price?", "intent": "question"},
    ]
    model = train(rows)
    assert model.guess("we'll give it a miss")[0] == "not_interested"
    assert model.guess("ring me")[0] == "interested"
    posteriors = model.posteriors("anything at all")
    assert abs(sum(posteriors.values()) - 1) < 1e-9
