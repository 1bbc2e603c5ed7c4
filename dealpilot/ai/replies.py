"""Offline reply classification: ordered keyword rules over the reply's own text.

Order matters and encodes policy:
1. bounce — a delivery failure notice (checked on the whole message: DSNs quote the original).
2. unsubscribe — any request to stop or be removed, *even when combined with "not
   interested"* ("not interested, remove me" is an unsubscribe): removal requests are what
   the law (Spam Act 2003, CAN-SPAM) makes us honour, and unsubscribe both suppresses the
   address for the brand and closes the deal, so no further email can go out.
3. out_of_office — auto-replies; return_date parsed from the text.
4. not_interested, 5. interested, 6. question. Anything else goes to a person as a
   low-confidence question rather than being guessed at.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

from dealpilot.ai.dates import find_return_date
from dealpilot.ai.schemas import ReplyClassification, ReplyInput


def _rx(*phrases: str) -> re.Pattern[str]:
    return re.compile(r"\b(?:" + "|".join(phrases) + r")", re.IGNORECASE)


_BOUNCE_SUBJECT = _rx(
    r"delivery status notification \((?:failure|delay)\)",
    r"mail delivery (?:failed|failure|subsystem)",
    r"undeliverable",
    r"undelivered mail",
    r"returned mail",
    r"delivery (?:has )?failed",
    r"failure notice",
)
_BOUNCE_SENDER = re.compile(r"^(?:mailer-daemon|postmaster)@", re.IGNORECASE)
_BOUNCE_BODY = _rx(
    r"address not found",
    r"user unknown",
    r"mailbox (?:unavailable|not found|does not exist)",
    r"recipient address rejected",
    r"message (?:could not|wasn't|was not) (?:be )?delivered",
    r"delivery to the following recipient(?:s)? failed",
    r"55[0-4][ -]5\.\d\.\d",  # SMTP permanent failure, e.g. "550 5.1.1"
    r"mail delivery failed",
    r"delivery status notification",
)
_UNSUBSCRIBE = _rx(
    r"unsubscribe",
    r"remove (?:me|us|my (?:email|address|details))",
    r"take (?:me|us) off",
    r"stop (?:emailing|e-mailing|sending|contacting|messaging)",
    r"(?:do not|don't|dont) (?:email|e-mail|contact|message) (?:me|us)",
    r"opt(?:ing)? (?:me )?out",
    r"no more (?:emails|e-mails|messages)",
)
_OOO = _rx(
    r"out of (?:the )?office",
    r"(?:i am|i'm|im) (?:currently )?(?:away|on leave|travell?ing|out)",
    r"currently away",
    r"away from (?:the|my) (?:office|desk|email)",
    r"on (?:annual |parental |maternity |paternity |sick |long service )?leave",
    r"on (?:holiday|holidays|vacation)",
    r"auto(?:matic)?[- ]?(?:reply|response)",
    r"limited access to (?:my )?e-?mail",
)
_OOO_SUBJECT = _rx(r"automatic reply", r"auto[- ]?reply", r"out of (?:the )?office")
_NOT_INTERESTED = _rx(
    r"not interested",
    r"no,? thanks?(?: you)?",
    r"not (?:for us|a (?:good )?fit|right for us|looking|at this (?:time|stage)|right now)",
    r"(?:we're|we are|i'm|i am) (?:all set|not keen|happy with)",
    r"not keen",
    r"(?:we'll|we will|i'll|i will) pass",
    r"already (?:have|use|work with)",
)
_INTERESTED = _rx(
    r"interested",
    r"sounds? (?:good|great|interesting)",
    r"let'?s (?:talk|chat|meet|do it|set up|schedule|book)",
    r"call me",
    r"give me a (?:call|ring)",
    r"(?:can|could) we (?:talk|chat|meet|set up|schedule|book)",
    r"(?:happy|keen|love|like) to (?:chat|talk|meet|hear|learn|discuss)",
    r"book (?:a|in a) (?:time|call|meeting)",
    r"tell me more",
    r"yes,? please",
    r"send (?:me |us )?(?:over |through )?(?:the |a |some |more )?"
    r"(?:proposal|details|info|information|quote)",
)
_QUESTION = _rx(
    r"what",
    r"how (?:much|does|do|long|many)",
    r"price",
    r"pricing",
    r"cost",
    r"rates?\b",
    r"do you",
    r"can you",
    r"is there",
    r"which",
)
# Where quoted history starts: "On Tue, 3 Mar 2026, Priya <p@x> wrote:" (often wrapped over
# two lines), Outlook's header block, or a forward separator.
_HISTORY = re.compile(
    r"^\s*(?:On\b.{0,200}?\bwrote:|-{2,}\s*Original Message\s*-{2,}|_{10,}|From:\s.+\n\s*Sent:)",
    re.IGNORECASE | re.MULTILINE | re.DOTALL,
)


def strip_quoted(text: str) -> str:
    """The new part of a reply: no quoted history, no '>' lines."""
    m = _HISTORY.search(text)
    if m is not None:
        text = text[: m.start()]
    lines = [line for line in text.splitlines() if not line.lstrip().startswith(">")]
    return "\n".join(lines).strip()


def _result(
    sentiment: str,
    intent: str,
    summary: str,
    confidence: float,
    *,
    return_date: date | None = None,
    suggested_reply: str | None = None,
) -> ReplyClassification:
    return ReplyClassification.model_validate(
        {
            "sentiment": sentiment,
            "intent": intent,
            "summary": summary,
            "confidence": confidence,
            "return_date": return_date,
            "suggested_reply": suggested_reply,
        }
    )


def classify(reply: ReplyInput) -> ReplyClassification:
    own = strip_quoted(reply.text)
    subject = reply.subject or ""
    # Without a received time "3 March" is read relative to today (the only clock read here).
    received: date = (reply.received_at or datetime.now(UTC)).date()

    if (
        _BOUNCE_SENDER.search(reply.from_email or "")
        or _BOUNCE_SUBJECT.search(subject)
        or _BOUNCE_BODY.search(reply.text[:3000])
    ):
        return _result("neutral", "bounce", "Delivery failure notice: the address bounced.", 0.9)
    if _UNSUBSCRIBE.search(own) or _UNSUBSCRIBE.search(subject):
        return _result("negative", "unsubscribe", "Asked to be removed from our emails.", 0.9)
    if _OOO.search(own) or _OOO_SUBJECT.search(subject):
        back = find_return_date(own, received)
        when = f" until {back:%d %B %Y}" if back else " (no return date given)"
        return _result("neutral", "out_of_office", f"Out of office{when}.", 0.85, return_date=back)
    if _NOT_INTERESTED.search(own):
        return _result("negative", "not_interested", "Declined: not interested.", 0.8)
    if _INTERESTED.search(own):
        return _result(
            "positive",
            "interested",
            "Interested and open to a conversation.",
            0.8,
            suggested_reply=(
                "Thanks for getting back to me! Great to hear. What day and time suit you "
                "for a quick call? I'll send an invite."
            ),
        )
    if "?" in own or _QUESTION.search(own):
        return _result(
            "neutral",
            "question",
            "Asked a question before committing.",
            0.7,
            suggested_reply=(
                "Thanks for the question! Happy to explain: it depends a little on what you "
                "need, so could we do a quick 15-minute call? Or I can send the details by email."
            ),
        )
    return _result("neutral", "question", "Unclear reply: a person should read it.", 0.3)
