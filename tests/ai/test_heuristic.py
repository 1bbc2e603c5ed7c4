"""The offline engine: what the product does with no API key."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from dealpilot.ai import (
    BacklinkPitchInput,
    ComposeInput,
    DealAnalysisInput,
    HeuristicEngine,
    LeadInput,
    ReplyInput,
    SalutationInput,
    build_engine,
)
from dealpilot.ai.dates import find_return_date
from dealpilot.ai.replies import strip_quoted
from dealpilot.core.settings import Settings
from workflows.rules import reply_outcome

ENGINE = HeuristicEngine()
RECEIVED = datetime(2026, 2, 10, 9, 30, tzinfo=UTC)  # a Tuesday


async def classify(text: str, subject: str = "Re: quick idea", sender: str = "priya@acme.test"):
    result = await ENGINE.classify_reply(
        ReplyInput(text=text, subject=subject, from_email=sender, received_at=RECEIVED)
    )
    assert result.model == "heuristic-v1"
    return result.value


@pytest.mark.parametrize(
    ("text", "intent", "sentiment"),
    [
        ("sounds good, call me Tuesday", "interested", "positive"),
        ("Thanks, we're interested — can we talk next week?", "interested", "positive"),
        ("what does it cost?", "question", "neutral"),
        ("How much do you charge for a small site", "question", "neutral"),
        ("No thanks, we already have an agency.", "not_interested", "negative"),
        ("Not interested at this stage.", "not_interested", "negative"),
        ("Please unsubscribe me", "unsubscribe", "negative"),
        ("Stop emailing me.", "unsubscribe", "negative"),
    ],
)
async def test_reply_intents(text: str, intent: str, sentiment: str) -> None:
    value = await classify(text)
    assert value.intent == intent
    assert value.sentiment == sentiment
    assert 0 <= value.confidence <= 1


async def test_remove_me_is_an_unsubscribe_and_stops_all_email() -> None:
    # Documented choice: a removal request wins over "not interested" (it is what the
    # Spam Act makes us honour), so the address is suppressed for the brand and the deal closes.
    value = await classify("not interested, remove me")
    assert value.intent == "unsubscribe"
    assert value.sentiment == "negative"
    outcome = reply_outcome(value.intent)
    assert outcome.stop_sequence
    assert outcome.suppress == "unsubscribed"
    assert outcome.move_to == "lost"
    assert value.suggested_reply is None


@pytest.mark.parametrize(
    ("text", "subject", "sender"),
    [
        (
            "The email account that you tried to reach does not exist.",
            "Delivery Status Notification (Failure)",
            "mailer-daemon@googlemail.com",
        ),
        (
            "This message was created automatically.",
            "Mail delivery failed: returning message to sender",
            "postmaster@acme.test",
        ),
        (
            "550 5.1.1 <raj@acme.test>: Recipient address rejected: User unknown",
            "Undeliverable",
            "system@acme.test",
        ),
    ],
)
async def test_bounces(text: str, subject: str, sender: str) -> None:
    value = await classify(text, subject=subject, sender=sender)
    assert value.intent == "bounce"
    assert reply_outcome(value.intent).suppress == "hard_bounce"


async def test_out_of_office_with_a_return_date() -> None:
    value = await classify("I'm out of office until 3 March")
    assert value.intent == "out_of_office"
    assert value.return_date == date(2026, 3, 3)
    # received after 3 March: the next 3 March
    late = await ENGINE.classify_reply(
        ReplyInput(
            text="I'm out of office until 3 March",
            received_at=datetime(2026, 3, 20, tzinfo=UTC),
        )
    )
    assert late.value.return_date == date(2027, 3, 3)


async def test_auto_reply_with_an_australian_numeric_date() -> None:
    value = await classify(
        "Thank you for your email. I am currently away with limited access to email and "
        "will be back on 12/03/2027. For urgent matters call the office.",
        subject="Automatic reply: quick idea",
    )
    assert value.intent == "out_of_office"
    assert value.return_date == date(2027, 3, 12)  # d/m/y, not 3 December


async def test_out_of_office_without_a_date() -> None:
    value = await classify("I'm on annual leave with no access to email.")
    assert value.intent == "out_of_office"
    assert value.return_date is None


@pytest.mark.parametrize(
    ("text", "received", "expected"),
    [
        ("back on 3 March", date(2026, 2, 10), date(2026, 3, 3)),
        ("back on March 3rd", date(2026, 2, 10), date(2026, 3, 3)),
        ("returning on the 3rd of March 2027", date(2026, 2, 10), date(2027, 3, 3)),
        ("back on 12/03/2027", date(2026, 2, 10), date(2027, 3, 12)),
        ("back on 03/25/2027", date(2026, 2, 10), date(2027, 3, 25)),  # only m/d possible
        ("back on Monday 5th", date(2026, 1, 1), date(2026, 1, 5)),
        ("back Monday", date(2026, 2, 10), date(2026, 2, 16)),
        ("away from 1 March, back on 10 March", date(2026, 2, 10), date(2026, 3, 10)),
        ("no dates here, version 1.2.3", date(2026, 2, 10), None),
        ("back on 31/02/2027", date(2026, 2, 10), None),  # no such day
    ],
)
def test_return_date_parsing(text: str, received: date, expected: date | None) -> None:
    assert find_return_date(text, received) == expected


async def test_quoted_history_is_ignored() -> None:
    text = (
        "Sounds good, let's talk Thursday.\n\n"
        "On Tue, 10 Feb 2026 at 09:00, Sam from Codeteki <sam@codeteki.au>\nwrote:\n"
        "> Not interested? Reply unsubscribe and I'll stop.\n"
    )
    assert (await classify(text)).intent == "interested"
    assert strip_quoted("Yes please\n> unsubscribe\n> remove me") == "Yes please"
    outlook = "What's the price?\n\nFrom: Sam <sam@codeteki.au>\nSent: Monday\nunsubscribe"
    assert (await classify(outlook)).intent == "question"


@pytest.mark.parametrize("text", ["Ok", "We'll give it some thought", "Hmm, let me think about it"])
async def test_unclear_reply_is_a_guess_that_goes_to_a_person(text: str) -> None:
    """No rule places it: the word model's guess, below the review threshold (0.5)."""
    value = await classify(text)
    assert value.intent in ("interested", "not_interested", "question")
    assert value.confidence < 0.5
    assert value.summary.startswith("Unclear reply; a guess")


async def test_interested_and_question_get_a_suggested_reply() -> None:
    assert (await classify("sounds good, call me Tuesday")).suggested_reply
    assert (await classify("what does it cost?")).suggested_reply


# --- salutation -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "email", "company", "greeting", "first"),
    [
        ("Priya Sharma", "p.s@acme.test", None, "Hi Priya", "Priya"),
        ("priya sharma", "x@acme.test", None, "Hi Priya", "Priya"),
        ("JAMES O'BRIEN", "x@acme.test", None, "Hi James", "James"),
        (None, "priya.sharma@acme.test", None, "Hi Priya", "Priya"),
        (None, "raj_patel@acme.test", None, "Hi Raj", "Raj"),
        (None, "priya@acme.test", None, "Hi Priya", "Priya"),
        (None, "psharma@acme.test", None, "Hi there", None),  # initial + surname
        (None, "info@codeteki.au", "Codeteki", "Hi Codeteki team", None),
        (None, "sales@codeteki.au", None, "Hi there", None),
        (None, "hello+crm@desifirms.com.au", "Desi Firms", "Hi Desi Firms team", None),
        ("Sales Team", "sales@acme.test", "Acme", "Hi Acme team", None),
        ("Dr Sharma", "drsharma@clinic.test", "Clinic", "Hi there", None),
        (None, "j2k9@acme.test", None, "Hi there", None),
    ],
)
async def test_smart_salutation(name, email, company, greeting, first) -> None:
    result = await ENGINE.smart_salutation(SalutationInput(name=name, email=email, company=company))
    assert result.value.greeting == greeting
    assert result.value.first_name == first


# --- analysis, composing, scoring, pitches ----------------------------------------------


def deal(**kw) -> DealAnalysisInput:
    base = {
        "brand_name": "Codeteki",
        "pipeline_name": "Sales",
        "stage_name": "Follow-up 1",
        "contact_email": "priya@acme.test",
    }
    return DealAnalysisInput.model_validate(base | kw)


@pytest.mark.parametrize(
    ("kw", "action"),
    [
        ({"engagement_tier": "engaged", "replies": 1}, "flag_for_review"),
        ({"engagement_tier": "lurker", "emails_sent": 3, "emails_opened": 1}, "change_approach"),
        ({"engagement_tier": "hot", "emails_sent": 2, "emails_opened": 2}, "send_email"),
        ({"engagement_tier": "new", "emails_sent": 0}, "send_email"),
        ({"engagement_tier": "cold", "emails_sent": 2}, "send_email"),
        ({"stage_kind": "manual", "stage_name": "Discovery Call"}, "flag_for_review"),
    ],
)
async def test_analyze_deal(kw: dict[str, object], action: str) -> None:
    result = (await ENGINE.analyze_deal(deal(**kw))).value
    assert result.action == action
    assert result.reasoning
    assert (result.approach_note is not None) == (action == "change_approach")


async def test_compose_email_intro_follow_up_and_final() -> None:
    base = {"brand_name": "Codeteki", "stage_name": "Intro Sent", "contact_email": "a@acme.test"}
    intro = (await ENGINE.compose_email(ComposeInput(**base, contact_company="Acme"))).value
    assert intro.subject == "Codeteki for Acme"
    assert 2 <= len(intro.body_paragraphs) <= 4
    follow = (
        await ENGINE.compose_email(
            ComposeInput(**base, purpose="follow-up 1", previous_subjects=["Codeteki for Acme"])
        )
    ).value
    assert follow.subject == "Re: Codeteki for Acme"
    final = (await ENGINE.compose_email(ComposeInput(**base, purpose="final follow-up"))).value
    assert final.subject not in (intro.subject, follow.subject)
    # Notes are instructions for the writer, never email text.
    noted = (await ENGINE.compose_email(ComposeInput(**base, notes="Mention the SEO audit."))).value
    assert not any("Mention the SEO audit" in p for p in noted.body_paragraphs)
    shorter = ComposeInput(**base, notes="Shorter email, a different angle.")
    assert len((await ENGINE.compose_email(shorter)).value.body_paragraphs) == 2


async def test_the_offline_writer_uses_the_brief() -> None:
    data = ComposeInput(
        brand_name="Desi Firms",
        brand_description="The business directory of Australia's South Asian community. Free.",
        pipeline_type="directory",
        stage_name="Invited",
        contact_email="owner@spice.example.com.au",
        contact_company="Spice Route",
        engagement_tier="hot",
    )
    email = (await ENGINE.compose_email(data)).value
    text = " ".join(email.body_paragraphs)
    assert "The business directory of Australia's South Asian community" in text
    assert "Free." not in text  # one sentence of the description, not all of it
    assert "this week" in email.body_paragraphs[-1]  # a hot contact gets a direct ask
    cold = (await ENGINE.compose_email(data.model_copy(update={"engagement_tier": "cold"}))).value
    assert cold.body_paragraphs[-1] != email.body_paragraphs[-1]


async def test_score_lead_is_explained_and_bounded() -> None:
    strong = (
        await ENGINE.score_lead(
            LeadInput(
                name="Priya Sharma",
                email="priya@acme.test",
                company="Acme",
                website="https://acme.test",
                job_title="Founder",
                domain_authority=60,
                emails_sent=2,
                emails_clicked=1,
                replies=1,
                engagement_tier="engaged",
            )
        )
    ).value
    weak = (
        await ENGINE.score_lead(
            LeadInput(email="someone@gmail.com", emails_sent=4, engagement_tier="ghost")
        )
    ).value
    assert strong.score == 100
    assert 0 <= weak.score < 20
    assert "has replied +25" in strong.reasoning
    assert "domain authority 60 +15" in strong.reasoning
    assert weak.reasoning.endswith(f"= {weak.score}")


async def test_backlink_pitch() -> None:
    pitch = (
        await ENGINE.generate_backlink_pitch(
            BacklinkPitchInput(
                brand_name="Codeteki",
                target_url="https://blog.test/seo-tips",
                target_domain="blog.test",
                domain_authority=45,
                our_content_url="https://codeteki.au/guides/local-seo",
                our_content_title="The Local SEO Guide",
            )
        )
    ).value
    assert pitch.anchor_text_suggestion == "The Local SEO Guide"
    assert any("https://codeteki.au/guides/local-seo" in p for p in pitch.body_paragraphs)
    assert "blog.test" in pitch.subject


def test_build_engine_without_a_key_is_heuristic() -> None:
    settings = Settings.model_validate({"OPENAI_API_KEY": None})
    engine = build_engine(settings)
    assert isinstance(engine, HeuristicEngine)
    assert engine.model_name == "heuristic-v1"
