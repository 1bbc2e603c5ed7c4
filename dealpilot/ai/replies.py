"""Offline reply classification: ordered rules over the mail's signals and its own words.

Order matters and encodes policy:
1. bounce: a delivery report (DSN content type, mailer-daemon/postmaster) or its wording.
2. unsubscribe: any request to stop or be removed, or a spam complaint, *even with "not
   interested"* (the compliance net, dealpilot/ai/compliance.py, already caught these
   before any engine; the rule stays so the engine alone is safe too).
3. left_company: the person has gone ("has left", "no longer with").
4. out_of_office: an absence; return_date parsed from the text.
5. auto_reply: any other automatic answer (RFC 3834 headers, ticket acknowledgements,
   unmonitored mailboxes): no pause, no reply, the sequence carries on.
6. referral: someone else should be talked to (new_address when the reply gives one).
7. not_interested, interested (a clear yes or a request to meet), question, then a softer
   interest; anything else is a guess of the word model (dealpilot/ai/lexical.py) with a
   confidence below the review threshold, so a person reads it before anything happens.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from dealpilot.ai.compliance import stop_request
from dealpilot.ai.dates import find_return_date
from dealpilot.ai.lexical import WordModel, shipped_model
from dealpilot.ai.mailtext import addresses, is_automatic, is_delivery_report, own_text
from dealpilot.ai.mailtext import strip_quoted as strip_quoted
from dealpilot.ai.schemas import ReplyClassification, ReplyInput
from dealpilot.ai.wording import (
    AUTO_REPLY,
    BOUNCE_BODY,
    BOUNCE_SUBJECT,
    INTERESTED,
    INTERESTED_SOFT,
    LEFT_COMPANY,
    NOT_INTERESTED,
    OOO,
    OOO_SUBJECT,
    QUESTION,
    REFERRAL,
)

OUR_DOMAINS = ("codeteki.au", "desifirms.com.au")
INTERESTED_REPLY = (
    "Thanks for getting back to me! Great to hear. What day and time suit you for a quick "
    "call? I'll send an invite."
)
QUESTION_REPLY = (
    "Thanks for the question! Happy to explain: it depends a little on what you need, so "
    "could we do a quick 15-minute call? Or I can send the details by email."
)


def _result(
    sentiment: str,
    intent: str,
    summary: str,
    confidence: float,
    *,
    return_date: date | None = None,
    suggested_reply: str | None = None,
    new_address: str | None = None,
) -> ReplyClassification:
    return ReplyClassification.model_validate(
        {
            "sentiment": sentiment,
            "intent": intent,
            "summary": summary,
            "confidence": confidence,
            "return_date": return_date,
            "suggested_reply": suggested_reply,
            "new_address": new_address,
        }
    )


def _new_address(own: str, sender: str) -> str | None:
    sender_address = sender.lower()
    for address in addresses(own):
        if address != sender_address and not address.endswith(OUR_DOMAINS):
            return address
    return None


def _bounce(reply: ReplyInput) -> ReplyClassification:
    return _result("neutral", "bounce", "Delivery failure notice: the address bounced.", 0.95)


def classify(reply: ReplyInput, words: WordModel | None = None) -> ReplyClassification:
    """`words`: the word model for replies no rule places (default: the shipped one)."""
    own = own_text(reply)
    subject = reply.subject or ""
    # Without a received time "3 March" is read relative to today (the only clock read here).
    received: date = (reply.received_at or datetime.now(UTC)).date()
    automatic = is_automatic(reply)
    if is_delivery_report(reply):
        return _bounce(reply)
    stop = stop_request(reply)
    if stop is not None:
        return _result("negative", "unsubscribe", f"Asked to be removed ({stop}).", 0.95)
    if LEFT_COMPANY.search(own):
        return _result(
            "neutral", "left_company", "The contact has left the company.", 0.85,
            new_address=_new_address(own, reply.from_email),
        )  # fmt: skip
    if BOUNCE_SUBJECT.search(subject) or BOUNCE_BODY.search(own[:3000]):
        return _bounce(reply)
    if OOO.search(own) or (OOO_SUBJECT.search(subject) and not AUTO_REPLY.search(own)):
        back = find_return_date(own, received)
        when = f" until {back:%d %B %Y}" if back else " (no return date given)"
        return _result("neutral", "out_of_office", f"Out of office{when}.", 0.85, return_date=back)
    if automatic or AUTO_REPLY.search(own) or OOO_SUBJECT.search(subject):
        return _result(
            "neutral", "auto_reply", "An automatic answer, not a person: carry on.", 0.8
        )  # fmt: skip
    if REFERRAL.search(own):
        address = _new_address(own, reply.from_email)
        to = f" ({address})" if address else ""
        return _result(
            "neutral", "referral", f"Pointed us to someone else{to}.", 0.75, new_address=address
        )
    if NOT_INTERESTED.search(own):
        return _result("negative", "not_interested", "Declined: not interested.", 0.8)
    if INTERESTED.search(own):
        return _result(
            "positive", "interested", "Interested and open to a conversation.", 0.8,
            suggested_reply=INTERESTED_REPLY,
        )  # fmt: skip
    if "?" in own or QUESTION.search(own):
        return _result(
            "neutral", "question", "Asked a question before committing.", 0.7,
            suggested_reply=QUESTION_REPLY,
        )  # fmt: skip
    if INTERESTED_SOFT.search(own):
        return _result(
            "positive", "interested", "Interested, asking for more.", 0.6,
            suggested_reply=INTERESTED_REPLY,
        )  # fmt: skip
    guess, probability = (words or shipped_model()).guess(own)
    sentiment = {"interested": "positive", "not_interested": "negative"}.get(guess, "neutral")
    return _result(
        sentiment,
        guess,
        f"Unclear reply; a guess ({guess}) for a person to check.",
        round(0.2 + 0.25 * probability, 3),  # always below the review threshold
    )
