"""The compliance net: an explicit stop, removal or unsubscribe request, or a spam complaint,
is honoured whatever an engine would say.

It runs before any engine (dealpilot/ai/reading.py) on the reply's own words (quoted
history holds our own unsubscribe footer, so it is ignored), and on ARF abuse reports.
Delivery reports are left to the engine: a bounce that says "rejected as spam" is a bounce.
The Spam Act 2003 (and CAN-SPAM, GDPR) make these requests binding; a missed one keeps
mailing someone who said stop, a false one only loses a lead, so the net leans wide.
"""

from __future__ import annotations

import re

from dealpilot.ai.mailtext import is_delivery_report, is_feedback_report, own_text
from dealpilot.ai.schemas import ReplyClassification, ReplyInput

NET_MODEL = "compliance-net"

_STOP_PHRASES = re.compile(
    r"\b(?:"
    r"un-?sub\w*"
    r"|opt(?:ing)?[- ]?(?:me |us )?out"
    r"|remove (?:me|us|my|our|this (?:email|address))\b"
    r"|take (?:me|us|my \w+|our \w+) off"
    r"|stop (?:emailing|e-?mailing|sending|contacting|messaging|mailing|spamming|writing)"
    r"|(?:do not|don'?t|never) (?:email|e-?mail|contact|message|send|write to|mail)"
    r" (?:me|us|this|our|again|any)"
    r"|no more (?:emails?|e-?mails?|messages|mail)"
    r"|delete (?:my|our) (?:email|details|address|data|info\w*|contact)"
    r"|(?:do not|don'?t) consent"
    r"|(?:emails?|mail) (?:mat bhejo|band karo)|mat bhejo|band karo"
    r"|cease (?:all )?(?:contact|communication|emails?|correspondence)"
    r"|harass\w*"
    r"|(?:didn'?t|did not|never) (?:sign(?:ed)? up|subscribe[ds]?|opt(?:ed)? in"
    r"|ask(?:ed)? for (?:this|these|your))"
    r")",
    re.IGNORECASE,
)
_COMPLAINT = re.compile(
    r"\b(?:"
    r"(?:reported|marked|flagged|reporting|marking)\b[\w\s']{0,30}?\b(?:as|to) (?:spam|junk)"
    r"|reported (?:it |this |you )?to (?:spamcop|the acma|acma)"
    r"|(?:this is|it'?s) (?:spam|unsolicited)"
    r"|stop spamming|spamming (?:me|us)"
    r")",
    re.IGNORECASE,
)
# Whole replies that are nothing but the request: "STOP", "remove", "spam", "unsub."
_ONE_WORD = re.compile(
    r"^\W*(?:stop|remove|unsub\w*|spam|opt[- ]?out|stop\W+remove\W+me\W+now|no more|reported)"
    r"\W*(?:pls|please|thanks?)?\W*$",
    re.IGNORECASE,
)


def stop_request(reply: ReplyInput) -> str | None:
    """What the net matched ("removal request: 'take me off'"), or None."""
    if is_feedback_report(reply):
        return "spam complaint: an ARF abuse report"
    if is_delivery_report(reply):
        return None
    own = own_text(reply)
    for label, pattern in (
        ("removal request", _ONE_WORD),
        ("removal request", _STOP_PHRASES),
        ("spam complaint", _COMPLAINT),
    ):
        m = pattern.search(own)
        if m is not None:
            return f"{label}: {m.group(0).strip()!r}"
    return None


def net_verdict(reason: str) -> ReplyClassification:
    return ReplyClassification(
        sentiment="negative",
        intent="unsubscribe",
        return_date=None,
        summary=f"Compliance net: {reason}. Suppressed whatever an engine would say.",
        suggested_reply=None,
        confidence=1.0,
    )
